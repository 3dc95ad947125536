/*
 * bufbudget.h - the node-wide budget of buffered request bytes
 * (REQUEST_BUFFER_BUDGET_MB), shared by every listener of a process: the
 * HTTP servers' request bodies, the proxy's upstream answers and the gRPC
 * server's reassembly buffers.
 *
 * A connection reserves bytes before it buffers them and releases them when
 * the request completes or is aborted; a reservation that would take the
 * total past the limit is refused, and the caller answers "busy" (HTTP 503
 * with Retry-After, gRPC RESOURCE_EXHAUSTED) instead of buffering. All
 * functions are lock-free and safe from any thread.
 */
#ifndef MOCKARTY_BUFBUDGET_H
#define MOCKARTY_BUFBUDGET_H

#include <stdbool.h>
#include <stddef.h>

/* The variable that sets the budget, for messages. */
#define BUFBUDGET_VAR "REQUEST_BUFFER_BUDGET_MB"
#define BUFBUDGET_DEFAULT_MB 256

/* Sets the limit in bytes (0 = unlimited). Reservations already held stay. */
void bufbudget_set_limit(size_t bytes);
size_t bufbudget_limit(void);

/* Bytes reserved now, over every connection of the process. */
size_t bufbudget_used(void);

/* Reservations refused since start (exposed as a metric). */
unsigned long bufbudget_refused(void);

/*
 * Reserves n bytes: true when the total stays within the limit (the caller
 * then owes bufbudget_release(n)), false when it would not (nothing is held).
 */
bool bufbudget_reserve(size_t n);
void bufbudget_release(size_t n);

/*
 * Writes the 503 message of a refused reservation into buf (names the
 * setting and its value); returns buf.
 */
const char *bufbudget_message(char *buf, size_t cap);

struct mt_buf;
/* Appends the budget's metrics (bytes buffered, budget, refusals) to a /metrics page. */
void bufbudget_metrics_write(struct mt_buf *b);

#endif /* MOCKARTY_BUFBUDGET_H */
