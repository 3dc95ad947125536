/*
 * test_faker.c - every $.fake name of api-compat 4.3 produces a value of the
 * right type and shape (valid e-mails, v4 UUIDs, Luhn-valid cards, parsable
 * dates, decodable JWT headers), arguments are checked, and output depends only
 * on the seed.
 */
#include "test_util.h"

#include <ctype.h>
#include <math.h>
#include <time.h>

#define NOW 1700000000LL

static json_t *
fake(const char *name, const char *args, mc_rng *rng)
{
	mc_error err = {0};
	json_t *v = mc_fake(name, args, rng, NOW, &err);

	if (v == NULL)
		fail_msg("faker %s failed: %s", name, err.msg);
	return v;
}

static bool
all_chars(const char *s, const char *set)
{
	for (; *s; s++)
		if (strchr(set, *s) == NULL)
			return false;
	return true;
}

static bool
is_uuid_v4(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static bool
is_email(const char *s)
{
	const char *at = strchr(s, '@'), *dot;

	if (at == NULL || at == s || strchr(at + 1, '@'))
		return false;
	dot = strrchr(at, '.');
	if (dot == NULL || dot < at + 2 || strlen(dot) < 3)
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-@", *p)))
			return false;
	return true;
}

static bool
luhn_ok(const char *s)
{
	int sum = 0, n = (int)strlen(s);

	for (int i = 0; i < n; i++) {
		int d = s[n - 1 - i] - '0';

		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static int64_t
parse_iso(const char *s)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

/* Decodes one base64url segment (no padding) into out; returns the length or -1. */
static int
b64url_decode(const char *s, size_t n, char *out, size_t cap)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(al, s[i]);

		if (p == NULL || s[i] == '\0')
			return -1;
		acc = (acc << 6) | (uint32_t)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return (int)o;
}

static void
test_every_name_has_the_right_type(void **state)
{
	static const struct {
		const char *name;
		int type;
	} cat[] = {
	    {"UUID", JSON_STRING},
	    {"UUIDDigit", JSON_STRING},
	    {"DateISO", JSON_STRING},
	    {"Date", JSON_STRING},
	    {"Timestamp", JSON_INTEGER},
	    {"UnixTime", JSON_INTEGER},
	    {"FirstName", JSON_STRING},
	    {"LastName", JSON_STRING},
	    {"Name", JSON_STRING},
	    {"FullName", JSON_STRING},
	    {"Email", JSON_STRING},
	    {"Username", JSON_STRING},
	    {"Password", JSON_STRING},
	    {"Word", JSON_STRING},
	    {"Sentence", JSON_STRING},
	    {"Paragraph", JSON_STRING},
	    {"City", JSON_STRING},
	    {"Country", JSON_STRING},
	    {"CountryCode", JSON_STRING},
	    {"State", JSON_STRING},
	    {"StreetAddress", JSON_STRING},
	    {"Address", JSON_STRING},
	    {"ZipCode", JSON_STRING},
	    {"Zip", JSON_STRING},
	    {"PhoneNumber", JSON_STRING},
	    {"Phone", JSON_STRING},
	    {"Company", JSON_STRING},
	    {"CompanyName", JSON_STRING},
	    {"JobTitle", JSON_STRING},
	    {"ProductName", JSON_STRING},
	    {"Price", JSON_REAL},
	    {"Amount", JSON_REAL},
	    {"Float64", JSON_REAL},
	    {"Bool", -1},
	    {"PositiveInt", JSON_INTEGER},
	    {"URL", JSON_STRING},
	    {"DomainName", JSON_STRING},
	    {"IPv4", JSON_STRING},
	    {"MacAddress", JSON_STRING},
	    {"HexColor", JSON_STRING},
	    {"Gender", JSON_STRING},
	    {"UserAgent", JSON_STRING},
	    {"Latitude", JSON_REAL},
	    {"Longitude", JSON_REAL},
	    {"CreditCardNumber", JSON_STRING},
	    {"JWT", JSON_STRING},
	};
	mc_rng rng;

	(void)state;
	mc_rng_seed(&rng, 7);
	for (size_t i = 0; i < sizeof(cat) / sizeof(cat[0]); i++) {
		assert_true(mc_faker_exists(cat[i].name));
		for (int k = 0; k < 20; k++) {
			json_t *v = fake(cat[i].name, NULL, &rng);

			if (cat[i].type == -1)
				assert_true(json_is_boolean(v));
			else if ((int)json_typeof(v) != cat[i].type)
				fail_msg("%s has type %d", cat[i].name, json_typeof(v));
			if (json_is_string(v) && json_string_length(v) == 0)
				fail_msg("%s is empty", cat[i].name);
			json_decref(v);
		}
	}
	assert_true(mc_faker_exists("IntBetween"));
	assert_true(mc_faker_exists("IntRange"));
	assert_true(mc_faker_exists("FloatRange"));
	assert_false(mc_faker_exists("uuid"));
}

static void
test_shapes(void **state)
{
	mc_rng rng;

	(void)state;
	mc_rng_seed(&rng, 99);
	for (int k = 0; k < 200; k++) {
		json_t *v;
		const char *s;
		double d;
		int a, b, c, e;
		char tail;

		v = fake("UUID", NULL, &rng);
		assert_true(is_uuid_v4(json_string_value(v)));
		json_decref(v);

		v = fake("UUIDDigit", NULL, &rng);
		assert_true(all_chars(json_string_value(v), "0123456789"));
		assert_int_equal(json_string_length(v), 32);
		json_decref(v);

		v = fake("Email", NULL, &rng);
		if (!is_email(json_string_value(v)))
			fail_msg("bad email %s", json_string_value(v));
		json_decref(v);

		v = fake("DateISO", NULL, &rng);
		{
			int64_t t = parse_iso(json_string_value(v));

			assert_true(t > 0);
			assert_true(t >= NOW - 366LL * 86400 && t <= NOW + 366LL * 86400);
		}
		json_decref(v);

		v = fake("Date", NULL, &rng);
		s = json_string_value(v);
		assert_int_equal(strlen(s), 10);
		assert_int_equal(sscanf(s, "%4d-%2d-%2d%c", &a, &b, &c, &tail), 3);
		assert_true(a >= 2022 && a <= 2024 && b >= 1 && b <= 12 && c >= 1 && c <= 31);
		json_decref(v);

		v = fake("Timestamp", NULL, &rng);
		assert_true(json_integer_value(v) <= NOW && json_integer_value(v) >= NOW - 31 * 86400);
		json_decref(v);

		v = fake("CreditCardNumber", NULL, &rng);
		s = json_string_value(v);
		assert_int_equal(strlen(s), 16);
		assert_true(all_chars(s, "0123456789"));
		assert_true(luhn_ok(s));
		assert_true(s[0] == '4' || (s[0] == '5' && s[1] >= '1' && s[1] <= '5'));
		json_decref(v);

		v = fake("Price", NULL, &rng);
		d = json_real_value(v);
		assert_true(d >= 1.0 && d < 1000.0);
		assert_true(fabs(d * 100 - round(d * 100)) < 1e-6);
		json_decref(v);

		v = fake("Latitude", NULL, &rng);
		assert_true(json_real_value(v) >= -90 && json_real_value(v) <= 90);
		json_decref(v);
		v = fake("Longitude", NULL, &rng);
		assert_true(json_real_value(v) >= -180 && json_real_value(v) <= 180);
		json_decref(v);

		v = fake("IPv4", NULL, &rng);
		assert_int_equal(sscanf(json_string_value(v), "%d.%d.%d.%d%c", &a, &b, &c, &e, &tail), 4);
		assert_true(a >= 1 && a <= 223 && b <= 255 && c <= 255 && e <= 255);
		json_decref(v);

		v = fake("MacAddress", NULL, &rng);
		assert_int_equal(json_string_length(v), 17);
		assert_true(all_chars(json_string_value(v), "0123456789abcdef:"));
		json_decref(v);

		v = fake("HexColor", NULL, &rng);
		assert_int_equal(json_string_length(v), 7);
		assert_int_equal(json_string_value(v)[0], '#');
		json_decref(v);

		v = fake("CountryCode", NULL, &rng);
		assert_int_equal(json_string_length(v), 2);
		assert_true(all_chars(json_string_value(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
		json_decref(v);

		v = fake("ZipCode", NULL, &rng);
		assert_int_equal(json_string_length(v), 5);
		assert_true(all_chars(json_string_value(v), "0123456789"));
		json_decref(v);

		v = fake("URL", NULL, &rng);
		assert_true(strncmp(json_string_value(v), "https://", 8) == 0);
		json_decref(v);

		v = fake("Name", NULL, &rng);
		assert_non_null(strchr(json_string_value(v), ' '));
		json_decref(v);

		v = fake("Sentence", NULL, &rng);
		s = json_string_value(v);
		assert_true(isupper((unsigned char)s[0]) && s[strlen(s) - 1] == '.');
		json_decref(v);

		v = fake("Password", NULL, &rng);
		assert_true(json_string_length(v) >= 12);
		json_decref(v);
	}
}

static void
test_jwt_header_decodes_to_json(void **state)
{
	mc_rng rng;
	json_t *v, *h, *p;
	const char *s, *d1, *d2;
	char buf[512];

	(void)state;
	mc_rng_seed(&rng, 3);
	v = fake("JWT", NULL, &rng);
	s = json_string_value(v);
	d1 = strchr(s, '.');
	assert_non_null(d1);
	d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	assert_true(all_chars(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."));
	assert_true(b64url_decode(s, (size_t)(d1 - s), buf, sizeof(buf)) > 0);
	h = J(buf);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "HS256");
	assert_true(b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf, sizeof(buf)) > 0);
	p = J(buf);
	assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
	assert_true(strlen(d2 + 1) > 20);
	json_decref(h);
	json_decref(p);
	json_decref(v);
}

static void
test_int_between_bounds(void **state)
{
	mc_rng rng;
	bool seen_lo = false, seen_hi = false;

	(void)state;
	mc_rng_seed(&rng, 1);
	for (int k = 0; k < 1000; k++) {
		json_t *v = fake(k % 2 ? "IntBetween" : "IntRange", " 1 , 6 ", &rng);
		json_int_t n = json_integer_value(v);

		assert_true(json_is_integer(v));
		assert_true(n >= 1 && n <= 6);
		seen_lo |= n == 1;
		seen_hi |= n == 6;
		json_decref(v);
	}
	assert_true(seen_lo && seen_hi);
	for (int k = 0; k < 1000; k++) {
		json_t *v = fake("FloatRange", "1.00,100.00", &rng);
		double d = json_real_value(v);

		assert_true(json_is_real(v));
		assert_true(d >= 1.0 && d <= 100.0);
		assert_true(fabs(d * 100 - round(d * 100)) < 1e-6);
		json_decref(v);
	}
	{
		json_t *v = fake("IntBetween", "-5,-5", &rng);

		assert_int_equal(json_integer_value(v), -5);
		json_decref(v);
	}
}

static void
test_bad_names_and_arguments(void **state)
{
	mc_rng rng;
	mc_error err = {0};

	(void)state;
	mc_rng_seed(&rng, 1);
	assert_null(mc_fake("Nope", NULL, &rng, NOW, &err));
	assert_int_equal(err.code, MC_EINVAL);
	assert_string_equal(err.msg, "unknown faker \"Nope\"");

	assert_null(mc_fake("IntBetween", "1", &rng, NOW, &err));
	assert_non_null(strstr(err.msg, "2 arguments"));
	assert_null(mc_fake("IntBetween", NULL, &rng, NOW, &err));
	assert_null(mc_fake("IntBetween", "x,5", &rng, NOW, &err));
	assert_non_null(strstr(err.msg, "argument min"));
	assert_null(mc_fake("IntBetween", "1,5.5", &rng, NOW, &err));
	assert_non_null(strstr(err.msg, "argument max"));
	assert_null(mc_fake("IntBetween", "9,1", &rng, NOW, &err));
	assert_non_null(strstr(err.msg, "max"));
	assert_null(mc_fake("FloatRange", "a,2", &rng, NOW, &err));
	assert_non_null(strstr(err.msg, "argument min"));
	assert_null(mc_fake("UUID", "3", &rng, NOW, &err));
	assert_non_null(strstr(err.msg, "takes no arguments"));
	{
		json_t *v = mc_fake("UUID", "", &rng, NOW, &err); /* "$.fake.UUID()" */

		assert_non_null(v);
		json_decref(v);
	}
}

static void
test_seed_decides_output(void **state)
{
	static const char *names[] = {"UUID", "Email", "Name", "DateISO", "CreditCardNumber", "JWT"};
	mc_rng a, b, c;

	(void)state;
	mc_rng_seed(&a, 42);
	mc_rng_seed(&b, 42);
	mc_rng_seed(&c, 43);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *x = fake(names[i], NULL, &a), *y = fake(names[i], NULL, &b),
		       *z = fake(names[i], NULL, &c);

		assert_true(json_equal(x, y));
		assert_false(json_equal(x, z));
		json_decref(x);
		json_decref(y);
		json_decref(z);
	}
	/* Seed 0 is usable too (splitmix64 fills the state). */
	mc_rng_seed(&a, 0);
	assert_true(mc_rng_next(&a) != 0 || mc_rng_next(&a) != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_name_has_the_right_type), cmocka_unit_test(test_shapes),
	    cmocka_unit_test(test_jwt_header_decodes_to_json),    cmocka_unit_test(test_int_between_bounds),
	    cmocka_unit_test(test_bad_names_and_arguments),       cmocka_unit_test(test_seed_decides_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
