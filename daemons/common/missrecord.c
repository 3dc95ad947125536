/*
 * missrecord.c - redaction and size cap of recorded misses on the serving nodes
 * (missrecord.h). Pure functions on jansson values; no locks, no I/O.
 */
#include "missrecord.h"

#include <strings.h>

static const char *const credential_headers[] = {
	"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", NULL,
};

static int
is_credential(const char *name)
{
	for (int i = 0; credential_headers[i] != NULL; i++)
		if (strcasecmp(name, credential_headers[i]) == 0)
			return 1;
	return 0;
}

json_t *
mr_headers_redacted(const json_t *headers)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;

	if (out == NULL || !json_is_object(headers))
		return out;
	json_object_foreach ((json_t *)headers, k, v) {
		if (is_credential(k))
			json_object_set_new(out, k, json_string("[redacted]"));
		else
			json_object_set(out, k, v);
	}
	return out;
}

json_t *
mr_body(json_t *json, const char *raw, size_t len)
{
	if (len == 0 || raw == NULL)
		return json != NULL ? json_incref(json) : NULL;
	if (len <= MR_BODY_MAX)
		return json != NULL ? json_incref(json) : json_stringn(raw, len);
	len = MR_BODY_MAX;
	/* do not end inside a UTF-8 sequence: back up over continuation bytes */
	while (len > 0 && ((unsigned char)raw[len] & 0xC0) == 0x80)
		len--;
	return json_stringn(raw, len);
}
