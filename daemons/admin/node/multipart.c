/*
 * multipart.c - the multipart/form-data splitter of the admin node's uploads
 * (RFC 7578): part names, file names and content types, bounded in part count.
 * Moved from rest/imports.c when the gRPC descriptor upload needed it too.
 */
#include "node/multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* memmem over [p, p+n) */
static const char *
mp_find(const char *p, size_t n, const char *needle, size_t nl)
{
	return nl <= n ? memmem(p, n, needle, nl) : NULL;
}

/*
 * The boundary of a multipart/form-data Content-Type into buf (at most 70 bytes, as
 * RFC 2046 allows). False when the type is another or the boundary is missing.
 */
bool
mp_boundary(const char *ctype, char *buf, size_t cap)
{
	const char *b;
	size_t n = 0;

	if (ctype == NULL || strncasecmp(ctype, "multipart/form-data", 19) != 0)
		return false;
	b = strcasestr(ctype, "boundary=");
	if (b == NULL)
		return false;
	b += 9;
	if (*b == '"') {
		b++;
		while (b[n] && b[n] != '"')
			n++;
	} else
		while (b[n] && b[n] != ';' && b[n] != ' ' && b[n] != '\t')
			n++;
	if (n == 0 || n > 70 || n + 1 > cap)
		return false;
	memcpy(buf, b, n);
	buf[n] = '\0';
	return true;
}

/*
 * Splits a multipart/form-data body into at most max parts (name from each part's
 * Content-Disposition). Returns the count, or -1 with msg set when the body is not
 * well formed (no opening delimiter, a part without headers' end or closing delimiter).
 */
int
mp_parse(const char *body, size_t len, const char *boundary, mp_part *parts, int max, const char **msg)
{
	char delim[80];
	size_t dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	const char *p, *end = body + len;
	int n = 0;

	/* the first delimiter may open the body without the CRLF */
	if (len >= dl - 2 && memcmp(body, delim + 2, dl - 2) == 0)
		p = body + dl - 2;
	else {
		p = mp_find(body, len, delim, dl);
		if (p == NULL) {
			*msg = "the body has no part delimited by the Content-Type's boundary";
			return -1;
		}
		p += dl;
	}
	for (;;) {
		const char *hend, *next, *h;
		mp_part part = {0};

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return n; /* closing delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
			*msg = "a multipart delimiter is not followed by a line break";
			return -1;
		}
		p += 2;
		hend = mp_find(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL) {
			*msg = "a multipart part's headers do not end";
			return -1;
		}
		/* Content-Disposition: form-data; name="..." */
		for (h = p; h < hend;) {
			const char *eol = mp_find(h, (size_t)(hend - h), "\r\n", 2);
			size_t hl = eol ? (size_t)(eol - h) : (size_t)(hend - h);

			if (hl > 13 && strncasecmp(h, "content-type:", 13) == 0) {
				const char *v = h + 13;

				while (v < h + hl && (*v == ' ' || *v == '\t'))
					v++;
				part.ctype = v;
				part.ctype_len = (size_t)(h + hl - v);
			}
			if (hl > 20 && strncasecmp(h, "content-disposition:", 20) == 0) {
				const char *nm = mp_find(h, hl, "name=\"", 6);
				const char *fn = mp_find(h, hl, "filename=\"", 10);

				if (fn != NULL) {
					const char *q = memchr(fn + 10, '"', hl - (size_t)(fn + 10 - h));

					if (q != NULL) {
						part.filename = fn + 10;
						part.filename_len = (size_t)(q - part.filename);
					}
				}

				/* skip filename=" which also ends in name=" */
				while (nm != NULL && nm > h && (nm[-1] != ' ' && nm[-1] != ';'))
					nm = mp_find(nm + 6, hl - (size_t)(nm + 6 - h), "name=\"", 6);
				if (nm != NULL) {
					const char *q;

					nm += 6;
					q = memchr(nm, '"', hl - (size_t)(nm - h));
					if (q != NULL) {
						part.name = nm;
						part.name_len = (size_t)(q - nm);
					}
				}
			}
			h += hl + 2;
		}
		part.data = hend + 4;
		next = mp_find(part.data, (size_t)(end - part.data), delim, dl);
		if (next == NULL) {
			*msg = "the multipart body has no closing delimiter (truncated upload?)";
			return -1;
		}
		part.len = (size_t)(next - part.data);
		if (n >= max) {
			*msg = "too many multipart parts";
			return -1;
		}
		parts[n++] = part;
		p = next + dl;
	}
}

/* The part named name, or NULL. */
const mp_part *
mp_get(const mp_part *parts, int n, const char *name)
{
	size_t nl = strlen(name);

	for (int i = 0; i < n; i++)
		if (parts[i].name != NULL && parts[i].name_len == nl && memcmp(parts[i].name, name, nl) == 0)
			return &parts[i];
	return NULL;
}
