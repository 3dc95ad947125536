/*
 * http_parse.c - incremental HTTP/1.1 response parser of the load generator.
 *
 * It runs once per response on the hot path and reads bytes from servers under test, which may be
 * broken or hostile, so two constraints shaped it: it looks only at what framing needs (status
 * code, Content-Length, Transfer-Encoding, Connection) and skips bodies by length without
 * touching them; and everything is bounded - a header line is at most LG_MAX_LINE bytes, a
 * response at most LG_MAX_HEADERS header/trailer lines, a length at most 2^62 - so no input can
 * make it allocate, loop or overflow. Input may arrive split anywhere (even byte by byte): only an
 * unfinished line is copied, into the fixed buffer of the parser.
 */
#include "loadgen.h"

#include <string.h>
#include <strings.h>

enum {
	ST_STATUS,     /* status line */
	ST_HEADERS,    /* header lines until the empty one */
	ST_BODY_LEN,   /* Content-Length body */
	ST_BODY_EOF,   /* body delimited by the connection closing */
	ST_CHUNK_SIZE, /* chunk-size [; extensions] CRLF */
	ST_CHUNK_DATA, /* chunk bytes */
	ST_CHUNK_CRLF, /* CRLF after the chunk bytes */
	ST_TRAILERS,   /* trailer lines until the empty one */
	ST_DONE,
	ST_ERROR
};

#define MAX_LENGTH ((uint64_t)1 << 62)

void
lg_resp_init(lg_resp_parser *p, bool head)
{
	p->state = ST_STATUS;
	p->status = 0;
	p->minor = 1;
	p->keep_alive = true;
	p->chunked = false;
	p->no_body = head;
	p->head = head;
	p->content_len = -1;
	p->remaining = 0;
	p->body_bytes = 0;
	p->nlines = 0;
	p->linelen = 0;
	p->error = NULL;
}

static lg_parse_rc
fail(lg_resp_parser *p, const char *why)
{
	p->state = ST_ERROR;
	p->error = why;
	return LG_PARSE_ERROR;
}

/* "HTTP/1.x DDD reason": sets status, minor and the version's keep-alive default. */
static lg_parse_rc
status_line(lg_resp_parser *p, const char *s, size_t n)
{
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return fail(p, "malformed status line");
	for (int i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return fail(p, "malformed status code");
	if (n > 12 && s[12] != ' ')
		return fail(p, "malformed status line");
	p->minor = s[7] - '0';
	p->keep_alive = p->minor == 1;
	p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (p->status < 100)
		return fail(p, "status code below 100");
	return LG_PARSE_MORE;
}

/* true if the comma-separated list v[0..n) holds token tok (case-insensitive). */
static bool
has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t st = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > st && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - st == tl && strncasecmp(v + st, tok, tl) == 0)
			return true;
	}
	return false;
}

/* The last coding of a Transfer-Encoding list is chunked. */
static bool
last_is_chunked(const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	size_t st = n;
	while (st > 0 && v[st - 1] != ',')
		st--;
	while (st < n && (v[st] == ' ' || v[st] == '\t'))
		st++;
	return n - st == 7 && strncasecmp(v + st, "chunked", 7) == 0;
}

/* One header line (no CRLF). Only framing headers matter; the others are checked for shape. */
static lg_parse_rc
header_line(lg_resp_parser *p, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL || colon == s)
		return fail(p, "malformed header line");
	size_t nl = (size_t)(colon - s);
	for (size_t i = 0; i < nl; i++)
		if (s[i] <= ' ' || s[i] >= 127)
			return fail(p, "invalid character in header name");
	const char *v = colon + 1, *end = s + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vl = (size_t)(end - v);

	if (nl == 14 && strncasecmp(s, "content-length", 14) == 0) {
		uint64_t len = 0;
		if (vl == 0 || vl > 19)
			return fail(p, "invalid Content-Length");
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(p, "invalid Content-Length");
			len = len * 10 + (uint64_t)(v[i] - '0');
		}
		if (len > MAX_LENGTH)
			return fail(p, "Content-Length too large");
		if (p->content_len >= 0 && (uint64_t)p->content_len != len)
			return fail(p, "conflicting Content-Length headers");
		p->content_len = (int64_t)len;
	} else if (nl == 17 && strncasecmp(s, "transfer-encoding", 17) == 0) {
		/* a coding after chunked would make the length unknowable: the message ends at close */
		p->chunked = last_is_chunked(v, vl);
		if (!p->chunked)
			p->keep_alive = false;
	} else if (nl == 10 && strncasecmp(s, "connection", 10) == 0) {
		if (has_token(v, vl, "close"))
			p->keep_alive = false;
		else if (has_token(v, vl, "keep-alive") && p->minor == 0)
			p->keep_alive = true;
	}
	return LG_PARSE_MORE;
}

/* The empty line ending the headers: decides how the body is framed. */
static lg_parse_rc
headers_end(lg_resp_parser *p)
{
	if (p->status < 200) {
		if (p->status == 101)
			return fail(p, "unexpected protocol switch (101)");
		/* an interim response (100, 103): the real one follows */
		lg_resp_init(p, p->head);
		return LG_PARSE_MORE;
	}
	if (p->no_body || p->status == 204 || p->status == 304) {
		p->state = ST_DONE;
		return LG_PARSE_DONE;
	}
	if (p->chunked) {
		p->state = ST_CHUNK_SIZE;
		return LG_PARSE_MORE;
	}
	if (p->content_len >= 0) {
		p->remaining = (uint64_t)p->content_len;
		p->state = p->remaining ? ST_BODY_LEN : ST_DONE;
		return p->remaining ? LG_PARSE_MORE : LG_PARSE_DONE;
	}
	p->keep_alive = false;
	p->state = ST_BODY_EOF;
	return LG_PARSE_MORE;
}

/* "1a3f[;ext=val]": the size of the next chunk. */
static lg_parse_rc
chunk_size_line(lg_resp_parser *p, const char *s, size_t n)
{
	uint64_t size = 0;
	size_t i = 0;

	for (; i < n; i++) {
		int d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (i >= 15)
			return fail(p, "chunk size too large");
		size = size * 16 + (uint64_t)d;
	}
	if (i == 0)
		return fail(p, "malformed chunk size");
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] != ';')
		return fail(p, "malformed chunk size");
	/* extensions (";name=value") are allowed and ignored */
	if (size == 0) {
		p->state = ST_TRAILERS;
		return LG_PARSE_MORE;
	}
	p->remaining = size;
	p->state = ST_CHUNK_DATA;
	return LG_PARSE_MORE;
}

/* A complete line (CRLF or bare LF stripped) in the current line-oriented state. */
static lg_parse_rc
on_line(lg_resp_parser *p, const char *s, size_t n)
{
	switch (p->state) {
	case ST_STATUS:
		return status_line(p, s, n) == LG_PARSE_ERROR ? LG_PARSE_ERROR : (p->state = ST_HEADERS, LG_PARSE_MORE);
	case ST_HEADERS:
		if (n == 0)
			return headers_end(p);
		if (++p->nlines > LG_MAX_HEADERS)
			return fail(p, "too many header lines");
		if (s[0] == ' ' || s[0] == '\t')
			return fail(p, "obsolete header line folding");
		return header_line(p, s, n);
	case ST_CHUNK_SIZE:
		return chunk_size_line(p, s, n);
	case ST_CHUNK_CRLF:
		if (n != 0)
			return fail(p, "missing CRLF after chunk data");
		p->state = ST_CHUNK_SIZE;
		return LG_PARSE_MORE;
	case ST_TRAILERS:
		if (n == 0) {
			p->state = ST_DONE;
			return LG_PARSE_DONE;
		}
		if (++p->nlines > LG_MAX_HEADERS)
			return fail(p, "too many trailer lines");
		if (memchr(s, ':', n) == NULL)
			return fail(p, "malformed trailer line");
		return LG_PARSE_MORE;
	default:
		return fail(p, "parser in a wrong state");
	}
}

lg_parse_rc
lg_resp_feed(lg_resp_parser *p, const char *buf, size_t len, size_t *used)
{
	size_t i = 0;
	lg_parse_rc rc = LG_PARSE_MORE;

	*used = 0;
	if (p->state == ST_ERROR)
		return LG_PARSE_ERROR;
	if (p->state == ST_DONE)
		return LG_PARSE_DONE;
	while (i < len) {
		if (p->state == ST_BODY_LEN || p->state == ST_CHUNK_DATA) {
			uint64_t take = len - i < p->remaining ? len - i : p->remaining;
			i += take;
			p->remaining -= take;
			p->body_bytes += take;
			if (p->remaining == 0) {
				if (p->state == ST_BODY_LEN) {
					p->state = ST_DONE;
					rc = LG_PARSE_DONE;
					break;
				}
				p->state = ST_CHUNK_CRLF;
			}
			continue;
		}
		if (p->state == ST_BODY_EOF) {
			p->body_bytes += len - i;
			i = len;
			break;
		}
		/* a line-oriented state: find the end of the line */
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t seg = nl ? (size_t)(nl - (buf + i)) : len - i;
		const char *line;
		size_t n;
		if (nl == NULL) {
			if (p->linelen + seg > LG_MAX_LINE)
				return fail(p, "header line too long");
			memcpy(p->line + p->linelen, buf + i, seg);
			p->linelen += seg;
			i = len;
			break;
		}
		if (p->linelen) {
			if (p->linelen + seg > LG_MAX_LINE)
				return fail(p, "header line too long");
			memcpy(p->line + p->linelen, buf + i, seg);
			line = p->line;
			n = p->linelen + seg;
		} else {
			if (seg > LG_MAX_LINE)
				return fail(p, "header line too long");
			line = buf + i;
			n = seg;
		}
		i += seg + 1;
		p->linelen = 0;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\r', n) != NULL || memchr(line, '\0', n) != NULL)
			return fail(p, "stray CR or NUL in a header line");
		rc = on_line(p, line, n);
		if (rc != LG_PARSE_MORE)
			break;
	}
	*used = i;
	return rc;
}

lg_parse_rc
lg_resp_eof(lg_resp_parser *p)
{
	if (p->state == ST_DONE)
		return LG_PARSE_DONE;
	if (p->state == ST_BODY_EOF) {
		p->state = ST_DONE;
		return LG_PARSE_DONE;
	}
	if (p->state == ST_ERROR)
		return LG_PARSE_ERROR;
	return fail(p, "connection closed before the response ended");
}
