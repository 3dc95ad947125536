/*
 * corpus_check.h - the expectFn predicates of the fixture corpus
 * (regress/corpus/README.md): checks on generated values whose exact text
 * depends on the faker, so a runtime is held to the shape, not the bytes.
 */
#ifndef MOCKARTY_CORPUS_CHECK_H
#define MOCKARTY_CORPUS_CHECK_H

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

/* A capitalised alphabetic word: "Anna", "O'Neil" and "Mary-Jane" allowed. */
static inline bool
cc_first_name(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || !isupper((unsigned char)s[0]))
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!isalpha((unsigned char)*p) && *p != '\'' && *p != '-' && !((unsigned char)*p & 0x80))
			return false;
	return strlen(s) >= 2;
}

/* ^[^@\s]+@[^@\s]+\.[a-z]{2,}$ */
static inline bool
cc_email(const json_t *v)
{
	const char *s = json_string_value(v), *at, *dot;
	size_t tld = 0;

	if (s == NULL || (at = strchr(s, '@')) == NULL || at == s || strchr(at + 1, '@'))
		return false;
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p))
			return false;
	dot = strrchr(at + 1, '.');
	if (dot == NULL || dot == at + 1)
		return false;
	for (const char *p = dot + 1; *p; p++, tld++)
		if (!islower((unsigned char)*p))
			return false;
	return tld >= 2;
}

/* 8-4-4-4-12 hex digits. */
static inline bool
cc_uuid(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* YYYY-MM-DD, optionally followed by 'T' and a time. */
static inline bool
cc_iso_date(const json_t *v)
{
	const char *s = json_string_value(v);
	const char *shape = "dddd-dd-dd";

	if (s == NULL || strlen(s) < 10)
		return false;
	for (int i = 0; i < 10; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return false;
	return s[10] == '\0' || s[10] == 'T';
}

/* Digits (spaces and dashes ignored) whose Luhn checksum is 0. */
static inline bool
cc_luhn(const json_t *v)
{
	const char *s = json_string_value(v);
	int sum = 0, n = 0;

	if (s == NULL)
		return false;
	for (const char *p = s + strlen(s); p-- > s;) {
		int d;

		if (*p == ' ' || *p == '-')
			continue;
		if (!isdigit((unsigned char)*p))
			return false;
		d = *p - '0';
		if (n++ % 2 == 1 && (d *= 2) > 9)
			d -= 9;
		sum += d;
	}
	return n >= 2 && sum % 10 == 0;
}

/* Applies the named predicate; *known is false for an unknown name. */
static inline bool
cc_check(const char *name, const json_t *v, bool *known)
{
	*known = true;
	if (strcmp(name, "firstName") == 0)
		return cc_first_name(v);
	if (strcmp(name, "email") == 0)
		return cc_email(v);
	if (strcmp(name, "uuid") == 0)
		return cc_uuid(v);
	if (strcmp(name, "isoDate") == 0)
		return cc_iso_date(v);
	if (strcmp(name, "luhn") == 0)
		return cc_luhn(v);
	if (strcmp(name, "int") == 0)
		return json_is_integer(v);
	if (strcmp(name, "number") == 0)
		return json_is_number(v);
	if (strcmp(name, "string") == 0)
		return json_is_string(v);
	*known = false;
	return false;
}

#endif /* MOCKARTY_CORPUS_CHECK_H */
