/*
 * log.h - leveled logging to stderr with the source location of each call.
 */
#ifndef MOCKARTY_LOG_H
#define MOCKARTY_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Current threshold; messages above it are dropped. Set once at start or on SIGHUP. */
extern volatile int log_threshold;

/* Parses "error|warn|info|debug" (case-insensitive); returns -1 when unknown. */
int log_level_parse(const char *s);

void log_write(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_write(LOG_LVL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LVL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)                                                    \
	do {                                                                  \
		if (log_threshold >= LOG_LVL_DEBUG)                               \
			log_write(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__);    \
	} while (0)

/* libmicrohttpd's external logger (MHD_OPTION_EXTERNAL_LOGGER): one warning line per message. */
void log_mhd(void *cls, const char *fmt, va_list ap);

#endif /* MOCKARTY_LOG_H */
