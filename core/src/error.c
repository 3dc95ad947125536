/*
 * error.c - filling mc_error, the one way core reports failure.
 *
 * Core never logs and never aborts on bad input: a caller (the extension or a
 * daemon) turns the status, the JSON path and the message into its own error
 * form (ereport, HTTP 400, gRPC status), so the text must stand on its own.
 */
#include "mockarty/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
mc_error_set(mc_error *err, mc_status code, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}
