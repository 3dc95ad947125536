/*
 * users.c - REST handlers for people: sign-in (/api/v1/auth/login, logout, me,
 * password) and user management for admins (/api/v1/admin/users...).
 *
 * Sign-in answers api-compat's LoginResponse plus csrfToken and sets two cookies:
 * mockarty_session (the session token, HttpOnly) and mockarty_csrf (readable by
 * the console's JavaScript, which echoes it in X-CSRF-Token on writes; auth.c
 * checks that). The session token in the body works as a Bearer too. Each call
 * is one SQL function (mockarty.session_* and mockarty.user_admin_*), so the
 * rules live in the database: throttling, the dummy bcrypt for unknown logins,
 * password length, and that only admins not bound to a namespace manage users
 * (the route is also refused to other roles before it runs, auth.c).
 */
#include "node/node.h"
#include "rest/handlers.h"

#include <stdio.h>
#include <string.h>

/* Sets (or with token NULL clears) the session and CSRF cookies. */
static void
set_cookies(api_resp *resp, const char *token, const char *csrf, int max_age)
{
	api_resp_header(resp, "Set-Cookie",
	                "mockarty_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict",
	                token != NULL ? token : "", token != NULL ? max_age : 0);
	api_resp_header(resp, "Set-Cookie", "mockarty_csrf=%s; Path=/; Max-Age=%d; SameSite=Strict",
	                csrf != NULL ? csrf : "", token != NULL ? max_age : 0);
}

static void
bad_credentials(api_req *req, api_resp *resp)
{
	api_error(req, resp, 401, "unauthorized", "invalid login or password");
}

/*
 * POST /api/v1/auth/login {"login","password"} -> 200 LoginResponse
 * {"token","expires_at","redirect_to":"/ui/","requires_password_change","user",
 * "csrfToken"} with the cookies; 401 for bad or empty credentials (never saying
 * whether the login exists); 429 with Retry-After while throttled.
 */
void
rest_auth_login(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);
	json_t *login, *password, *out = NULL;
	const char *params[6];
	char ttl[16], window[16], max[16];

	if (body == NULL)
		return;
	login = json_object_get(body, "login");
	if (login == NULL)
		login = json_object_get(body, "username");
	password = json_object_get(body, "password");
	if (!json_is_string(login) || !json_is_string(password) || json_string_length(login) == 0 ||
	    json_string_length(password) == 0 || json_string_length(login) > 256 ||
	    json_string_length(password) > 1024) {
		bad_credentials(req, resp);
		return;
	}
	snprintf(ttl, sizeof(ttl), "%d", admin_cfg.session_ttl_s);
	snprintf(window, sizeof(window), "%d", admin_cfg.login_throttle_window_s);
	snprintf(max, sizeof(max), "%d", admin_cfg.login_throttle_max);
	params[0] = json_string_value(login);
	params[1] = json_string_value(password);
	params[2] = req->client_addr != NULL ? req->client_addr : "";
	params[3] = ttl;
	params[4] = window;
	params[5] = max;
	if (!db_json(req, resp, "SELECT mockarty.session_login($1, $2, $3, $4::int, $5::int, $6::int)", 6,
	             params, &out))
		return;
	if (!json_is_true(json_object_get(out, "ok"))) {
		if (json_is_true(json_object_get(out, "throttled"))) {
			json_int_t after = json_integer_value(json_object_get(out, "retry_after"));

			api_error(req, resp, 429, "rate_limit",
			          "too many failed sign-ins for this login or address; retry in %lld s "
			          "(LOGIN_THROTTLE_MAX_FAILURES within LOGIN_THROTTLE_WINDOW_SECONDS)",
			          (long long)after);
			json_object_set_new(resp->json, "retry_after", json_integer(after));
			api_resp_header(resp, "Retry-After", "%lld", (long long)(after > 0 ? after : 1));
		} else {
			bad_credentials(req, resp);
		}
		json_decref(out);
		return;
	}
	json_object_del(out, "ok");
	set_cookies(resp, json_string_value(json_object_get(out, "token")),
	            json_string_value(json_object_get(out, "csrfToken")), admin_cfg.session_ttl_s);
	api_json(resp, 200, out);
}

/* POST /api/v1/auth/logout -> {"status":"logged_out"}: ends the session (if any), clears the cookies. */
void
rest_auth_logout(api_req *req, api_resp *resp)
{
	if (req->session_token != NULL) {
		const char *params[1] = {req->session_token};

		if (!db_json(req, resp, "SELECT mockarty.session_end($1)", 1, params, NULL))
			return;
		auth_session_forget(req->session_token);
	}
	api_json(resp, 200, json_pack("{s:s}", "status", "logged_out"));
	set_cookies(resp, NULL, NULL, 0);
}

/*
 * GET /api/v1/auth/me -> {"user","csrfToken","expires_at","auth"}: the signed-in user
 * with its role per namespace (a cookie session gets its cookies again, Max-Age up to
 * the session's current expiry, which slides on use); with AUTH_MODE=local the pseudo
 * user "local" (system role admin); for an API token the token's role and binding.
 */
void
rest_auth_me(api_req *req, api_resp *resp)
{
	json_t *out = NULL, *nss;

	if (req->session_token != NULL) {
		const char *params[1] = {req->session_token};

		if (!db_json(req, resp, "SELECT mockarty.session_me($1)", 1, params, &out))
			return;
		if (!json_is_object(out)) {
			json_decref(out);
			api_error(req, resp, 401, "unauthorized",
			          "the session has ended or expired; sign in again");
			return;
		}
		/* the session slides on use: renew the cookies' Max-Age to its current expiry */
		if (req->session_cookie)
			set_cookies(resp, req->session_token,
			            json_string_value(json_object_get(out, "csrfToken")),
			            (int)json_integer_value(json_object_get(out, "expires_in")));
		json_object_del(out, "expires_in");
		api_json(resp, 200, out);
		return;
	}
	nss = json_array();
	if (req->token_ns != NULL && req->token_ns[0] != '\0')
		json_array_append_new(nss, json_pack("{s:s, s:s}", "namespace", req->token_ns, "role",
		                                     req->token_role ? req->token_role : "admin"));
	api_json(resp, 200,
	         json_pack("{s:{s:s?, s:s?, s:s, s:o, s:b, s:n, s:b, s:b}, s:n, s:s}", "user", "id",
	                   admin_cfg.auth_local ? "local" : NULL, "login",
	                   admin_cfg.auth_local ? "local" : NULL, "system_role",
	                   req->token_role != NULL ? req->token_role : "admin", "namespaces", nss,
	                   "has_password", 0, "email", "email_2fa_enabled", 0, "requires_password_change", 0,
	                   "csrfToken", "auth", admin_cfg.auth_local ? "local" : "token"));
}

/*
 * POST /api/v1/auth/password {"current_password","new_password"} -> the user: the
 * signed-in user's own password (8 characters at least); clears
 * requires_password_change and ends the user's other sessions.
 */
void
rest_auth_password(api_req *req, api_resp *resp)
{
	json_t *body, *cur, *nw, *out = NULL;
	const char *params[3];

	if (req->session_token == NULL) {
		api_error(
		    req, resp, 400, "validation",
		    "changing a password needs a signed-in session (POST /api/v1/auth/login); admins set "
		    "passwords with POST /api/v1/admin/users/:id/password");
		return;
	}
	body = api_body(req, resp, JSON_OBJECT);
	if (body == NULL)
		return;
	cur = json_object_get(body, "current_password");
	nw = json_object_get(body, "new_password");
	if (!json_is_string(cur)) {
		api_error(req, resp, 400, "validation",
		          "current_password is required (a string) [$.current_password]");
		json_object_set_new(resp->json, "field", json_string("$.current_password"));
		return;
	}
	if (!json_is_string(nw)) {
		api_error(req, resp, 400, "validation",
		          "new_password is required (a string) [$.new_password]");
		json_object_set_new(resp->json, "field", json_string("$.new_password"));
		return;
	}
	params[0] = req->session_token;
	params[1] = json_string_value(cur);
	params[2] = json_string_value(nw);
	if (!db_json(req, resp, "SELECT mockarty.session_password($1, $2, $3)", 3, params, &out))
		return;
	api_json(resp, 200, json_pack("{s:s, s:o}", "status", "password_changed", "user", out));
}

/* ---- user management (admins not bound to a namespace) ---- */

/* Runs sql with the route's :id (and arg when not NULL) and answers its user JSON. */
static void
user_call(api_req *req, api_resp *resp, const char *sql, const char *arg)
{
	const char *params[2] = {req->params[0], arg};
	json_t *out = NULL;

	if (!db_json(req, resp, sql, arg != NULL ? 2 : 1, params, &out))
		return;
	api_json(resp, 200, out);
}

/* GET /api/v1/admin/users -> {"users":[User...],"total":N}. */
void
rest_user_list(api_req *req, api_resp *resp)
{
	json_t *list = NULL;

	if (!db_json(req, resp, "SELECT mockarty.user_admin_list()", 0, NULL, &list))
		return;
	api_json(resp, 200,
	         json_pack("{s:o, s:I}", "users", list, "total", (json_int_t)json_array_size(list)));
}

/* POST /api/v1/admin/users {"login","password"?,"system_role"?,"namespaces"?} -> 201 User. */
void
rest_user_create(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT), *out = NULL;
	const char *params[1];
	char *text;
	bool ok;

	if (body == NULL)
		return;
	text = api_dump(body);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	params[0] = text;
	ok = db_json(req, resp, "SELECT mockarty.user_admin_create($1::jsonb)", 1, params, &out);
	free(text);
	if (ok)
		api_json(resp, 201, out);
}

/* GET /api/v1/admin/users/:id -> User; 404 when unknown. */
void
rest_user_get(api_req *req, api_resp *resp)
{
	user_call(req, resp, "SELECT mockarty.user_admin_get($1)", NULL);
}

/* PUT /api/v1/admin/users/:id {"login"?,"system_role"?,"enabled"?,"namespaces"?,...} -> User. */
void
rest_user_update(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT);
	char *text;

	if (body == NULL)
		return;
	text = api_dump(body);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	user_call(req, resp, "SELECT mockarty.user_admin_update($1, $2::jsonb)", text);
	free(text);
}

/* DELETE /api/v1/admin/users/:id -> {"deleted":true,"id"}; 404 when unknown. */
void
rest_user_delete(api_req *req, api_resp *resp)
{
	const char *params[1] = {req->params[0]};
	json_t *deleted = NULL;

	if (!db_json(req, resp, "SELECT mockarty.user_admin_delete($1)", 1, params, &deleted))
		return;
	if (!json_is_true(deleted)) {
		json_decref(deleted);
		api_error(req, resp, 404, "not_found", "user \"%s\" does not exist", req->params[0]);
		return;
	}
	json_decref(deleted);
	api_json(resp, 200, json_pack("{s:b, s:s}", "deleted", 1, "id", req->params[0]));
}

/* POST /api/v1/admin/users/:id/password {"new_password"} -> User (requires_password_change true). */
void
rest_user_password(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_OBJECT), *pw;

	if (body == NULL)
		return;
	pw = json_object_get(body, "new_password");
	if (!json_is_string(pw)) {
		api_error(req, resp, 400, "validation",
		          "new_password is required (a string) [$.new_password]");
		json_object_set_new(resp->json, "field", json_string("$.new_password"));
		return;
	}
	user_call(req, resp, "SELECT mockarty.user_admin_set_password($1, $2)", json_string_value(pw));
}

/* POST /api/v1/admin/users/:id/disable -> User (enabled false; its sessions stop working). */
void
rest_user_disable(api_req *req, api_resp *resp)
{
	user_call(req, resp, "SELECT mockarty.user_admin_set_enabled($1, $2::boolean)", "false");
}

/* POST /api/v1/admin/users/:id/enable -> User (enabled true). */
void
rest_user_enable(api_req *req, api_resp *resp)
{
	user_call(req, resp, "SELECT mockarty.user_admin_set_enabled($1, $2::boolean)", "true");
}

/* PUT /api/v1/admin/users/:id/namespaces [{"namespace","role"}] -> User (roles replaced). */
void
rest_user_namespaces(api_req *req, api_resp *resp)
{
	json_t *body = api_body(req, resp, JSON_ARRAY);
	char *text;

	if (body == NULL)
		return;
	text = api_dump(body);
	if (text == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		return;
	}
	user_call(req, resp, "SELECT mockarty.user_admin_set_namespaces($1, $2::jsonb)", text);
	free(text);
}
