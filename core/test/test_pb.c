/*
 * test_pb.c - the descriptor model and the protobuf <-> JSON codec on edge cases:
 * what the set exposes (services, streaming flags, json_name, packed, optional,
 * maps), malformed descriptor sets, the proto3 JSON mapping choices (64-bit as
 * strings, unknown enum numbers, NaN, base64 alphabets, packed and unpacked,
 * WKTs), errors naming the JSON path or byte offset, and the bounds (a 100 MB
 * declared length, nesting depth). The set is compiled by protoc at build time
 * from regress/protobuf/proto (core/Makefile, build/rt.pb).
 */
#include "test_util.h"
#include "mockarty/pb.h"

static uint8_t *set_bytes;
static size_t set_len;

static int
load_set(void **state)
{
	FILE *f = fopen("../build/rt.pb", "rb");
	mc_error err;
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	set_bytes = malloc((size_t)n);
	if (fread(set_bytes, 1, (size_t)n, f) != (size_t)n)
		return fclose(f), -1;
	fclose(f);
	set_len = (size_t)n;
	*state = mc_pb_set_load(set_bytes, set_len, &err);
	return *state ? 0 : -1;
}

static int
free_set(void **state)
{
	mc_pb_set_free(*state);
	free(set_bytes);
	return 0;
}

/* JSON -> binary -> JSON, returning the decoded JSON (new ref); fails on error. */
static json_t *
through(const mc_pb_set *s, const char *type, const char *json)
{
	json_t *in = J(json), *out;
	uint8_t *b;
	size_t n;
	mc_error err;

	if (mc_pb_from_json(s, type, in, &b, &n, &err) != MC_OK)
		fail_msg("encode %s: %s %s", json, err.path, err.msg);
	out = mc_pb_to_json(s, type, b, n, &err);
	if (out == NULL)
		fail_msg("decode: %s %s", err.path, err.msg);
	free(b);
	json_decref(in);
	return out;
}

static void
assert_json_eq(json_t *got, const char *want)
{
	json_t *w = J(want);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		fail_msg("got %s, want %s", g, want);
	}
	json_decref(w);
	json_decref(got);
}

static void
expect_encode_error(const mc_pb_set *s, const char *type, const char *json, const char *path,
                    const char *msg_part)
{
	json_t *in = J(json);
	uint8_t *b = NULL;
	size_t n;
	mc_error err;

	assert_int_not_equal(mc_pb_from_json(s, type, in, &b, &n, &err), MC_OK);
	assert_null(b);
	assert_string_equal(err.path, path);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, msg_part);
	json_decref(in);
}

static void
test_descriptor_model(void **state)
{
	const mc_pb_set *s = *state;
	const mc_pb_service *sv = mc_pb_find_service(s, "rt.RoundTrip");
	const mc_pb_message *m;
	const mc_pb_field *f;

	assert_non_null(sv);
	assert_int_equal(mc_pb_service_count(s), 1);
	assert_int_equal(sv->nmethods, 4);
	assert_string_equal(sv->methods[0].name, "Unary");
	assert_false(sv->methods[0].client_streaming || sv->methods[0].server_streaming);
	assert_true(sv->methods[1].server_streaming && !sv->methods[1].client_streaming);
	assert_true(sv->methods[2].client_streaming && !sv->methods[2].server_streaming);
	assert_true(sv->methods[3].client_streaming && sv->methods[3].server_streaming);
	assert_string_equal(sv->methods[2].output->full_name, "rt.common.Money");
	assert_string_equal(sv->file, "rt/root.proto");
	assert_true(mc_pb_file_count(s) >= 10); /* ours + the WKT files */

	m = mc_pb_find_message(s, ".rt.Root.Node"); /* nested, leading dot accepted */
	assert_non_null(m);
	assert_ptr_equal(mc_pb_find_field_name(m, "child")->msg, mc_pb_find_message(s, "rt.Root"));

	m = mc_pb_find_message(s, "rt.Scalars");
	f = mc_pb_find_field_name(m, "customJson");
	assert_non_null(f);
	assert_ptr_equal(f, mc_pb_find_field_name(m, "renamed_field"));
	assert_string_equal(mc_pb_find_field_name(m, "f_int64")->json_name, "fInt64");
	assert_ptr_equal(mc_pb_find_field(m, 16)->en, mc_pb_find_enum(s, "rt.common.Color"));

	m = mc_pb_find_message(s, "rt.Repeated");
	assert_true(mc_pb_find_field_name(m, "r_int32")->packed);
	assert_false(mc_pb_find_field_name(m, "u_int32")->packed);
	assert_false(mc_pb_find_field_name(m, "r_string")->packed);

	m = mc_pb_find_message(s, "rt.Optionals");
	f = mc_pb_find_field_name(m, "o_int32");
	assert_true(f->proto3_optional && f->has_presence);
	assert_int_equal(f->oneof_index, -1);

	m = mc_pb_find_message(s, "rt.Root");
	f = mc_pb_find_field_name(m, "c_money");
	assert_int_equal(f->oneof_index, 0);
	assert_string_equal(m->oneofs[0], "choice");

	f = mc_pb_find_field_name(mc_pb_find_message(s, "rt.Maps"), "m_bool_enum");
	assert_true(f->msg->map_entry);
	assert_int_equal(f->msg->fields[0].type, MC_PB_BOOL);
	assert_null(mc_pb_find_message(s, "rt.Nope"));
}

static void
test_malformed_sets(void **state)
{
	mc_error err;
	uint8_t bad1[] = {0x0a, 0x05, 0x0a, 0x01};             /* length 5, 2 bytes left */
	uint8_t huge[] = {0x0a, 0x80, 0x80, 0x80, 0x32, 0x00}; /* file of 100 MB declared */
	uint8_t junk[] = {0xff, 0xff, 0xff};
	uint8_t *cut;

	(void)state;
	assert_null(mc_pb_set_load(bad1, sizeof(bad1), &err));
	assert_non_null(strstr(err.msg, "byte offset"));
	assert_null(mc_pb_set_load(huge, sizeof(huge), &err));
	assert_non_null(strstr(err.msg, "declared length beyond the end"));
	assert_null(mc_pb_set_load(junk, sizeof(junk), &err));
	assert_null(mc_pb_set_load((const uint8_t *)"", 0, &err));
	assert_string_equal(err.msg, "descriptor set holds no file");
	/* every truncation of a real set is refused or loads; never crashes */
	cut = malloc(set_len);
	for (size_t n = 1; n < set_len; n += 97) {
		memcpy(cut, set_bytes, n);
		mc_pb_set_free(mc_pb_set_load(cut, n, &err));
	}
	/* only the last file: its imports are missing, named in the error */
	{
		size_t off = 0, last = 0, lastlen = 0;
		while (off < set_len) {
			size_t l = 0, shift = 0, p = off + 1;
			while (set_bytes[p] & 0x80)
				l |= (size_t)(set_bytes[p++] & 0x7f) << shift, shift += 7;
			l |= (size_t)set_bytes[p++] << shift;
			last = off;
			lastlen = p - off + l;
			off = p + l;
		}
		assert_null(mc_pb_set_load(set_bytes + last, lastlen, &err));
		assert_non_null(strstr(err.msg, "refers to unknown type"));
	}
	free(cut);
}

static void
test_scalars_mapping(void **state)
{
	const mc_pb_set *s = *state;

	/* 64-bit as strings (numbers accepted), defaults omitted, json_name out, both names in */
	assert_json_eq(
	    through(s, "rt.Scalars",
	            "{\"fInt64\": 9007199254740993, \"f_uint64\": \"18446744073709551615\","
	            " \"fSint64\": \"-5\", \"fInt32\": 0, \"fBool\": false, \"fString\": \"\","
	            " \"renamed_field\": \"x\", \"fSfixed32\": \"-7\", \"fUint32\": 4294967295.0}"),
	    "{\"fInt64\": \"9007199254740993\", \"fUint64\": \"18446744073709551615\","
	    " \"fSint64\": \"-5\", \"customJson\": \"x\", \"fSfixed32\": -7, \"fUint32\": 4294967295}");
	/* NaN / Infinity as strings; float to its shortest form */
	assert_json_eq(through(s, "rt.Scalars", "{\"fDouble\": \"NaN\", \"fFloat\": 0.1}"),
	               "{\"fDouble\": \"NaN\", \"fFloat\": 0.1}");
	assert_json_eq(through(s, "rt.Scalars", "{\"fDouble\": \"-Infinity\", \"fFloat\": \"Infinity\"}"),
	               "{\"fDouble\": \"-Infinity\", \"fFloat\": \"Infinity\"}");
	/* bytes: standard out; URL-safe and unpadded in */
	assert_json_eq(through(s, "rt.Scalars", "{\"fBytes\": \"-_8\"}"), "{\"fBytes\": \"+/8=\"}");
	/* enums: by name, numbers accepted, unknown numbers kept as numbers (open enum) */
	assert_json_eq(through(s, "rt.Scalars", "{\"fEnum\": 2}"), "{\"fEnum\": \"GREEN\"}");
	assert_json_eq(through(s, "rt.Scalars", "{\"fEnum\": 42}"), "{\"fEnum\": 42}");
	assert_json_eq(through(s, "rt.Scalars", "{\"fEnum\": \"NEGATIVE\"}"), "{\"fEnum\": \"NEGATIVE\"}");
	/* proto3 optional keeps a zero that was set */
	assert_json_eq(through(s, "rt.Optionals", "{\"oInt32\": 0, \"oString\": \"\", \"oEnum\": 0}"),
	               "{\"oInt32\": 0, \"oString\": \"\", \"oEnum\": \"COLOR_UNSPECIFIED\"}");
	/* null means unset */
	assert_json_eq(through(s, "rt.Optionals", "{\"oInt32\": null, \"oMoney\": null}"), "{}");
}

static void
test_repeated_maps_oneof(void **state)
{
	const mc_pb_set *s = *state;
	mc_error err;
	json_t *j;
	/* r_int32 (3) written unpacked and u_int32 (20) written packed: both decode */
	uint8_t wire[] = {0x18, 0x01, 0x18, 0x96, 0x01, 0xa2, 0x01, 0x02, 0x05, 0x06};

	j = mc_pb_to_json(s, "rt.Repeated", wire, sizeof(wire), &err);
	assert_json_eq(j, "{\"rInt32\": [1, 150], \"uInt32\": [5, 6]}");
	assert_json_eq(
	    through(s, "rt.Repeated",
	            "{\"rInt64\": [1, \"-2\"], \"uBool\": [true, false], \"rEnum\": [\"RED\", 7]}"),
	    "{\"rInt64\": [\"1\", \"-2\"], \"uBool\": [true, false], \"rEnum\": [\"RED\", 7]}");
	assert_json_eq(
	    through(s, "rt.Maps",
	            "{\"mBoolEnum\": {\"true\": \"BLUE\", \"false\": 0}, \"mInt64String\": {\"-9\": \"a\"},"
	            " \"m_string_money\": {\"k\": {}}, \"mFixed64Uint64\": {\"18446744073709551615\": 0}}"),
	    "{\"mBoolEnum\": {\"true\": \"BLUE\", \"false\": \"COLOR_UNSPECIFIED\"}, \"mInt64String\": "
	    "{\"-9\": \"a\"},"
	    " \"mStringMoney\": {\"k\": {}}, \"mFixed64Uint64\": {\"18446744073709551615\": \"0\"}}");
	/* oneof: the zero value of a member is kept (it has presence) */
	assert_json_eq(through(s, "rt.Root", "{\"cInt64\": 0}"), "{\"cInt64\": \"0\"}");
	expect_encode_error(s, "rt.Root", "{\"cString\": \"a\", \"cColor\": \"RED\"}", "$",
	                    "oneof choice has more than one member set");
	/* a singular message given twice on the wire is merged (scalars: last wins) */
	{
		/* scalars{f_int32=1, f_string="a"} then scalars{f_int32=2} */
		uint8_t twice[] = {0x0a, 0x05, 0x18, 0x01, 0x72, 0x01, 'a', 0x0a, 0x02, 0x18, 0x02};
		j = mc_pb_to_json(s, "rt.Root", twice, sizeof(twice), &err);
		assert_json_eq(j, "{\"scalars\": {\"fInt32\": 2, \"fString\": \"a\"}}");
	}
	/* on the wire the last member wins */
	{
		uint8_t two[] = {0x32, 0x01, 'a', 0x40, 0x01};
		j = mc_pb_to_json(s, "rt.Root", two, sizeof(two), &err);
		assert_json_eq(j, "{\"cColor\": \"RED\"}");
	}
}

static void
test_wkt(void **state)
{
	const mc_pb_set *s = *state;

	assert_json_eq(
	    through(s, "rt.Wkts",
	            "{\"ts\": \"1970-01-01T01:00:00.5+01:00\", \"dur\": \"-1.5s\", \"fm\": \"fooBar.baz,c\","
	            " \"st\": {\"a\": [1, null, {\"b\": true}]}, \"val\": null, \"lv\": [\"x\"],"
	            " \"empty\": {}, \"wInt64\": \"0\", \"wBytes\": \"AQ==\", \"wBool\": false,"
	            " \"rWInt32\": [0, 3], \"mValue\": {\"k\": null}}"),
	    "{\"ts\": \"1970-01-01T00:00:00.500Z\", \"dur\": \"-1.500s\", \"fm\": \"fooBar.baz,c\","
	    " \"st\": {\"a\": [1.0, null, {\"b\": true}]}, \"val\": null, \"lv\": [\"x\"],"
	    " \"empty\": {}, \"wInt64\": \"0\", \"wBytes\": \"AQ==\", \"wBool\": false,"
	    " \"rWInt32\": [0, 3], \"mValue\": {\"k\": null}}");
	assert_json_eq(
	    through(s, "rt.Wkts", "{\"ts\": \"9999-12-31T23:59:59.999999999Z\", \"dur\": \"0.000001s\"}"),
	    "{\"ts\": \"9999-12-31T23:59:59.999999999Z\", \"dur\": \"0.000001s\"}");
	/* Any: a user message inline, a WKT under "value", type resolved from the set */
	assert_json_eq(
	    through(s, "rt.Wkts",
	            "{\"any\": {\"@type\": \"type.googleapis.com/rt.common.Money\", \"units\": 5},"
	            " \"rAny\": [{\"@type\": \"type.googleapis.com/google.protobuf.Duration\", \"value\": "
	            "\"2s\"},"
	            " {\"@type\": \"type.googleapis.com/google.protobuf.Empty\"}]}"),
	    "{\"any\": {\"@type\": \"type.googleapis.com/rt.common.Money\", \"units\": \"5\"},"
	    " \"rAny\": [{\"@type\": \"type.googleapis.com/google.protobuf.Duration\", \"value\": \"2s\"},"
	    " {\"@type\": \"type.googleapis.com/google.protobuf.Empty\"}]}");
	expect_encode_error(s, "rt.Wkts", "{\"any\": {\"@type\": \"type.googleapis.com/x.Missing\"}}",
	                    "$.any", "not in the descriptor set");
	expect_encode_error(s, "rt.Wkts", "{\"ts\": \"2024-01-01 10:00:00\"}", "$.ts", "invalid RFC 3339");
	expect_encode_error(s, "rt.Wkts", "{\"dur\": \"5m\"}", "$.dur", "invalid duration");
	expect_encode_error(s, "rt.Wkts", "{\"fm\": \"foo_bar\"}", "$.fm", "lowerCamelCase");
}

static void
test_errors_name_path(void **state)
{
	const mc_pb_set *s = *state;

	expect_encode_error(s, "rt.Root", "{\"tags\": [{}, {\"color\": \"PURPLE\"}]}", "$.tags[1].color",
	                    "unknown value \"PURPLE\" of enum rt.common.Color");
	expect_encode_error(s, "rt.Root", "{\"scalars\": {\"nope\": 1}}", "$.scalars.nope",
	                    "unknown field \"nope\"");
	expect_encode_error(s, "rt.Root", "{\"scalars\": {\"fInt32\": 2147483648}}", "$.scalars.fInt32",
	                    "out of range");
	expect_encode_error(s, "rt.Root", "{\"scalars\": {\"fInt32\": 1.5}}", "$.scalars.fInt32",
	                    "non-integral");
	expect_encode_error(s, "rt.Root", "{\"scalars\": {\"fFloat\": 1e300}}", "$.scalars.fFloat",
	                    "out of range for a float");
	expect_encode_error(s, "rt.Root", "{\"scalars\": {\"fBytes\": \"a\"}}", "$.scalars.fBytes",
	                    "invalid base64");
	expect_encode_error(s, "rt.Root", "{\"maps\": {\"mBoolEnum\": {\"yes\": 1}}}",
	                    "$.maps.mBoolEnum[\"yes\"]", "is not true or false");
	expect_encode_error(s, "rt.Root", "{\"scalars\": {\"fInt64\": 1, \"f_int64\": 2}}", "$.scalars",
	                    "given twice");
	expect_encode_error(s, "rt.Root", "[]", "$", "expected an object");
}

static void
test_binary_bounds(void **state)
{
	const mc_pb_set *s = *state;
	mc_error err;
	/* scalars (field 1) declaring 100 MB in a 6-byte buffer */
	uint8_t huge[] = {0x0a, 0x80, 0x80, 0x80, 0x32, 0x00};
	uint8_t badutf8[] = {0x0a, 0x03, 0x72, 0x01, 0xff}; /* scalars.f_string = "\xff" */
	uint8_t wrongwt[] = {0x0d, 0, 0, 0, 0};             /* field 1 as fixed32 */
	uint8_t unknown[] = {0xf8, 0x07, 0x01, 0x0a, 0x00}; /* field 127 unknown, then empty scalars */
	uint8_t *deep;
	size_t n = 0;

	assert_null(mc_pb_to_json(s, "rt.Root", huge, sizeof(huge), &err));
	assert_string_equal(err.msg, "declared length beyond the end of the message at byte offset 1");
	assert_string_equal(err.path, "$.scalars");
	assert_null(mc_pb_to_json(s, "rt.Root", badutf8, sizeof(badutf8), &err));
	assert_string_equal(err.path, "$.scalars.fString");
	assert_non_null(strstr(err.msg, "UTF-8"));
	assert_null(mc_pb_to_json(s, "rt.Root", wrongwt, sizeof(wrongwt), &err));
	assert_non_null(strstr(err.msg, "wire type"));
	assert_json_eq(mc_pb_to_json(s, "rt.Root", unknown, sizeof(unknown), &err), "{\"scalars\": {}}");
	assert_null(mc_pb_to_json(s, "rt.Nope", unknown, sizeof(unknown), &err));
	assert_int_equal(err.code, MC_ENOTFOUND);

	/* Root.node(11).child(2) nested 80 times: beyond MC_PB_MAX_DEPTH */
	deep = malloc(4096);
	n = 0;
	for (int i = 0; i < 80; i++) {
		/* build inside out: payload P -> 0x5a len(P) P (Root.node), then 0x12 len P (Node.child) */
		uint8_t tmp[4096];
		size_t m = 0;
		uint8_t tag = (i % 2 == 0) ? 0x12 : 0x5a;
		tmp[m++] = tag;
		if (n < 128)
			tmp[m++] = (uint8_t)n;
		else {
			tmp[m++] = (uint8_t)(0x80 | (n & 0x7f));
			tmp[m++] = (uint8_t)(n >> 7);
		}
		memcpy(tmp + m, deep, n);
		n += m;
		memcpy(deep, tmp, n);
	}
	/* 80 levels ending in Node.child: decoded as Root (outermost tag 0x5a = node) */
	assert_null(mc_pb_to_json(s, "rt.Root", deep, n, &err));
	assert_int_equal(err.code, MC_EINVAL);
	assert_non_null(strstr(err.msg, "nested deeper than the limit"));
	free(deep);
}

static void
test_example(void **state)
{
	const mc_pb_set *s = *state;
	mc_rng a, b;
	json_t *x, *y, *c;
	uint8_t *bin;
	size_t n;
	mc_error err;

	mc_rng_seed(&a, 7);
	mc_rng_seed(&b, 7);
	x = mc_pb_example(s, "rt.Root", &a);
	y = mc_pb_example(s, "rt.Root", &b);
	assert_non_null(x);
	assert_true(json_equal(x, y)); /* deterministic per seed */
	c = json_array_get(json_object_get(x, "contacts"), 0);
	assert_non_null(strchr(json_string_value(json_object_get(c, "email")), '@'));
	assert_int_equal(json_string_length(json_object_get(c, "id")), 36); /* a UUID */
	/* the example is a valid message of its type */
	if (mc_pb_from_json(s, "rt.Root", x, &bin, &n, &err) != MC_OK)
		fail_msg("example does not encode: %s %s", err.path, err.msg);
	free(bin);
	assert_null(mc_pb_example(s, "rt.Nope", &a));
	json_decref(x);
	json_decref(y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_descriptor_model),
	    cmocka_unit_test(test_malformed_sets),
	    cmocka_unit_test(test_scalars_mapping),
	    cmocka_unit_test(test_repeated_maps_oneof),
	    cmocka_unit_test(test_wkt),
	    cmocka_unit_test(test_errors_name_path),
	    cmocka_unit_test(test_binary_bounds),
	    cmocka_unit_test(test_example),
	};
	return cmocka_run_group_tests_name("pb", tests, load_set, free_set);
}
