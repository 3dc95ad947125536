/*
 * pb_internal.h - the protobuf wire reader and the descriptor set layout shared
 * by pbdesc.c (descriptor decoding) and pbjson.c (the codec).
 */
#ifndef MOCKARTY_PB_INTERNAL_H
#define MOCKARTY_PB_INTERNAL_H

#include "mockarty/pb.h"

struct mc_pb_set {
	uint8_t *raw; /* copy of the loaded bytes; files point into it */
	size_t rawlen;
	mc_pb_file *files;
	size_t nfiles;
	mc_pb_message **msgs; /* sorted by full_name */
	size_t nmsgs;
	mc_pb_enum **enums; /* sorted by full_name */
	size_t nenums;
	mc_pb_service *services;
	size_t nservices;
};

/* A bounded cursor over wire bytes; base is the start for offsets in errors. */
typedef struct pbr {
	const uint8_t *p, *end, *base;
} pbr;

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_SGROUP = 3, PB_EGROUP = 4, PB_I32 = 5 };

static inline size_t
pbr_off(const pbr *r)
{
	return (size_t)(r->p - r->base);
}

/* Returns 0 on success, -1 on truncation or an over-long varint. */
static inline int
pbr_varint(pbr *r, uint64_t *v)
{
	uint64_t x = 0;
	int shift = 0;

	while (r->p < r->end && shift < 64) {
		uint8_t b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

static inline int
pbr_fixed(pbr *r, int n, uint64_t *v)
{
	uint64_t x = 0;

	if (r->end - r->p < n)
		return -1;
	for (int i = 0; i < n; i++)
		x |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	*v = x;
	return 0;
}

/* A length-delimited payload: checks the declared length against what remains. */
static inline int
pbr_bytes(pbr *r, const uint8_t **d, size_t *n)
{
	uint64_t l;

	if (pbr_varint(r, &l) != 0 || l > (uint64_t)(r->end - r->p))
		return -1;
	*d = r->p;
	*n = (size_t)l;
	r->p += l;
	return 0;
}

/* Skips one value of wire type wt (groups to their end, depth bounded). */
static inline int
pbr_skip(pbr *r, int wt, int depth)
{
	uint64_t v;
	const uint8_t *d;
	size_t n;

	switch (wt) {
	case PB_VARINT:
		return pbr_varint(r, &v);
	case PB_I64:
		return pbr_fixed(r, 8, &v);
	case PB_I32:
		return pbr_fixed(r, 4, &v);
	case PB_LEN:
		return pbr_bytes(r, &d, &n);
	case PB_SGROUP:
		if (depth > MC_PB_MAX_DEPTH)
			return -1;
		for (;;) {
			uint64_t tag;
			if (pbr_varint(r, &tag) != 0)
				return -1;
			if ((tag & 7) == PB_EGROUP)
				return 0;
			if (pbr_skip(r, (int)(tag & 7), depth + 1) != 0)
				return -1;
		}
	default:
		return -1;
	}
}

#endif
