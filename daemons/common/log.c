/*
 * log.c - leveled logging to stderr, one line per message, with time, level and
 * file:line.
 *
 * Daemons run under a supervisor (systemd, docker, make run) that captures
 * stderr, so there is no file handling here. Each line is formatted into one
 * buffer and written with a single write(2) so lines from concurrent threads do
 * not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

volatile int log_threshold = LOG_LVL_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int
log_level_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "error") == 0)
		return LOG_LVL_ERROR;
	if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	if (strcasecmp(s, "info") == 0)
		return LOG_LVL_INFO;
	if (strcasecmp(s, "debug") == 0 || strcasecmp(s, "trace") == 0)
		return LOG_LVL_DEBUG;
	return -1;
}

/*
 * Formats and writes one line when level is within the threshold. Messages
 * longer than the buffer are truncated, never split.
 */
void
log_write(int level, const char *file, int line, const char *fmt, ...)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;
	const char *base;

	if (level > log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	r = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s:%d ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level < 0 ? 0 : level > 3 ? 3 : level], base,
		     line);
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof(buf)) {
		va_start(ap, fmt);
		r = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nowhere left to report it */
	}
}

void
log_mhd(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_warn("libmicrohttpd: %s", buf);
}
