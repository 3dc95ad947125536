/*
 * tester_int.h - internals shared by the files of the API-test engine: a growable
 * string buffer, the runtime value (a JSON value or JavaScript's undefined), and
 * the evaluation entry points of assert.c used by run.c.
 */
#ifndef MOCKARTY_TESTER_INT_H
#define MOCKARTY_TESTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "tester.h"

/* Bounds that keep hostile input cheap. */
#define MT_MAX_SCRIPT   (256 * 1024)  /* bytes of one script */
#define MT_MAX_TOKENS   65536         /* tokens of one script */
#define MT_MAX_DEPTH    32            /* nesting of items, literals, paths */
#define MT_MAX_BODY     (16u << 20)   /* bytes of one response body kept */
#define MT_MAX_REQUESTS 10000

typedef struct mt_buf {
	char *p;
	size_t len, cap;
	bool oom;
} mt_buf;

void mt_buf_add(mt_buf *b, const char *s, size_t n);
void mt_buf_puts(mt_buf *b, const char *s);
void mt_buf_printf(mt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated text (owned by the caller) or NULL when out of memory. */
char *mt_buf_take(mt_buf *b);

/* JavaScript's String(v) of a JSON value (numbers in their shortest form). */
void mt_js_string(mt_buf *b, const json_t *v);

/* What a test script sees of one response. */
typedef struct mt_response {
	long status;              /* 0 = no response */
	double time_ms;
	const char *body;
	size_t body_len;
	const json_t *headers;    /* [["Name","value"],...] in arrival order */
	json_t *json;             /* parsed body, lazily; owned */
	bool json_tried;
} mt_response;

/* Evaluation context of one request's scripts. */
typedef struct mt_eval {
	mt_response *resp;
	json_t *vars;             /* the run's variables (read/write) */
	json_t *locals;           /* bound names of the current script: {"x": value} */
} mt_eval;

/* Runs the steps of one script (plan "test"/"prerequest" arrays). Appends one entry
 * per test to assertions; returns false with msg when the script aborted (an
 * exception outside any pm.test), after which later steps are not run. */
bool mt_exec_steps(mt_eval *ev, const json_t *steps, json_t *assertions, char *msg, size_t msgcap);
/* Evaluates one declarative assertion of the plan into an assertion entry. */
json_t *mt_exec_declarative(mt_eval *ev, const json_t *assertion);
/* Applies one declarative capture; false + msg when its source is missing. */
bool mt_exec_capture(mt_eval *ev, const json_t *capture, char *msg, size_t msgcap);
/* Parses "$.a.b[0]['c']" into ["a","b",0,"c"]. NULL + err on bad syntax. */
json_t *mt_parse_jsonpath(const char *path, char *err, size_t errcap);
/* Case-insensitive header lookup: the first value, or NULL. */
const char *mt_header_get(const json_t *headers, const char *name);

/* Base64 of n bytes (malloc'd). */
char *mt_base64(const unsigned char *s, size_t n);

#endif
