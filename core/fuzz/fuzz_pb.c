/*
 * fuzz_pb.c - libFuzzer target for the protobuf descriptor loader and codec.
 * Descriptor sets and gRPC messages arrive from users and clients, so neither
 * may crash, leak or allocate what a declared length claims. First byte:
 *   0      the rest is loaded as a FileDescriptorSet (and its services listed);
 *   1      the rest is decoded as rt.Root of the fixed set (build/rt.pb, compiled
 *          from regress/protobuf/proto; MC_FUZZ_PB_SET overrides the path);
 *   other  the rest is decoded as the (byte)-th message type of the set.
 * A message that decodes must re-encode, and its re-encoding must decode to the
 * same JSON (abort otherwise): the codec is stable on its own output.
 */
#include "mockarty/pb.h"
#include "../src/pb_internal.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static mc_pb_set *fixed;

static void
load_fixed(void)
{
	const char *path = getenv("MC_FUZZ_PB_SET");
	FILE *f = fopen(path ? path : "build/rt.pb", "rb");
	static uint8_t buf[1 << 20];
	size_t n;
	mc_error err;

	if (f == NULL) {
		fprintf(stderr,
		        "fuzz_pb: cannot open the descriptor set (build/rt.pb: make -C core build/rt.pb)\n");
		abort();
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	fixed = mc_pb_set_load(buf, n, &err);
	if (fixed == NULL) {
		fprintf(stderr, "fuzz_pb: %s\n", err.msg);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	mc_error err;
	const char *type;
	json_t *j, *j2;
	uint8_t *out = NULL;
	size_t outn;

	if (size == 0)
		return 0;
	if (data[0] == 0) {
		mc_pb_set *s = mc_pb_set_load(data + 1, size - 1, &err);
		for (size_t i = 0; i < mc_pb_service_count(s); i++)
			for (size_t k = 0; k < mc_pb_service_at(s, i)->nmethods; k++)
				if (mc_pb_service_at(s, i)->methods[k].input == NULL)
					abort();
		if (s && s->nmsgs) {
			mc_rng rng;
			mc_rng_seed(&rng, size);
			json_decref(mc_pb_example(s, s->msgs[size % s->nmsgs]->full_name, &rng));
		}
		mc_pb_set_free(s);
		return 0;
	}
	if (fixed == NULL)
		load_fixed();
	type = data[0] == 1 ? "rt.Root" : fixed->msgs[data[0] % fixed->nmsgs]->full_name;
	j = mc_pb_to_json(fixed, type, data + 1, size - 1, &err);
	if (j == NULL)
		return 0;
	if (mc_pb_from_json(fixed, type, j, &out, &outn, &err) != MC_OK) {
		fprintf(stderr, "fuzz_pb: decoded %s does not re-encode: %s %s\n", type, err.path, err.msg);
		abort();
	}
	j2 = mc_pb_to_json(fixed, type, out, outn, &err);
	if (j2 == NULL || !json_equal(j, j2)) {
		char *a = json_dumps(j, JSON_SORT_KEYS | JSON_ENCODE_ANY),
		     *b = j2 ? json_dumps(j2, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		fprintf(stderr, "fuzz_pb: %s re-encoding decodes differently: %s\nfirst:  %s\nsecond: %s\n",
		        type, j2 ? "" : err.msg, a, b ? b : "");
		abort();
	}
	json_decref(j);
	json_decref(j2);
	free(out);
	return 0;
}
