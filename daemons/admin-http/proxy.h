/*
 * proxy.h - forwarding mock traffic to a proxy.target.
 */
#ifndef MOCKARTY_ADMIN_PROXY_H
#define MOCKARTY_ADMIN_PROXY_H

#include "api.h"

typedef struct proxy_result {
	int status;
	char *body; /* malloc'd, may be NULL */
	size_t body_len;
	json_t *headers; /* array of [name, value]; owned */
} proxy_result;

/*
 * Sends req (method, headers, body) to target + path + "?" + raw_query and
 * fills out with the upstream answer (caller frees body and decrefs headers).
 * Returns false with a reason in err when the target is refused or the call
 * failed (the caller answers 502 "external").
 */
bool proxy_forward(const char *target, const api_req *req, const char *path, const char *raw_query,
		   proxy_result *out, char *err, size_t errlen);

#endif
