/*
 * multipart.h - a bounded multipart/form-data splitter for the admin node's uploads
 * (OpenAPI documents in rest/imports.c, .proto files, zips and descriptor sets in
 * rest/grpc_descriptors.c). Parts point into the request body; nothing is copied.
 */
#ifndef MOCKARTY_ADMIN_MULTIPART_H
#define MOCKARTY_ADMIN_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

/* One part of a multipart body: pointers into the body, lengths beside them. */
typedef struct {
	const char *name; /* Content-Disposition name="..." (NULL when absent) */
	size_t name_len;
	const char *filename; /* Content-Disposition filename="..." (NULL for a plain field) */
	size_t filename_len;
	const char *ctype; /* the part's Content-Type value (NULL when absent) */
	size_t ctype_len;
	const char *data;
	size_t len;
} mp_part;

/*
 * The boundary of a multipart/form-data Content-Type into buf (at most 70 bytes, as
 * RFC 2046 allows). False when the type is another or the boundary is missing.
 */
bool mp_boundary(const char *ctype, char *buf, size_t cap);

/*
 * Splits a multipart/form-data body into at most max parts. Returns the count, or -1
 * with msg set when the body is not well formed (no opening delimiter, a part without
 * headers' end or closing delimiter, more than max parts).
 */
int mp_parse(const char *body, size_t len, const char *boundary, mp_part *parts, int max, const char **msg);

/* The first part named name, or NULL. */
const mp_part *mp_get(const mp_part *parts, int n, const char *name);

#endif
