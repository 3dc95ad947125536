/*
 * orchestrator.c - `mockarty-server-generator orchestrator` (and `experimental-ui`): a REST
 * service on port 8888 that creates, lists, starts, stops, regenerates, deletes, shows the logs
 * of and downloads generated servers, and a small server-rendered UI at /ui.
 *
 * Every server runs as a supervised child process of the generic binary mockarty-gen-server
 * (--type openapi --spec <stored spec> --name <name>), started in its own session (setsid)
 * with stdout/stderr appended to a per-server log file, so children outlive an orchestrator
 * that is SIGKILLed. The definitions (and the pid/startedAt of the current child) are kept in
 * <state dir>/servers.json, rewritten atomically on every change; a restarted orchestrator
 * re-adopts a recorded child whose pid is alive, is a mockarty-gen-server and whose /health on
 * the recorded port names the server, and starts the servers that should run but do not.
 * A child that exits while it should run is restarted with back-off (1 s doubling to 30 s).
 *
 * Callers authenticate with the orchestrator's own token (-api-token) as Bearer, X-API-Key or
 * X-API-Token; the UI uses a session cookie obtained by posting that token to /ui/login and a
 * per-process CSRF token in every form plus a same-origin check. See docs/generator.md.
 */
#include "generator.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVERS 256
#define MAX_BODY (16u << 20)
#define LOG_LIMIT (4L << 20)

typedef struct server {
	char name[65];
	char type[16];
	char ns[128];
	int port;
	bool want_run;   /* desired state */
	pid_t pid;       /* current child, 0 = none */
	bool own;        /* pid is our child (waitpid), else adopted (poll) */
	time_t started;  /* of the current child */
	time_t created;
	int restarts;
	char last_exit[64];
	time_t next_try; /* back-off: no start before this */
	int backoff;
	json_t *mocks; /* last import answer counts, or NULL */
} server;

static struct {
	const char *token, *admin_url, *bind, *gen_bin, *dir;
	int port, range_lo, range_hi;
	bool ui_only;
	char csrf[33], session[65];
	server s[MAX_SERVERS];
	int n;
	pthread_mutex_t mu;
	volatile sig_atomic_t stop;
	unsigned long gen, pushed; /* state changes made / pushed to the admin node */
	bool store_ok;             /* the last push to the admin node succeeded */
} O = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- helpers ---- */

static bool write_file(const char *p, const char *data, size_t len);

static void
rand_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, b, nbytes) != (ssize_t)nbytes) {
		for (size_t i = 0; i < nbytes; i++)
			b[i] = (unsigned char)(rand() ^ time(NULL));
	}
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void
path_of(char *out, size_t len, const char *name, const char *file)
{
	snprintf(out, len, "%s/servers/%s/%s", O.dir, name, file);
}

static server *
find(const char *name)
{
	for (int i = 0; i < O.n; i++)
		if (strcmp(O.s[i].name, name) == 0)
			return &O.s[i];
	return NULL;
}

/* Writes servers.json atomically (tmp + rename); caller holds O.mu. */
static void
save_state(void)
{
	json_t *a = json_array();
	char p[4096], t[4096];

	for (int i = 0; i < O.n; i++) {
		server *v = &O.s[i];

		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:i, s:b, s:I, s:I, s:I, s:i, s:s, s:O?}", "name", v->name,
		                 "type", v->type, "namespace", v->ns, "port", v->port, "wantRun",
		                 v->want_run, "pid", (json_int_t)v->pid, "startedAt", (json_int_t)v->started,
		                 "createdAt", (json_int_t)v->created, "restarts", v->restarts, "lastExit",
		                 v->last_exit, "mocks", v->mocks));
	}
	O.gen++;
	snprintf(p, sizeof(p), "%s/servers.json", O.dir);
	snprintf(t, sizeof(t), "%s/servers.json.tmp", O.dir);
	if (json_dump_file(a, t, JSON_INDENT(1)) == 0)
		rename(t, p);
	else
		fprintf(stderr, "orchestrator: cannot write %s: %s\n", t, strerror(errno));
	json_decref(a);
}

static void
load_state(void)
{
	char p[4096];
	json_t *a, *e;
	size_t i;

	snprintf(p, sizeof(p), "%s/servers.json", O.dir);
	a = json_load_file(p, 0, NULL);
	json_array_foreach (a, i, e) {
		server *v;

		if (O.n >= MAX_SERVERS)
			break;
		v = &O.s[O.n++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", json_string_value(json_object_get(e, "name")) ?: "");
		snprintf(v->type, sizeof(v->type), "%s", json_string_value(json_object_get(e, "type")) ?: "openapi");
		snprintf(v->ns, sizeof(v->ns), "%s", json_string_value(json_object_get(e, "namespace")) ?: "sandbox");
		v->port = (int)json_integer_value(json_object_get(e, "port"));
		v->want_run = json_is_true(json_object_get(e, "wantRun"));
		v->pid = (pid_t)json_integer_value(json_object_get(e, "pid"));
		v->started = (time_t)json_integer_value(json_object_get(e, "startedAt"));
		v->created = (time_t)json_integer_value(json_object_get(e, "createdAt"));
		v->restarts = (int)json_integer_value(json_object_get(e, "restarts"));
		snprintf(v->last_exit, sizeof(v->last_exit), "%s",
		         json_string_value(json_object_get(e, "lastExit")) ?: "");
		v->mocks = json_incref(json_object_get(e, "mocks"));
	}
	json_decref(a);
}

/* true when pid is alive, not a zombie, and runs mockarty-gen-server */
static bool
pid_is_ours(pid_t pid)
{
	char p[64], buf[512];
	int fd;
	ssize_t n;

	if (pid <= 0 || kill(pid, 0) != 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if ((fd = open(p, O_RDONLY)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			char *rp;

			buf[n] = '\0';
			rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ' && rp[2] == 'Z')
				return false;
		}
	}
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(p, O_RDONLY)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "mockarty-gen-server") != NULL;
}

struct body {
	char *p;
	size_t n;
};

static size_t
collect(char *data, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t add = size * nmemb;
	char *np;

	if (b->n + add > MAX_BODY)
		return 0;
	np = realloc(b->p, b->n + add + 1);
	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, data, add);
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

/* GET or POST (json != NULL) url; returns the status (0 = no answer) and the body in out. */
static long
http(const char *url, const char *json, const char *token, struct body *out, long timeout)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char auth[600];
	long st = 0;

	if (c == NULL)
		return 0;
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (json) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return st;
}

/* true when http://127.0.0.1:port/health answers JSON whose serverName is name */
static bool
health_names(int port, const char *name)
{
	char url[128];
	struct body b = {0};
	json_t *j;
	bool ok;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	if (http(url, NULL, NULL, &b, 3) == 0) {
		free(b.p);
		return false;
	}
	j = json_loads(b.p ? b.p : "", 0, NULL);
	ok = json_is_string(json_object_get(j, "serverName")) &&
	     strcmp(json_string_value(json_object_get(j, "serverName")), name) == 0;
	json_decref(j);
	free(b.p);
	return ok;
}

static bool
port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	bool ok;

	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, strcmp(O.bind, "0.0.0.0") == 0 ? "0.0.0.0" : "127.0.0.1", &a.sin_addr);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static bool
port_taken_by_server(int port, const server *except)
{
	for (int i = 0; i < O.n; i++)
		if (&O.s[i] != except && O.s[i].port == port)
			return true;
	return false;
}

/* ---- the store: PostgreSQL through the admin node's /api/v1/generated-servers ---- */

/* METHOD on the admin node's path with the orchestrator's token; status (0 = no answer). */
static long
admin_call(const char *method, const char *path, const char *json, struct body *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], auth[600];
	long st = 0;

	if (c == NULL)
		return 0;
	snprintf(url, sizeof(url), "%s%s", O.admin_url, path);
	if (strstr(url, "//api/"))
		memmove(strstr(url, "//api/"), strstr(url, "//api/") + 1, strlen(strstr(url, "//api/")));
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", O.token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return st;
}

static void
rfc3339(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static time_t
parse_rfc3339(const char *s)
{
	struct tm tm = {0};

	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/* The store's document of v (caller holds O.mu); spec added by the caller when wanted. */
static json_t *
store_doc(const server *v)
{
	char started[40];

	rfc3339(v->started, started, sizeof(started));
	return json_pack("{s:s, s:s, s:i, s:s, s:o, s:s?, s:s?, s:i, s:O?}", "namespace", v->ns, "type", v->type,
	                 "port", v->port, "desiredState", v->want_run ? "running" : "stopped", "pid",
	                 v->pid > 0 ? json_integer(v->pid) : json_null(), "startedAt",
	                 v->pid > 0 && v->started ? started : NULL, "lastExit",
	                 v->last_exit[0] ? v->last_exit : NULL, "restarts", v->restarts, "mocks", v->mocks);
}

/*
 * PUTs one server (with spec when given) to the store. Returns the HTTP status; on a
 * refusal msg holds the admin node's answer.
 */
static long
store_put(const char *name, json_t *doc, char *msg, size_t msglen)
{
	char path[256], *text = json_dumps(doc, JSON_COMPACT);
	struct body b = {0};
	long st;

	if (text == NULL)
		return 0;
	snprintf(path, sizeof(path), "/api/v1/generated-servers/%s", name);
	st = admin_call("PUT", path, text, &b);
	free(text);
	if (msg)
		snprintf(msg, msglen, "%.700s", b.p ? b.p : "(no answer)");
	free(b.p);
	return st;
}

static void
store_delete(const char *name)
{
	char path[256];
	struct body b = {0};

	snprintf(path, sizeof(path), "/api/v1/generated-servers/%s", name);
	admin_call("DELETE", path, NULL, &b);
	free(b.p);
}

/*
 * Pushes are serialised: each takes its snapshot and sends it under push_mu, so a push that
 * read older state can never land after one that read newer state.
 */
static pthread_mutex_t push_mu = PTHREAD_MUTEX_INITIALIZER;

/* Pushes every server's state when something changed since the last push (supervisor thread). */
static void
store_push(void)
{
	json_t *docs = json_object(), *d;
	const char *name;
	unsigned long gen;
	bool ok = true;

	pthread_mutex_lock(&push_mu);
	pthread_mutex_lock(&O.mu);
	gen = O.gen;
	if (gen == O.pushed) {
		pthread_mutex_unlock(&O.mu);
		pthread_mutex_unlock(&push_mu);
		json_decref(docs);
		return;
	}
	for (int i = 0; i < O.n; i++)
		json_object_set_new(docs, O.s[i].name, store_doc(&O.s[i]));
	pthread_mutex_unlock(&O.mu);
	json_object_foreach (docs, name, d) {
		long st = store_put(name, d, NULL, 0);

		if (st != 200 && st != 201) {
			ok = false;
			if (O.store_ok)
				fprintf(stderr, "orchestrator: saving %s to the admin node answered %ld (retrying)\n",
				        name, st);
		}
	}
	json_decref(docs);
	pthread_mutex_lock(&O.mu);
	if (ok)
		O.pushed = gen;
	O.store_ok = ok;
	pthread_mutex_unlock(&O.mu);
	pthread_mutex_unlock(&push_mu);
}

/*
 * Pushes one server's state now (an API call that started or stopped its child, before it
 * answers): a child the API reported running is in the store with its pid, so an orchestrator
 * killed right after answering is replaced by one that adopts the child instead of losing it.
 * A refusal is left to the supervisor's next push. Caller must not hold O.mu.
 */
static void
store_push_one(const char *name)
{
	json_t *doc = NULL;
	server *v;

	pthread_mutex_lock(&push_mu);
	pthread_mutex_lock(&O.mu);
	v = find(name);
	if (v != NULL)
		doc = store_doc(v);
	pthread_mutex_unlock(&O.mu);
	if (doc != NULL) {
		long st = store_put(name, doc, NULL, 0);

		if (st != 200 && st != 201)
			fprintf(stderr, "orchestrator: saving %s to the admin node answered %ld (retrying)\n", name, st);
		json_decref(doc);
	}
	pthread_mutex_unlock(&push_mu);
}

/*
 * Loads the servers from the store (each one's spec written to its directory). Returns
 * false when the admin node cannot be read (the caller falls back to servers.json).
 */
static bool
store_load(void)
{
	struct body b = {0};
	long st = admin_call("GET", "/api/v1/generated-servers", NULL, &b);
	json_t *j, *e;
	size_t i;

	if (st != 200) {
		fprintf(stderr, "orchestrator: the admin node answered %ld to GET /api/v1/generated-servers: %.300s\n",
		        st, b.p ? b.p : "(no answer)");
		free(b.p);
		return false;
	}
	j = json_loads(b.p, 0, NULL);
	free(b.p);
	json_array_foreach (json_object_get(j, "items"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		char path[256], dir[4096], sp[4096];
		struct body g = {0};
		json_t *full;
		server *v;

		if (name == NULL || O.n >= MAX_SERVERS)
			continue;
		snprintf(path, sizeof(path), "/api/v1/generated-servers/%s", name);
		if (admin_call("GET", path, NULL, &g) != 200) {
			free(g.p);
			continue;
		}
		full = json_loads(g.p, 0, NULL);
		free(g.p);
		snprintf(dir, sizeof(dir), "%s/servers/%s", O.dir, name);
		path_of(sp, sizeof(sp), name, "spec");
		mkdir(dir, 0755);
		if (!json_is_string(json_object_get(full, "spec")) ||
		    !write_file(sp, json_string_value(json_object_get(full, "spec")),
		                strlen(json_string_value(json_object_get(full, "spec"))))) {
			json_decref(full);
			continue;
		}
		v = &O.s[O.n++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", name);
		snprintf(v->type, sizeof(v->type), "%s", json_string_value(json_object_get(full, "type")) ?: "openapi");
		snprintf(v->ns, sizeof(v->ns), "%s", json_string_value(json_object_get(full, "namespace")) ?: "sandbox");
		v->port = (int)json_integer_value(json_object_get(full, "port"));
		v->want_run = json_is_string(json_object_get(full, "desiredState")) &&
		              strcmp(json_string_value(json_object_get(full, "desiredState")), "running") == 0;
		v->pid = (pid_t)json_integer_value(json_object_get(full, "pid"));
		v->started = parse_rfc3339(json_string_value(json_object_get(full, "startedAt")));
		v->created = parse_rfc3339(json_string_value(json_object_get(full, "createdAt")));
		v->restarts = (int)json_integer_value(json_object_get(full, "restarts"));
		snprintf(v->last_exit, sizeof(v->last_exit), "%s",
		         json_string_value(json_object_get(full, "lastExit")) ?: "");
		v->mocks = json_incref(json_object_get(full, "mocks"));
		if (json_is_null(v->mocks)) {
			json_decref(v->mocks);
			v->mocks = NULL;
		}
		json_decref(full);
	}
	json_decref(j);
	fprintf(stderr, "orchestrator: %d server(s) loaded from the admin node\n", O.n);
	return true;
}

/* ---- children ---- */

/* Starts the child of v (caller holds O.mu). Returns false with errno-ish text in err. */
static bool
start_child(server *v, char *err, size_t errlen)
{
	char spec[4096], log[4096], port[16];
	struct stat st;
	pid_t pid;

	path_of(spec, sizeof(spec), v->name, "spec");
	path_of(log, sizeof(log), v->name, "server.log");
	if (stat(log, &st) == 0 && st.st_size > LOG_LIMIT) {
		char old[4200];

		snprintf(old, sizeof(old), "%s.1", log);
		rename(log, old);
	}
	snprintf(port, sizeof(port), "%d", v->port);
	/* the environment is built before fork: the child only dup2s and execs */
	{
		static const char *const drop[] = {"HTTP_ADMIN_BASE_URL=", "NAMESPACE=", "HTTP_PORT=", "API_TOKEN=",
		                                   "SERVER_NAME=", "HTTP_BIND_ADDR=", "PORT=", "MOCKARTY_URL=",
		                                   "MOCKARTY_NAMESPACE=", "MOCKARTY_API_TOKEN=", "DASHBOARD_PORT="};
		extern char **environ;
		size_t n = 0, k = 0;
		char **envp, *own[8];
		char *argv[] = {(char *)O.gen_bin, "--type", v->type, "--spec", spec, "--name", v->name, NULL};

		while (environ[n])
			n++;
		envp = calloc(n + 10, sizeof(char *));
		if (envp == NULL) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			bool skip = false;

			for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
				skip |= strncmp(environ[i], drop[d], strlen(drop[d])) == 0;
			if (!skip)
				envp[k++] = environ[i];
		}
		if (asprintf(&own[0], "HTTP_ADMIN_BASE_URL=%s", O.admin_url) < 0 ||
		    asprintf(&own[1], "NAMESPACE=%s", v->ns) < 0 || asprintf(&own[2], "HTTP_PORT=%s", port) < 0 ||
		    asprintf(&own[3], "API_TOKEN=%s", O.token) < 0 || asprintf(&own[4], "SERVER_NAME=%s", v->name) < 0 ||
		    asprintf(&own[5], "HTTP_BIND_ADDR=%s", O.bind) < 0 || asprintf(&own[6], "DASHBOARD_PORT=0") < 0) {
			free(envp);
			snprintf(err, errlen, "out of memory");
			return false;
		}
		for (int i = 0; i < 7; i++)
			envp[k++] = own[i];
		envp[k] = NULL;
		pid = fork();
		if (pid == 0) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644), nul = open("/dev/null", O_RDONLY);
			sigset_t none;

			setsid();
			if (nul >= 0)
				dup2(nul, 0);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			for (int i = 3; i < 1024; i++)
				close(i);
			signal(SIGPIPE, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execve(O.gen_bin, argv, envp);
			_exit(127);
		}
		for (int i = 0; i < 7; i++)
			free(own[i]);
		free(envp);
	}
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return false;
	}
	v->pid = pid;
	v->own = true;
	v->started = time(NULL);
	save_state();
	return true;
}

/* Stops v's child: SIGTERM to its process group, SIGKILL after 5 s. Caller holds O.mu. */
static void
stop_child(server *v)
{
	pid_t pid = v->pid;

	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (v->own) {
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break;
		} else if (!pid_is_ours(pid)) {
			break;
		}
		usleep(50000);
		if (i == 99) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			if (v->own)
				waitpid(pid, NULL, 0);
		}
	}
	v->pid = 0;
	v->started = 0;
	snprintf(v->last_exit, sizeof(v->last_exit), "stopped");
}

/* One supervision pass: reap, notice deaths, restart with back-off. */
static void
supervise(void)
{
	time_t now = time(NULL);
	int status;
	pid_t pid;

	pthread_mutex_lock(&O.mu);
	for (int i = 0; i < O.n; i++) {
		server *v = &O.s[i];

		if (v->pid <= 0 || !v->own || (pid = waitpid(v->pid, &status, WNOHANG)) != v->pid)
			continue;
		if (WIFEXITED(status))
			snprintf(v->last_exit, sizeof(v->last_exit), "exit %d", WEXITSTATUS(status));
		else
			snprintf(v->last_exit, sizeof(v->last_exit), "signal %d", WTERMSIG(status));
		if (now - v->started > 60)
			v->backoff = 0;
		v->backoff = v->backoff ? (v->backoff * 2 > 30 ? 30 : v->backoff * 2) : 1;
		v->next_try = now + v->backoff;
		v->pid = 0;
		save_state();
	}
	for (int i = 0; i < O.n; i++) {
		server *v = &O.s[i];
		char err[256];

		if (v->pid > 0 && !v->own && !pid_is_ours(v->pid)) {
			snprintf(v->last_exit, sizeof(v->last_exit), "gone");
			v->backoff = 1;
			v->next_try = now + 1;
			v->pid = 0;
			save_state();
		}
		if (v->want_run && v->pid == 0 && now >= v->next_try) {
			if (v->started != 0 || v->last_exit[0])
				v->restarts++;
			if (!start_child(v, err, sizeof(err)))
				fprintf(stderr, "orchestrator: %s: %s\n", v->name, err);
		}
	}
	pthread_mutex_unlock(&O.mu);
}

/* At start-up: keep recorded children that still run as this server, forget the others. */
static void
adopt(void)
{
	for (int i = 0; i < O.n; i++) {
		server *v = &O.s[i];

		v->own = false;
		if (v->pid > 0 && pid_is_ours(v->pid) && health_names(v->port, v->name)) {
			fprintf(stderr, "orchestrator: %s: adopted running pid %d on port %d\n", v->name,
			        (int)v->pid, v->port);
			continue;
		}
		if (v->pid > 0)
			fprintf(stderr, "orchestrator: %s: recorded pid %d is not running it\n", v->name,
			        (int)v->pid);
		v->pid = 0;
		v->last_exit[0] = '\0';
		v->started = 0;
	}
	save_state();
}

/* ---- mocks through the admin node ---- */

/* Imports the stored spec of v (smart merge); returns the answer or an {error} object. */
static json_t *
import_spec(const char *name, const char *ns, const char *spec, const char *token)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "spec", spec, "namespace", ns, "serverName", name,
	                        "pathPrefix", "");
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, url[2048];
	struct body b = {0};
	long st;
	json_t *ans, *out;

	json_decref(req);
	if (text == NULL)
		return json_pack("{s:s}", "error", "spec: not valid UTF-8 text");
	snprintf(url, sizeof(url), "%s%s/api/v1/generators/openapi", O.admin_url,
	         O.admin_url[strlen(O.admin_url) - 1] == '/' ? "." : "");
	st = http(url, text, token, &b, 120);
	free(text);
	ans = json_loads(b.p ? b.p : "", 0, NULL);
	if (st >= 200 && st < 300 && json_is_object(ans)) {
		out = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "created", json_object_get(ans, "created"),
		                "updated", json_object_get(ans, "updated"), "skipped",
		                json_object_get(ans, "skipped"), "warnings", json_object_get(ans, "warnings"),
		                "errors", json_object_get(ans, "errors"));
	} else {
		char msg[1024];

		snprintf(msg, sizeof(msg), "the admin node answered %ld to POST /api/v1/generators/openapi: %.600s",
		         st, b.p ? b.p : "(no answer)");
		out = json_pack("{s:s, s:I}", "error", msg, "status", (json_int_t)st);
	}
	json_decref(ans);
	free(b.p);
	return out;
}

/* ---- HTTP ---- */

struct req {
	struct body b;
	bool too_big;
};

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *ctype, const char *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (strncmp(ctype, "text/html", 9) == 0) {
		MHD_add_response_header(r, "Content-Security-Policy",
		                        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
		                        "frame-ancestors 'none'; base-uri 'none'");
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
	}
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned code, json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT);
	enum MHD_Result rc = reply(c, code, "application/json", t ? t : "{}", t ? strlen(t) : 2);

	free(t);
	json_decref(j);
	return rc;
}

static enum MHD_Result
error(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(c, code, json_pack("{s:s, s:i}", "error", msg, "status", (int)code));
}

static bool
token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = (unsigned char)(la != lb);

	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return d == 0 && la > 0;
}

/* user tokens the admin node accepted lately (kept in memory only, 60 s) */
static struct {
	char tok[512];
	time_t until;
} accepted[32];

static size_t
slot_of(const char *t)
{
	size_t h = 5381;

	for (; *t; t++)
		h = h * 33 + (unsigned char)*t;
	return h % (sizeof(accepted) / sizeof(accepted[0]));
}

/* true when the admin node accepts the mk_ token (GET /api/v1/namespaces answers 200); cached 60 s */
static bool
admin_accepts(const char *tok)
{
	size_t k = slot_of(tok);
	time_t now = time(NULL);
	char url[2048];
	struct body b = {0};
	long st;

	pthread_mutex_lock(&O.mu);
	if (accepted[k].until > now && token_eq(accepted[k].tok, tok)) {
		pthread_mutex_unlock(&O.mu);
		return true;
	}
	pthread_mutex_unlock(&O.mu);
	snprintf(url, sizeof(url), "%s/api/v1/namespaces", O.admin_url);
	st = http(url, NULL, tok, &b, 10);
	free(b.p);
	if (st != 200)
		return false;
	pthread_mutex_lock(&O.mu);
	snprintf(accepted[k].tok, sizeof(accepted[k].tok), "%s", tok);
	accepted[k].until = now + 60;
	pthread_mutex_unlock(&O.mu);
	return true;
}

/*
 * The caller's credential: the orchestrator's own token (Bearer, X-API-Key or X-API-Token), the
 * UI session cookie, or an mk_ user token the admin node accepts. Returns the token imports run
 * with (the caller's mk_ token, else the orchestrator's), NULL when refused.
 */
static const char *
authorized(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *k = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
	const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Token");
	const char *ck = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "mockarty_orch");
	const char *tok = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : k ? k : t;

	if (ck && token_eq(ck, O.session))
		return O.token;
	if (tok == NULL || tok[0] == '\0')
		return NULL;
	if (token_eq(tok, O.token))
		return O.token;
	if (strncmp(tok, "mk_", 3) == 0 && strlen(tok) < 500 && admin_accepts(tok))
		return tok;
	return NULL;
}

static json_t *
server_json(const server *v)
{
	const char *status = v->pid > 0 ? "running" : v->want_run ? "restarting" : v->created ? "stopped" : "created";
	char url[128];

	snprintf(url, sizeof(url), "http://%s:%d", strcmp(O.bind, "0.0.0.0") == 0 ? "127.0.0.1" : O.bind, v->port);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:s?, s:I, s:O?}", "id",
	                 v->name, "name", v->name, "type", v->type, "status", status, "port", v->port, "url",
	                 url, "namespace", v->ns, "serverName", v->name, "pid", (json_int_t)v->pid,
	                 "startedAt", (json_int_t)v->started, "uptime",
	                 (json_int_t)(v->pid > 0 && v->started ? time(NULL) - v->started : 0), "restarts",
	                 v->restarts, "lastExit", v->last_exit[0] ? v->last_exit : NULL, "createdAt",
	                 (json_int_t)v->created, "mocks", v->mocks);
}

static bool
valid_name(const char *n)
{
	size_t l = strlen(n);

	if (l == 0 || l > 64 || n[0] == '.' || n[0] == '-')
		return false;
	for (size_t i = 0; i < l; i++)
		if (!(n[i] == '-' || n[i] == '_' || n[i] == '.' || (n[i] >= '0' && n[i] <= '9') ||
		      (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z')))
			return false;
	return true;
}

static bool
write_file(const char *p, const char *data, size_t len)
{
	FILE *f = fopen(p, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = false;
	return ok;
}

static enum MHD_Result
create_server(struct MHD_Connection *c, const char *body, const char *caller)
{
	json_error_t je;
	json_t *j = json_loads(body ? body : "", 0, &je), *mocks = NULL;
	const char *name, *type, *spec, *url, *ns;
	json_t *jp;
	int port = 0;
	bool create_mocks, auto_start;
	char dir[4096], sp[4096], *fetched = NULL;
	server *v;
	enum MHD_Result rc;

	if (!json_is_object(j))
		return error(c, 400, "the body is not a JSON object: %s (line %d)", je.text, je.line);
	name = json_string_value(json_object_get(j, "name"));
	type = json_string_value(json_object_get(j, "type"));
	spec = json_string_value(json_object_get(j, "spec"));
	url = json_string_value(json_object_get(j, "url"));
	if (url == NULL)
		url = json_string_value(json_object_get(j, "specUrl"));
	ns = json_string_value(json_object_get(j, "namespace"));
	jp = json_object_get(j, "port");
	create_mocks = !json_is_false(json_object_get(j, "createMocks"));
	auto_start = !json_is_false(json_object_get(j, "autoStart"));
	if (name == NULL || !valid_name(name)) {
		rc = error(c, 400, "$.name: required, 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -)");
		goto out;
	}
	if (type == NULL) {
		rc = error(c, 400, "$.type: required (openapi)");
		goto out;
	}
	if (strcasecmp(type, "openapi") != 0 && strcasecmp(type, "http") != 0 && strcasecmp(type, "rest") != 0 &&
	    strcasecmp(type, "swagger") != 0) {
		rc = error(c, 400, "$.type: unknown or not available server type \"%s\" (this build: openapi)", type);
		goto out;
	}
	if (ns == NULL || ns[0] == '\0')
		ns = "sandbox";
	if (strlen(ns) > 100 || strpbrk(ns, " /\"\\") != NULL) {
		rc = error(c, 400, "$.namespace: \"%s\" is not a namespace name", ns);
		goto out;
	}
	if (jp && !json_is_null(jp)) {
		if (!json_is_integer(jp) || json_integer_value(jp) < 1 || json_integer_value(jp) > 65535) {
			rc = error(c, 400, "$.port: expected an integer 1 to 65535");
			goto out;
		}
		port = (int)json_integer_value(jp);
	}
	if (url != NULL && url[0] != '\0' && (spec == NULL || spec[0] == '\0')) {
		/* the orchestrator fetches nothing on a caller's behalf: only the admin node's importer
		 * does, under its private-address guard (ALLOW_PROXY_TO_PRIVATE_IPS) */
		rc = error(c, 400, "$.url: not fetched by the orchestrator; send the spec text in $.spec (the "
		                   "admin node's POST /api/v1/generators/openapi imports from a URL)");
		goto out;
	}
	if (spec == NULL || spec[0] == '\0') {
		rc = error(c, 400, "$.spec: required (the spec text)");
		goto out;
	}
	pthread_mutex_lock(&O.mu);
	if (find(name) != NULL) {
		pthread_mutex_unlock(&O.mu);
		rc = error(c, 409, "$.name: a server named \"%s\" exists", name);
		goto out;
	}
	if (O.n >= MAX_SERVERS) {
		pthread_mutex_unlock(&O.mu);
		rc = error(c, 409, "at most %d servers", MAX_SERVERS);
		goto out;
	}
	if (port != 0) {
		if (port_taken_by_server(port, NULL) || !port_free(port)) {
			pthread_mutex_unlock(&O.mu);
			rc = error(c, 409, "$.port: %d is in use", port);
			goto out;
		}
	} else {
		for (int p = O.range_lo; p <= O.range_hi; p++)
			if (!port_taken_by_server(p, NULL) && port_free(p)) {
				port = p;
				break;
			}
		if (port == 0) {
			pthread_mutex_unlock(&O.mu);
			rc = error(c, 409, "$.port: no free port in the range %d-%d (ORCHESTRATOR_PORT_RANGE)",
			           O.range_lo, O.range_hi);
			goto out;
		}
	}
	snprintf(dir, sizeof(dir), "%s/servers/%s", O.dir, name);
	path_of(sp, sizeof(sp), name, "spec");
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || !write_file(sp, spec, strlen(spec))) {
		pthread_mutex_unlock(&O.mu);
		rc = error(c, 500, "cannot write %s: %s", sp, strerror(errno));
		goto out;
	}
	v = &O.s[O.n++];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->type, sizeof(v->type), "openapi");
	snprintf(v->ns, sizeof(v->ns), "%s", ns);
	v->port = port;
	v->created = time(NULL);
	{
		/* the definition goes to PostgreSQL first: a server the store refuses is not created */
		json_t *doc = store_doc(v);
		char msg[800];
		long st;

		json_object_set_new(doc, "spec", json_string(spec));
		json_object_set_new(doc, "desiredState", json_string(auto_start ? "running" : "stopped"));
		pthread_mutex_unlock(&O.mu);
		if (json_object_get(doc, "spec") == NULL)
			snprintf(msg, sizeof(msg), "$.spec: not valid UTF-8 text");
		st = json_object_get(doc, "spec") ? store_put(name, doc, msg, sizeof(msg)) : 400;
		json_decref(doc);
		pthread_mutex_lock(&O.mu);
		if (st != 200 && st != 201) {
			server *w = find(name);

			if (w)
				*w = O.s[--O.n];
			pthread_mutex_unlock(&O.mu);
			unlink(sp);
			rmdir(dir);
			if (st == 400 || st == 403 || st == 409)
				rc = error(c, st, "the admin node refused the server: %s", msg);
			else
				rc = error(c, 502, "cannot store the server on the admin node (PUT "
				                   "/api/v1/generated-servers/%s answered %ld): %s",
				           name, st, msg);
			goto out;
		}
		v = find(name);
		if (v == NULL) {
			pthread_mutex_unlock(&O.mu);
			rc = error(c, 409, "server \"%s\" was deleted meanwhile", name);
			goto out;
		}
	}
	save_state();
	pthread_mutex_unlock(&O.mu);
	if (create_mocks)
		mocks = import_spec(name, ns, spec, caller);
	pthread_mutex_lock(&O.mu);
	v = find(name);
	if (v == NULL) {
		pthread_mutex_unlock(&O.mu);
		json_decref(mocks);
		rc = error(c, 409, "server \"%s\" was deleted meanwhile", name);
		goto out;
	}
	json_decref(v->mocks);
	v->mocks = mocks;
	if (auto_start && v->pid == 0) {
		char err[256];

		v->want_run = true;
		start_child(v, err, sizeof(err));
	}
	save_state();
	{
		json_t *answer = server_json(v);

		pthread_mutex_unlock(&O.mu);
		store_push_one(name);
		rc = reply_json(c, 201, answer);
	}
out:
	free(fetched);
	json_decref(j);
	return rc;
}

/* tail: the last n lines of the server's log (at most 1 MB read) */
static char *
read_tail(const char *name, long n)
{
	char p[4096];
	FILE *f;
	long size, from;
	char *buf, *s;
	size_t got;

	path_of(p, sizeof(p), name, "server.log");
	if ((f = fopen(p, "rb")) == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	from = size > (1L << 20) ? size - (1L << 20) : 0;
	fseek(f, from, SEEK_SET);
	buf = malloc((size_t)(size - from) + 1);
	got = buf ? fread(buf, 1, (size_t)(size - from), f) : 0;
	fclose(f);
	if (buf == NULL)
		return strdup("");
	buf[got] = '\0';
	s = buf + got;
	if (s > buf && s[-1] == '\n')
		s--;
	while (s > buf && n > 0) {
		s--;
		if (*s == '\n')
			n--;
	}
	if (*s == '\n')
		s++;
	memmove(buf, s, strlen(s) + 1);
	return buf;
}

/* Writes the standalone project of v into a temp dir and tars it; returns the tar.gz path. */
static bool
make_tarball(const char *name, const char *ns, int port, char *out, size_t outlen, char *err, size_t errlen)
{
	char tmp[] = "/tmp/mockarty-orch-XXXXXX", proj[4200], sp[4096], cmd[1];
	gen_opts o = {.type = "openapi", .create_mocks = false, .mockarty_url = O.admin_url, .ns = ns,
	              .server_name = name, .path_prefix = "", .port = port};
	size_t len = 0;
	char *spec;
	pid_t pid;
	int status = -1;
	bool ok;

	(void)cmd;
	o.runtime_dir = getenv("MOCKARTY_RUNTIME_DIR") && getenv("MOCKARTY_RUNTIME_DIR")[0]
	                    ? getenv("MOCKARTY_RUNTIME_DIR")
	                    : MOCKARTY_RUNTIME_DIR;
	path_of(sp, sizeof(sp), name, "spec");
	if ((spec = gen_read_file(sp, &len)) == NULL || mkdtemp(tmp) == NULL) {
		free(spec);
		snprintf(err, errlen, "cannot read the stored spec or make a temp dir");
		return false;
	}
	snprintf(proj, sizeof(proj), "%s/%s", tmp, name);
	o.output = proj;
	o.input = sp;
	ok = gen_write_project(&o, spec, len);
	free(spec);
	snprintf(out, outlen, "%s.tar.gz", tmp);
	if (ok) {
		pid = fork();
		if (pid == 0) {
			int nul = open("/dev/null", O_WRONLY);

			if (nul >= 0)
				dup2(nul, 1);
			execlp("tar", "tar", "-czf", out, "-C", tmp, name, (char *)NULL);
			_exit(127);
		}
		ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!ok)
			snprintf(err, errlen, "tar failed");
	} else {
		snprintf(err, errlen, "the project writer failed (see the orchestrator's log)");
	}
	pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", tmp, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ok;
}

static enum MHD_Result
send_file(struct MHD_Connection *c, const char *path, const char *fname)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	struct MHD_Response *r;
	char disp[200];
	enum MHD_Result rc;

	unlink(path);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return error(c, 500, "cannot read the tarball");
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.tar.gz\"", fname);
	MHD_add_response_header(r, "Content-Type", "application/gzip");
	MHD_add_response_header(r, "Content-Disposition", disp);
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

static void
html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static enum MHD_Result
ui_page(struct MHD_Connection *c, bool authed)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	enum MHD_Result rc;

	fputs("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mockarty orchestrator"
	      "</title><style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse}"
	      "td,th{border:1px solid #999;padding:4px;vertical-align:top}pre{margin:0;max-width:60em;"
	      "overflow:auto;font-size:12px}button:focus,input:focus{outline:3px solid #06c}</style></head>"
	      "<body><h1>Generated servers</h1>",
	      f);
	if (!authed) {
		fputs("<form method=\"post\" action=\"/ui/login\"><label for=\"t\">API token</label> "
		      "<input id=\"t\" name=\"token\" type=\"password\" autocomplete=\"off\" autofocus> "
		      "<button type=\"submit\">Sign in</button></form></body></html>",
		      f);
	} else {
		fputs("<table><caption>Servers (refresh the page to update)</caption><thead><tr><th scope=\"col\">"
		      "Name</th><th scope=\"col\">Status</th><th scope=\"col\">Port</th><th scope=\"col\">Namespace"
		      "</th><th scope=\"col\">Uptime (s)</th><th scope=\"col\">Restarts</th><th scope=\"col\">Last "
		      "log lines</th><th scope=\"col\">Action</th></tr></thead><tbody>",
		      f);
		pthread_mutex_lock(&O.mu);
		for (int i = 0; i < O.n; i++) {
			server *v = &O.s[i];
			json_t *j = server_json(v);
			char *tail = read_tail(v->name, 5);

			fputs("<tr><td>", f);
			html_esc(f, v->name);
			fprintf(f, "</td><td>%s</td><td>%d</td><td>", json_string_value(json_object_get(j, "status")),
			        v->port);
			html_esc(f, v->ns);
			fprintf(f, "</td><td>%lld</td><td>%d</td><td><pre>",
			        (long long)json_integer_value(json_object_get(j, "uptime")), v->restarts);
			html_esc(f, tail);
			fprintf(f,
			        "</pre></td><td><form method=\"post\" action=\"/ui/servers/%s/%s\">"
			        "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><button type=\"submit\">%s</button>"
			        "</form></td></tr>",
			        v->name, v->want_run ? "stop" : "start", O.csrf,
			        v->want_run ? "Stop" : "Start");
			free(tail);
			json_decref(j);
		}
		pthread_mutex_unlock(&O.mu);
		fputs("</tbody></table></body></html>", f);
	}
	fclose(f);
	rc = reply(c, 200, "text/html; charset=utf-8", buf, len);
	free(buf);
	return rc;
}

/* same-origin: an Origin (or Referer) header, when present, must name this Host */
static bool
same_origin(struct MHD_Connection *c)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *p;

	if (o == NULL)
		o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Referer");
	if (o == NULL)
		return true;
	if (host == NULL)
		return false;
	p = strstr(o, "://");
	if (p == NULL)
		return false;
	p += 3;
	return strncmp(p, host, strlen(host)) == 0 && (p[strlen(host)] == '\0' || p[strlen(host)] == '/');
}

/* value of key in an application/x-www-form-urlencoded body (decoded into out) */
static bool
form_value(const char *body, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t n = 0;

			for (p += kl + 1; *p && *p != '&' && n + 1 < outlen; p++) {
				if (*p == '+')
					out[n++] = ' ';
				else if (*p == '%' && p[1] && p[2]) {
					char hx[3] = {p[1], p[2], 0};

					out[n++] = (char)strtol(hx, NULL, 16);
					p += 2;
				} else
					out[n++] = *p;
			}
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

static enum MHD_Result
redirect(struct MHD_Connection *c, const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Location", "/ui");
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	rc = MHD_queue_response(c, 303, r);
	MHD_destroy_response(r);
	return rc;
}

/* start/stop/regenerate/delete of one server; returns the HTTP status and fills *out */
static unsigned
act(const char *id, const char *op, const char *caller, json_t **out)
{
	server *v;
	char err[256];

	pthread_mutex_lock(&O.mu);
	v = find(id);
	if (v == NULL) {
		pthread_mutex_unlock(&O.mu);
		*out = json_pack("{s:s, s:i}", "error", "no server with this id", "status", 404);
		return 404;
	}
	if (strcmp(op, "start") == 0) {
		v->want_run = true;
		v->backoff = 0;
		v->next_try = 0;
		if (v->pid == 0) {
			if (port_taken_by_server(v->port, v) || !port_free(v->port)) {
				*out = json_pack("{s:s, s:i}", "error", "port: the server's port is in use", "status", 409);
				v->want_run = false;
				pthread_mutex_unlock(&O.mu);
				return 409;
			}
			start_child(v, err, sizeof(err));
		}
	} else if (strcmp(op, "stop") == 0) {
		v->want_run = false;
		stop_child(v);
	} else if (strcmp(op, "restart") == 0) {
		stop_child(v);
		v->want_run = true;
		v->backoff = 0;
		start_child(v, err, sizeof(err));
	} else if (strcmp(op, "regenerate") == 0) {
		char name[65], ns[128], sp[4096];
		size_t len;
		char *spec;
		json_t *m;

		snprintf(name, sizeof(name), "%s", v->name);
		snprintf(ns, sizeof(ns), "%s", v->ns);
		pthread_mutex_unlock(&O.mu);
		path_of(sp, sizeof(sp), name, "spec");
		spec = gen_read_file(sp, &len);
		m = spec ? import_spec(name, ns, spec, caller) : json_pack("{s:s}", "error", "the stored spec is gone");
		free(spec);
		pthread_mutex_lock(&O.mu);
		if ((v = find(name)) == NULL) {
			pthread_mutex_unlock(&O.mu);
			json_decref(m);
			*out = json_pack("{s:s, s:i}", "error", "no server with this id", "status", 404);
			return 404;
		}
		json_decref(v->mocks);
		v->mocks = m;
		if (json_object_get(m, "error") != NULL) {
			*out = json_pack("{s:s, s:i, s:O}", "error", "regenerate: the import failed", "status", 502,
			                 "mocks", m);
			save_state();
			pthread_mutex_unlock(&O.mu);
			return 502;
		}
		if (v->want_run || v->pid > 0) {
			stop_child(v);
			v->want_run = true;
			v->backoff = 0;
			start_child(v, err, sizeof(err));
		}
	} else if (strcmp(op, "delete") == 0) {
		char dir[4096];
		pid_t pid;

		v->want_run = false;
		stop_child(v);
		snprintf(dir, sizeof(dir), "%s/servers/%s", O.dir, v->name);
		{
			char name[65];

			snprintf(name, sizeof(name), "%s", v->name);
			*v = O.s[--O.n];
			save_state();
			pthread_mutex_unlock(&O.mu);
			store_delete(name);
		}
		pid = fork();
		if (pid == 0) {
			execlp("rm", "rm", "-rf", dir, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		*out = NULL;
		return 204;
	} else {
		pthread_mutex_unlock(&O.mu);
		*out = json_pack("{s:s, s:i}", "error", "unknown action (start, stop, restart, regenerate)", "status",
		                 404);
		return 404;
	}
	save_state();
	*out = server_json(v);
	{
		char name[65];

		snprintf(name, sizeof(name), "%s", v->name);
		pthread_mutex_unlock(&O.mu);
		store_push_one(name);
	}
	return 200;
}

static enum MHD_Result
route(struct MHD_Connection *c, const char *url, const char *method, const char *body)
{
	const char *rest = NULL, *caller;
	char id[128] = "", op[32] = "";
	json_t *out;
	unsigned st;

	if (strcmp(url, "/health") == 0 && strcmp(method, "GET") == 0) {
		int n, running = 0;

		pthread_mutex_lock(&O.mu);
		n = O.n;
		for (int i = 0; i < O.n; i++)
			running += O.s[i].pid > 0;
		pthread_mutex_unlock(&O.mu);
		return reply_json(c, 200, json_pack("{s:s, s:s, s:i, s:i}", "status", "pass", "mode",
		                                    O.ui_only ? "experimental-ui" : "orchestrator", "servers", n,
		                                    "running", running));
	}
	if (strcmp(url, "/") == 0 || strcmp(url, "/ui/") == 0)
		return redirect(c, NULL);
	if (strcmp(url, "/ui") == 0 && strcmp(method, "GET") == 0)
		return ui_page(c, authorized(c) != NULL);
	if (strcmp(url, "/ui/login") == 0 && strcmp(method, "POST") == 0) {
		char tok[600], cookie[200];

		if (!same_origin(c))
			return error(c, 403, "cross-origin form refused");
		if (!form_value(body ? body : "", "token", tok, sizeof(tok)) || !token_eq(tok, O.token))
			return error(c, 401, "token: not the orchestrator's API token");
		snprintf(cookie, sizeof(cookie), "mockarty_orch=%s; Path=/; HttpOnly; SameSite=Strict", O.session);
		return redirect(c, cookie);
	}
	if (strncmp(url, "/ui/servers/", 12) == 0 && strcmp(method, "POST") == 0) {
		char csrf[80];
		const char *slash = strrchr(url + 12, '/');

		if (authorized(c) == NULL)
			return error(c, 401, "sign in at /ui first");
		if (!same_origin(c))
			return error(c, 403, "cross-origin form refused");
		if (!form_value(body ? body : "", "csrf", csrf, sizeof(csrf)) || !token_eq(csrf, O.csrf))
			return error(c, 403, "csrf: missing or stale form token (reload /ui)");
		if (slash == NULL || (size_t)(slash - (url + 12)) >= sizeof(id) ||
		    (strcmp(slash + 1, "start") != 0 && strcmp(slash + 1, "stop") != 0))
			return error(c, 404, "unknown UI action");
		memcpy(id, url + 12, (size_t)(slash - (url + 12)));
		id[slash - (url + 12)] = '\0';
		st = act(id, slash + 1, O.token, &out);
		if (st >= 300)
			return reply_json(c, st, out);
		json_decref(out);
		return redirect(c, NULL);
	}
	if (strncmp(url, "/api/v1/servers", 15) == 0)
		rest = url + 15;
	else if (strncmp(url, "/api/servers", 12) == 0)
		rest = url + 12;
	if (rest == NULL)
		return error(c, 404, "no such path: %s (see docs/generator.md, Orchestrator)", url);
	if ((caller = authorized(c)) == NULL)
		return error(c, 401, "authentication required: the orchestrator's API token, or an mk_ token the admin node accepts, as Bearer");
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(method, "GET") == 0) {
			json_t *items = json_array();

			pthread_mutex_lock(&O.mu);
			for (int i = 0; i < O.n; i++)
				json_array_append_new(items, server_json(&O.s[i]));
			pthread_mutex_unlock(&O.mu);
			return reply_json(c, 200, json_pack("{s:o, s:I}", "items", items, "total",
			                                    (json_int_t)json_array_size(items)));
		}
		if (strcmp(method, "POST") == 0)
			return create_server(c, body, caller);
		return error(c, 405, "method %s not allowed on /api/servers (GET, POST)", method);
	}
	if (*rest != '/')
		return error(c, 404, "no such path: %s", url);
	rest++;
	{
		const char *sl = strchr(rest, '/');
		size_t n = sl ? (size_t)(sl - rest) : strlen(rest);

		if (n == 0 || n >= sizeof(id))
			return error(c, 404, "no such server");
		memcpy(id, rest, n);
		id[n] = '\0';
		if (sl) {
			if (strlen(sl + 1) >= sizeof(op) || strchr(sl + 1, '/'))
				return error(c, 404, "no such path: %s", url);
			snprintf(op, sizeof(op), "%s", sl + 1);
		}
	}
	if (op[0] == '\0') {
		if (strcmp(method, "GET") == 0) {
			server *v;

			pthread_mutex_lock(&O.mu);
			v = find(id);
			out = v ? server_json(v) : NULL;
			pthread_mutex_unlock(&O.mu);
			return out ? reply_json(c, 200, out) : error(c, 404, "no server \"%s\"", id);
		}
		if (strcmp(method, "DELETE") == 0) {
			st = act(id, "delete", caller, &out);
			if (out)
				return reply_json(c, st, out);
			return reply(c, 204, "application/json", "", 0);
		}
		return error(c, 405, "method %s not allowed on a server (GET, DELETE)", method);
	}
	if (strcmp(op, "logs") == 0 && strcmp(method, "GET") == 0) {
		const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tail");
		long n = t ? strtol(t, NULL, 10) : 100;
		bool known;
		char *text;
		enum MHD_Result rc;

		if (n < 1 || n > 10000)
			return error(c, 400, "tail: expected 1 to 10000");
		pthread_mutex_lock(&O.mu);
		known = find(id) != NULL;
		pthread_mutex_unlock(&O.mu);
		if (!known)
			return error(c, 404, "no server \"%s\"", id);
		text = read_tail(id, n);
		rc = reply(c, 200, "text/plain; charset=utf-8", text, strlen(text));
		free(text);
		return rc;
	}
	if (strcmp(op, "download") == 0 && strcmp(method, "GET") == 0) {
		char ns[128], tar[4200], err[256];
		int port;
		server *v;

		pthread_mutex_lock(&O.mu);
		v = find(id);
		if (v) {
			snprintf(ns, sizeof(ns), "%s", v->ns);
			port = v->port;
		}
		pthread_mutex_unlock(&O.mu);
		if (v == NULL)
			return error(c, 404, "no server \"%s\"", id);
		if (!make_tarball(id, ns, port, tar, sizeof(tar), err, sizeof(err)))
			return error(c, 500, "download: %s", err);
		return send_file(c, tar, id);
	}
	if (strcmp(method, "POST") != 0)
		return error(c, 405, "use POST for %s", op);
	st = act(id, op, caller, &out);
	return reply_json(c, st, out);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
           const char *data, size_t *size, void **ctx)
{
	struct req *r = *ctx;

	(void)cls;
	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*ctx = r;
		return MHD_YES;
	}
	if (*size) {
		if (r->b.n + *size > MAX_BODY)
			r->too_big = true;
		else
			collect((char *)data, 1, *size, &r->b);
		*size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return error(c, 413, "the body exceeds 16 MB");
	return route(c, url, method, r->b.p);
}

static void
on_done(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode t)
{
	struct req *r = *ctx;

	(void)cls;
	(void)c;
	(void)t;
	if (r) {
		free(r->b.p);
		free(r);
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	O.stop = 1;
}

static int
ofail(const char *fmt, const char *a)
{
	fprintf(stderr, "mockarty-server-generator orchestrator: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	return 2;
}

int
gen_orchestrator_main(int argc, char **argv, bool ui_only)
{
	const char *port = getenv("PORT"), *range = getenv("ORCHESTRATOR_PORT_RANGE");
	struct MHD_Daemon *d;
	struct sockaddr_in a = {.sin_family = AF_INET};
	char p[4096];
	long pn;
	char *end;

	O.ui_only = ui_only;
	O.token = getenv("API_TOKEN") && getenv("API_TOKEN")[0] ? getenv("API_TOKEN") : getenv("MOCKARTY_API_TOKEN");
	O.admin_url = getenv("MOCKARTY_URL") && getenv("MOCKARTY_URL")[0] ? getenv("MOCKARTY_URL")
	              : getenv("HTTP_ADMIN_BASE_URL")                     ? getenv("HTTP_ADMIN_BASE_URL")
	                                                                  : "http://localhost:5770";
	O.bind = getenv("HTTP_BIND_ADDR") && getenv("HTTP_BIND_ADDR")[0] ? getenv("HTTP_BIND_ADDR") : "127.0.0.1";
	O.dir = getenv("ORCHESTRATOR_DATA_DIR") && getenv("ORCHESTRATOR_DATA_DIR")[0] ? getenv("ORCHESTRATOR_DATA_DIR")
	                                                                             : "./orchestrator-data";
	O.gen_bin = getenv("MOCKARTY_GEN_SERVER") && getenv("MOCKARTY_GEN_SERVER")[0] ? getenv("MOCKARTY_GEN_SERVER")
	                                                                             : NULL;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *val, *eq;
		char name[64];
		size_t n;

		if (f[0] != '-')
			return ofail("unexpected argument \"%s\"", f);
		f += f[1] == '-' ? 2 : 1;
		if (strcmp(f, "help") == 0 || strcmp(f, "h") == 0) {
			printf("usage: mockarty-server-generator orchestrator|experimental-ui -port 8888 "
			       "-api-token TOKEN -mockarty-url URL [-bind ADDR] [-data-dir DIR] "
			       "[-port-range LO-HI] [-gen-server BIN]\n(see docs/generator.md, Orchestrator)\n");
			return 0;
		}
		eq = strchr(f, '=');
		n = eq ? (size_t)(eq - f) : strlen(f);
		if (n >= sizeof(name))
			return ofail("unknown flag \"%s\"", argv[i]);
		memcpy(name, f, n);
		name[n] = '\0';
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return ofail("flag -%s needs a value", name);
		if (strcmp(name, "port") == 0)
			port = val;
		else if (strcmp(name, "api-token") == 0)
			O.token = val;
		else if (strcmp(name, "mockarty-url") == 0)
			O.admin_url = val;
		else if (strcmp(name, "bind") == 0)
			O.bind = val;
		else if (strcmp(name, "data-dir") == 0)
			O.dir = val;
		else if (strcmp(name, "port-range") == 0)
			range = val;
		else if (strcmp(name, "gen-server") == 0)
			O.gen_bin = val;
		else
			return ofail("unknown flag \"-%s\"", name);
	}
	pn = port ? strtol(port, &end, 10) : 8888;
	if (port && (*port == '\0' || *end != '\0' || pn < 1 || pn > 65535))
		return ofail("-port: expected 1 to 65535, got \"%s\"", port);
	O.port = (int)pn;
	if (O.token == NULL || O.token[0] == '\0')
		return ofail("-api-token is required (or API_TOKEN): %s", "an mk_ token of role editor or admin");
	if (strlen(O.token) > 500)
		return ofail("-api-token: too long%s", "");
	if (strncmp(O.admin_url, "http://", 7) != 0 && strncmp(O.admin_url, "https://", 8) != 0)
		return ofail("-mockarty-url: expected an http:// or https:// URL, got \"%s\"", O.admin_url);
	O.range_lo = 9100;
	O.range_hi = 9199;
	if (range && (sscanf(range, "%d-%d", &O.range_lo, &O.range_hi) != 2 || O.range_lo < 1 ||
	              O.range_hi > 65535 || O.range_lo > O.range_hi))
		return ofail("-port-range (ORCHESTRATOR_PORT_RANGE): expected LO-HI, got \"%s\"", range);
	if (inet_pton(AF_INET, O.bind, &a.sin_addr) != 1)
		return ofail("-bind (HTTP_BIND_ADDR): expected an IPv4 address, got \"%s\"", O.bind);
	if (O.gen_bin == NULL) {
		static char bin[4096];
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n > 0) {
			self[n] = '\0';
			*strrchr(self, '/') = '\0';
			snprintf(bin, sizeof(bin), "%s/mockarty-gen-server", self);
		}
		O.gen_bin = bin;
	}
	if (access(O.gen_bin, X_OK) != 0)
		return ofail("-gen-server (MOCKARTY_GEN_SERVER): \"%s\" is not an executable", O.gen_bin);
	snprintf(p, sizeof(p), "%s/servers", O.dir);
	if ((mkdir(O.dir, 0755) != 0 && errno != EEXIST) || (mkdir(p, 0755) != 0 && errno != EEXIST))
		return ofail("-data-dir: cannot create \"%s\"", O.dir);
	rand_hex(O.csrf, 16);
	rand_hex(O.session, 32);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!store_load()) {
		fprintf(stderr, "orchestrator: using the local copy %s/servers.json until the admin node answers\n",
		        O.dir);
		load_state();
	}
	O.store_ok = true;
	adopt();
	a.sin_port = htons((uint16_t)O.port);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	                     (uint16_t)O.port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &a,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	                     (unsigned)60, MHD_OPTION_END);
	if (d == NULL)
		return ofail("cannot listen on port %s (in use?)", port ? port : "8888");
	fprintf(stderr, "mockarty-server-generator %s: listening on %s:%d, data in %s, %d server(s)\n",
	        ui_only ? "experimental-ui" : "orchestrator", O.bind, O.port, O.dir, O.n);
	while (!O.stop) {
		supervise();
		store_push();
		usleep(200000);
	}
	/* children keep running: a restarted orchestrator adopts them */
	MHD_stop_daemon(d);
	pthread_mutex_lock(&O.mu);
	save_state();
	pthread_mutex_unlock(&O.mu);
	store_push();
	curl_global_cleanup();
	return 0;
}
