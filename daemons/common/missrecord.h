/*
 * missrecord.h - what a serving node keeps of a request no mock matched before
 * it leaves the process (the admin node's flusher, a resolver's Report).
 *
 * The database is the authority (mockarty_private.undefined_clean(): the
 * configurable list of redacted headers and the stored-body cap); the nodes
 * apply the default list and a generous body cap first, so a credential never
 * crosses the wire and a 5 MB body is not shipped only to be cut.
 */
#ifndef MOCKARTY_MISSRECORD_H
#define MOCKARTY_MISSRECORD_H

#include <jansson.h>
#include <stddef.h>

/*
 * Bytes of a miss's body a node passes on: twice the default of the database's
 * undefined_body_max_bytes, so the database still sees that a big body was cut
 * (bodyTruncated) while batches and Report messages stay small. A setting above
 * this applies to misses recorded with SQL only.
 */
#define MR_BODY_MAX (128 * 1024)

/*
 * A copy of headers (an object of name -> string or array) with the value of every
 * credential header (authorization, proxy-authorization, cookie, set-cookie,
 * x-api-key; names case-insensitive) replaced by "[redacted]". New reference; an
 * empty object for NULL or a non-object; NULL only when out of memory.
 */
json_t *mr_headers_redacted(const json_t *headers);

/*
 * The body to record: parsed (borrowed, json may be NULL) when the body is JSON
 * and at most MR_BODY_MAX bytes, else a string of its first MR_BODY_MAX bytes
 * (cut at a UTF-8 character boundary). New reference, NULL without a body.
 */
json_t *mr_body(json_t *json, const char *raw, size_t len);

#endif
