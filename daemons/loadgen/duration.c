/*
 * duration.c - durations as users write them ("10s", "500ms", "2m", "1m30s", "1h", or a bare
 * number of seconds), shared by the CLI and the runner's performance options. Bounded to 30 days
 * so that every later computation in milliseconds fits comfortably in an int64.
 */
#include "loadgen.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MS (30LL * 24 * 3600 * 1000)

int64_t
lg_parse_duration_ms(const char *s)
{
	double total = 0;
	bool any = false;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s) {
		char *end;
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		double v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		double mul;
		if (*s == '\0')
			mul = any ? -1 : 1000; /* a bare number: seconds (only on its own) */
		else if (strncmp(s, "ms", 2) == 0)
			mul = 1, s += 2;
		else if (*s == 's')
			mul = 1000, s++;
		else if (*s == 'm')
			mul = 60000, s++;
		else if (*s == 'h')
			mul = 3600000, s++;
		else
			return -1;
		if (mul < 0)
			return -1;
		total += v * mul;
		if (total > (double)MAX_MS)
			return -1;
		any = true;
	}
	return (int64_t)(total + 0.5);
}
