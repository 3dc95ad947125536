/*
 * bufbudget.c - the node-wide budget of buffered request bytes.
 *
 * A per-request body limit alone does not bound a node: 4096 connections of
 * 8 MB each are 32 GB. This counter bounds the sum instead. It is one atomic
 * word updated with compare-and-swap, so a reservation never overshoots the
 * limit even when every pool thread reserves at once, and the serving hot
 * path (bodiless GETs) never touches it.
 */
#include "bufbudget.h"

#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>

static atomic_size_t limit_bytes = (size_t)BUFBUDGET_DEFAULT_MB << 20;
static atomic_size_t used_bytes;
static atomic_ulong refused;

void
bufbudget_set_limit(size_t bytes)
{
	atomic_store(&limit_bytes, bytes);
}

size_t
bufbudget_limit(void)
{
	return atomic_load(&limit_bytes);
}

size_t
bufbudget_used(void)
{
	return atomic_load(&used_bytes);
}

unsigned long
bufbudget_refused(void)
{
	return atomic_load(&refused);
}

/* See bufbudget.h. */
bool
bufbudget_reserve(size_t n)
{
	size_t lim = atomic_load(&limit_bytes);
	size_t cur = atomic_load(&used_bytes);

	if (n == 0)
		return true;
	if (lim == 0) {
		atomic_fetch_add(&used_bytes, n);
		return true;
	}
	do {
		if (n > lim || cur > lim - n) {
			atomic_fetch_add(&refused, 1);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&used_bytes, &cur, cur + n));
	return true;
}

void
bufbudget_release(size_t n)
{
	if (n > 0)
		atomic_fetch_sub(&used_bytes, n);
}

/* See bufbudget.h. */
const char *
bufbudget_message(char *buf, size_t cap)
{
	snprintf(buf, cap,
	         "the node is buffering too many request bytes (" BUFBUDGET_VAR "=%zu); retry later",
	         bufbudget_limit() >> 20);
	return buf;
}

/* See bufbudget.h. */
void
bufbudget_metrics_write(mt_buf *b)
{
	mt_gauge(b, "mockarty_request_buffer_bytes",
	         "Request bytes buffered now over every connection (REQUEST_BUFFER_BUDGET_MB counts these).",
	         (double)bufbudget_used());
	mt_gauge(b, "mockarty_request_buffer_budget_bytes",
	         "The node's budget of buffered request bytes; 0 = unlimited.", (double)bufbudget_limit());
	mt_counter(b, "mockarty_request_buffer_refused_total",
	           "Requests answered 503 (gRPC RESOURCE_EXHAUSTED) because the buffer budget was spent.",
	           bufbudget_refused());
}
