/*
 * fuzz_response.c - libFuzzer target for the response parser (http_parse.c).
 *
 * The parser reads bytes from servers under test, so any input must end in DONE, MORE or ERROR
 * without reading outside its buffer, and a response split anywhere must parse as when whole.
 * The first two bytes pick the chunking (a seed for the piece sizes) and HEAD or not; the rest is
 * the response stream, parsed response after response as a keep-alive connection would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

/* Parses data as a stream of responses in pieces of pseudo-random sizes; returns a digest of the
 * outcome (rc and status of every response, body bytes) to compare chunkings. */
static uint64_t
parse_stream(const uint8_t *data, size_t size, uint32_t seed, bool head)
{
	static lg_resp_parser p;
	uint64_t digest = 1469598103934665603ULL;
	size_t off = 0;

	lg_resp_init(&p, head);
	while (off < size) {
		size_t piece = seed == 0 ? size - off : 1 + (seed % 17);
		seed = seed * 1103515245u + 12345u;
		if (piece > size - off)
			piece = size - off;
		size_t used = 0;
		lg_parse_rc rc = lg_resp_feed(&p, (const char *)data + off, piece, &used);
		if (used > piece)
			abort();
		off += used;
		if (rc == LG_PARSE_ERROR) {
			if (p.error == NULL)
				abort();
			return digest ^ 0xdead;
		}
		if (rc == LG_PARSE_DONE) {
			if (p.status < 100 || p.status > 999)
				abort();
			digest = (digest ^ (uint64_t)p.status ^ (p.body_bytes << 10) ^ ((uint64_t)p.keep_alive << 40)) *
			         1099511628211ULL;
			lg_resp_init(&p, head);
			continue;
		}
		if (used != piece)
			abort(); /* MORE consumes everything */
	}
	lg_parse_rc rc = lg_resp_eof(&p);
	return (digest ^ (uint64_t)(rc + 7)) * 1099511628211ULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t seed = data[0] | 1u;
	bool head = data[1] & 1;
	data += 2;
	size -= 2;
	uint64_t whole = parse_stream(data, size, 0, head);
	uint64_t split = parse_stream(data, size, seed, head);
	uint64_t other = parse_stream(data, size, seed * 7919u + 1u, head);
	if (whole != split || whole != other)
		abort(); /* chunking must not change the outcome */
	return 0;
}
