/*
 * grpc_descriptors.c - REST for gRPC descriptor sets and the gRPC generator:
 * /api/v1/grpc/descriptors (upload, list, get, versions, delete) and
 * /api/v1/generators/grpc and its preview.
 *
 * A descriptor set arrives as .proto files (multipart parts whose filename keeps the
 * relative path, or a proto text in the generator's JSON body), as a zip of .proto
 * files, or as a FileDescriptorSet itself (application/octet-stream, or a part named
 * *.pb / *.desc / of type application/octet-stream). .proto files are compiled by
 * Debian's protoc into a private temporary directory: argv only (never a shell), file
 * names checked before anything is written, a time and output bound on every child.
 * The set then goes to one SQL call (sql/install/16_grpc_descriptors.sql), which loads
 * it through core before storing it, so REST and SQL keep the same sets.
 */
#include "rest/handlers.h"

#include "node/multipart.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GD_MAX_PARTS 300             /* multipart parts of one upload */
#define GD_MAX_FILES 256             /* .proto files compiled at once */
#define GD_MAX_PATH 255              /* length of one relative file name */
#define GD_ZIP_MAX_ENTRIES 1000      /* entries of an uploaded zip */
#define GD_ZIP_MAX_BYTES (64u << 20) /* its uncompressed size */
#define GD_SET_MAX (32u << 20)       /* a descriptor set protoc may write */
#define GD_CHILD_OUTPUT 65536        /* bytes of a child's stdout+stderr kept */
#define GD_CHILD_TIMEOUT_MS 30000    /* protoc or unzip, wall clock */
#define GD_PROTOC "/usr/bin/protoc"
#define GD_UNZIP "/usr/bin/unzip"
#define GD_WKT_DIR "/usr/include" /* libprotobuf-dev: the well-known types */

/* What one request uploaded: the files written into dir, or a set as given. */
typedef struct {
	char dir[256];             /* the private temporary directory ("" until made) */
	char *files[GD_MAX_FILES]; /* relative names of the .proto files to compile */
	int nfiles;
	const char *set; /* a FileDescriptorSet given directly (borrowed) */
	size_t set_len;
	json_t *opts; /* namespace, serverName, prune, dryRun */
} gd_upload;

static int
gd_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
gd_free(gd_upload *u)
{
	if (u->dir[0])
		nftw(u->dir, gd_rm, 16, FTW_DEPTH | FTW_PHYS);
	for (int i = 0; i < u->nfiles; i++)
		free(u->files[i]);
	json_decref(u->opts);
	memset(u, 0, sizeof(*u));
}

static void
gd_fail(api_req *req, api_resp *resp, const char *field, const char *fmt, const char *arg)
{
	api_error(req, resp, 400, "validation", fmt, arg);
	json_object_set_new(resp->json, "field", json_string(field));
}

/*
 * A relative file name an upload may create: segments of [A-Za-z0-9_.-], no empty
 * segment, no "." or "..", no leading "/", at most GD_MAX_PATH bytes.
 */
static bool
gd_name_ok(const char *name, size_t n)
{
	size_t seg = 0;

	if (n == 0 || n > GD_MAX_PATH || name[0] == '/')
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || name[i] == '/') {
			if (seg == 0 || (seg == 1 && name[i - 1] == '.') ||
			    (seg == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
				return false;
			seg = 0;
			continue;
		}
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '.' ||
		      name[i] == '-'))
			return false;
		seg++;
	}
	return true;
}

static bool
gd_ends(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

static bool
gd_mkdir(gd_upload *u)
{
	const char *tmp = getenv("TMPDIR");

	if (u->dir[0])
		return true;
	snprintf(u->dir, sizeof(u->dir), "%s/mockarty-proto-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(u->dir) == NULL) {
		u->dir[0] = '\0';
		return false;
	}
	return true;
}

/* Writes data as dir/name, making parent directories; false on an I/O error. */
static bool
gd_write(gd_upload *u, const char *name, const char *data, size_t len)
{
	char path[600];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", u->dir, name);
	for (char *p = path + strlen(u->dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				return false;
			*p = '/';
		}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = true;
	for (size_t off = 0; ok && off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w <= 0)
			ok = false;
		else
			off += (size_t)w;
	}
	return close(fd) == 0 && ok;
}

static bool
gd_add_file(gd_upload *u, const char *name, size_t n)
{
	if (u->nfiles >= GD_MAX_FILES)
		return false;
	u->files[u->nfiles] = strndup(name, n);
	if (u->files[u->nfiles] == NULL)
		return false;
	u->nfiles++;
	return true;
}

/*
 * Runs argv[0] (an absolute path; never a shell) in cwd with stdin from /dev/null and
 * stdout+stderr into out (at most cap-1 bytes kept, NUL-terminated; the rest is
 * drained). Killed after GD_CHILD_TIMEOUT_MS. Returns the exit status (0 = success),
 * -2 on timeout, -1 when it could not run.
 */
static int
gd_run(char *const argv[], const char *cwd, char *out, size_t cap)
{
	int pipefd[2], status = 0;
	size_t used = 0;
	pid_t pid;
	struct timespec start, now;
	bool timed_out = false;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec */
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (chdir(cwd) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		long left;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = GD_CHILD_TIMEOUT_MS -
		       ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L);
		if (left <= 0) {
			timed_out = true;
			break;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = r == 0;
			break;
		}
		{
			char buf[4096];
			ssize_t n = read(pipefd[0], buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* EOF: the child closed its output */
			if (used + 1 < cap) {
				size_t k = (size_t)n < cap - 1 - used ? (size_t)n : cap - 1 - used;

				memcpy(out + used, buf, k);
				used += k;
				out[used] = '\0';
			}
		}
	}
	close(pipefd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return -2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
gd_no_links(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	return flag == FTW_SL || flag == FTW_SLN || (flag == FTW_F && !S_ISREG(st->st_mode)) ? 1 : 0;
}

/*
 * Unpacks an uploaded zip into the upload's directory after checking its listing:
 * at most GD_ZIP_MAX_ENTRIES entries, GD_ZIP_MAX_BYTES uncompressed, every name a
 * valid relative name (directories end in "/"); its .proto entries are compiled.
 */
static bool
gd_unzip(api_req *req, api_resp *resp, gd_upload *u, const char *data, size_t len)
{
	static int seq;
	char zipname[64], out[GD_CHILD_OUTPUT], *line, *save = NULL;
	unsigned long long total = 0;
	int entries = 0, rc;

	snprintf(zipname, sizeof(zipname), ".upload-%d.zip", __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	if (!gd_write(u, zipname, data, len)) {
		api_error(req, resp, 500, "internal", "cannot write the uploaded zip to a temporary file");
		return false;
	}
	{
		char *argv[] = {GD_UNZIP, "-Zt", zipname, NULL};
		const char *p;

		rc = gd_run(argv, u->dir, out, sizeof(out));
		/* the summary line: "N file(s), BYTES bytes uncompressed, ..." */
		p = strstr(out, " bytes uncompressed");
		while (p && p > out && p[-1] >= '0' && p[-1] <= '9')
			p--;
		if (rc != 0 || p == NULL || sscanf(p, "%llu bytes uncompressed", &total) != 1) {
			gd_fail(req, resp, "zip", "zip: not a readable zip archive (%.200s)", out);
			return false;
		}
		if (total > GD_ZIP_MAX_BYTES) {
			gd_fail(req, resp, "zip", "zip: %s uncompressed is over the limit of 64 MB",
			        strtok(out, "\n"));
			return false;
		}
	}
	{
		char *argv[] = {GD_UNZIP, "-Z1", zipname, NULL};

		rc = gd_run(argv, u->dir, out, sizeof(out));
		if (rc != 0) {
			gd_fail(req, resp, "zip", "zip: cannot list the archive (%.200s)", out);
			return false;
		}
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		if (++entries > GD_ZIP_MAX_ENTRIES) {
			gd_fail(req, resp, "zip", "zip: more than %s entries", "1000");
			return false;
		}
		if (n > 0 && line[n - 1] == '/')
			n--;
		if (!gd_name_ok(line, n)) {
			gd_fail(req, resp, "zip",
			        "zip: entry \"%.200s\" is not a relative path of letters, digits, '_', '.' "
			        "and '-' "
			        "(no absolute paths, no \"..\")",
			        line);
			return false;
		}
		if (line[n] != '/' && gd_ends(line, n, ".proto") && !gd_add_file(u, line, n)) {
			gd_fail(req, resp, "zip", "zip: more than %s .proto files", "256");
			return false;
		}
	}
	{
		char *argv[] = {GD_UNZIP, "-q", "-n", zipname, NULL};

		rc = gd_run(argv, u->dir, out, sizeof(out));
		if (rc != 0) {
			gd_fail(req, resp, "zip", "zip: cannot unpack the archive (%.200s)", out);
			return false;
		}
	}
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/%s", u->dir, zipname);
		unlink(path);
	}
	/* a zip may carry symbolic links: none may lead protoc out of the directory */
	if (nftw(u->dir, gd_no_links, 16, FTW_PHYS) != 0) {
		gd_fail(req, resp, "zip", "zip: the archive contains a symbolic link or special file%s", "");
		return false;
	}
	return true;
}

/* Sets opts[key] from a form field: dryRun and prune as booleans, others as strings. */
static bool
gd_option(api_req *req, api_resp *resp, json_t *opts, const char *key, const char *v, size_t n)
{
	if (strcmp(key, "dryRun") != 0 && strcmp(key, "prune") != 0) {
		json_object_set_new(opts, key, json_stringn(v, n));
		return true;
	}
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 1 && v[0] == '1'))
		json_object_set_new(opts, key, json_true());
	else if ((n == 5 && memcmp(v, "false", 5) == 0) || (n == 1 && v[0] == '0') || n == 0)
		json_object_set_new(opts, key, json_false());
	else {
		gd_fail(req, resp, key, "%s: must be true or false", key);
		return false;
	}
	return true;
}

static const char *const gd_keys[] = {"namespace", "serverName", "prune", "dryRun", NULL};

/*
 * Reads what the request uploaded into u: a multipart form (fields namespace,
 * serverName, prune, dryRun; file parts: .proto with their relative names, .zip,
 * .pb/.desc or application/octet-stream = a descriptor set), an
 * application/octet-stream body (a descriptor set), or, when json_ok, a JSON object
 * with spec or protoContent (one self-contained .proto), fileName, namespace,
 * serverName, prune. Query parameters of the same names act as defaults. False with
 * a 400 naming the field.
 */
static bool
gd_collect(api_req *req, api_resp *resp, gd_upload *u, bool json_ok)
{
	const char *ctype = api_header(req, "content-type");
	char boundary[72];

	u->opts = json_object();
	for (int i = 0; gd_keys[i]; i++) {
		const char *v = api_query(req, gd_keys[i]);

		if (v && !gd_option(req, resp, u->opts, gd_keys[i], v, strlen(v)))
			return false;
	}
	if (mp_boundary(ctype, boundary, sizeof(boundary))) {
		mp_part parts[GD_MAX_PARTS];
		const char *msg = NULL;
		int n =
		    req->body ? mp_parse(req->body, req->body_len, boundary, parts, GD_MAX_PARTS, &msg) : -1;

		if (n < 0) {
			gd_fail(req, resp, "body", "body: %s", msg ? msg : "the multipart body is empty");
			return false;
		}
		for (int i = 0; i < n; i++) {
			const mp_part *p = &parts[i];
			char fname[GD_MAX_PATH + 1];
			bool is_set;

			if (p->filename == NULL) {
				for (int k = 0; p->name && gd_keys[k]; k++)
					if (p->name_len == strlen(gd_keys[k]) &&
					    memcmp(p->name, gd_keys[k], p->name_len) == 0 &&
					    !gd_option(req, resp, u->opts, gd_keys[k], p->data, p->len))
						return false;
				continue;
			}
			snprintf(fname, sizeof(fname), "%.*s",
			         (int)(p->filename_len > GD_MAX_PATH ? GD_MAX_PATH : p->filename_len),
			         p->filename);
			is_set = gd_ends(p->filename, p->filename_len, ".pb") ||
			         gd_ends(p->filename, p->filename_len, ".desc") ||
			         gd_ends(p->filename, p->filename_len, ".protoset") ||
			         (p->ctype && p->ctype_len >= 24 &&
			          strncasecmp(p->ctype, "application/octet-stream", 24) == 0 &&
			          !gd_ends(p->filename, p->filename_len, ".zip") &&
			          !gd_ends(p->filename, p->filename_len, ".proto"));
			if (is_set) {
				if (u->set) {
					gd_fail(req, resp, "files",
					        "files: more than one descriptor set uploaded (%s)", fname);
					return false;
				}
				u->set = p->data;
				u->set_len = p->len;
				continue;
			}
			if (gd_ends(p->filename, p->filename_len, ".zip")) {
				if (!gd_mkdir(u)) {
					api_error(req, resp, 500, "internal",
					          "cannot create a temporary directory");
					return false;
				}
				if (!gd_unzip(req, resp, u, p->data, p->len))
					return false;
				continue;
			}
			if (!gd_ends(p->filename, p->filename_len, ".proto")) {
				gd_fail(req, resp, "files",
				        "files: \"%s\" is neither a .proto file, a .zip of them nor a "
				        "descriptor set "
				        "(.pb, .desc, application/octet-stream)",
				        fname);
				return false;
			}
			if (!gd_name_ok(p->filename, p->filename_len) || p->filename_len > GD_MAX_PATH) {
				gd_fail(req, resp, "files",
				        "files: \"%s\" is not a relative path of letters, digits, '_', '.' "
				        "and '-' "
				        "(no absolute paths, no \"..\")",
				        fname);
				return false;
			}
			if (!gd_mkdir(u)) {
				api_error(req, resp, 500, "internal", "cannot create a temporary directory");
				return false;
			}
			if (!gd_add_file(u, p->filename, p->filename_len)) {
				gd_fail(req, resp, "files", "files: more than %s .proto files", "256");
				return false;
			}
			if (!gd_write(u, fname, p->data, p->len)) {
				gd_fail(req, resp, "files",
				        "files: \"%s\" is uploaded twice or cannot be written", fname);
				return false;
			}
		}
	} else if (ctype && (strncasecmp(ctype, "application/octet-stream", 24) == 0 ||
	                     strncasecmp(ctype, "application/x-protobuf", 22) == 0)) {
		u->set = req->body;
		u->set_len = req->body ? req->body_len : 0;
	} else if (json_ok) {
		json_t *body = rest_body_object(req, resp), *v;
		const char *spec, *fname, *key;

		if (body == NULL)
			return false;
		spec = json_string_value(json_object_get(body, "spec"));
		if (spec == NULL || spec[0] == '\0')
			spec = json_string_value(json_object_get(body, "protoContent"));
		if (spec == NULL || spec[0] == '\0') {
			gd_fail(req, resp, "spec",
			        "spec: the .proto text (spec or protoContent) is required%s", "");
			return false;
		}
		fname = json_string_value(json_object_get(body, "fileName"));
		if (fname == NULL || fname[0] == '\0')
			fname = "service.proto";
		if (!gd_name_ok(fname, strlen(fname)) || !gd_ends(fname, strlen(fname), ".proto")) {
			gd_fail(req, resp, "fileName",
			        "fileName: \"%.200s\" is not a relative .proto path (no absolute paths, no "
			        "\"..\")",
			        fname);
			return false;
		}
		json_object_foreach (body, key, v) {
			if (strcmp(key, "namespace") == 0 || strcmp(key, "serverName") == 0) {
				if (!json_is_string(v) && !json_is_null(v)) {
					gd_fail(req, resp, key, "%s: must be a string", key);
					return false;
				}
				if (json_is_string(v) && json_string_length(v) > 0)
					json_object_set(u->opts, key, v);
			} else if (strcmp(key, "prune") == 0) {
				if (!json_is_boolean(v)) {
					gd_fail(req, resp, key, "%s: must be a boolean", key);
					return false;
				}
				json_object_set(u->opts, key, v);
			}
		}
		if (!gd_mkdir(u) || !gd_add_file(u, fname, strlen(fname)) ||
		    !gd_write(u, fname, spec, strlen(spec))) {
			api_error(req, resp, 500, "internal",
			          "cannot write the .proto text to a temporary file");
			return false;
		}
	} else {
		gd_fail(
		    req, resp, "Content-Type",
		    "Content-Type: must be multipart/form-data (.proto files, a zip or a descriptor set) or "
		    "application/octet-stream (a FileDescriptorSet)%s",
		    json_ok ? ", or JSON with spec" : "");
		return false;
	}
	if (u->set && u->nfiles > 0) {
		gd_fail(req, resp, "files",
		        "files: upload either .proto files or a descriptor set, not both%s", "");
		return false;
	}
	if (u->set == NULL && u->nfiles == 0) {
		gd_fail(req, resp, "files",
		        "files: nothing to compile: upload .proto files, a zip of them or a descriptor set%s",
		        "");
		return false;
	}
	if (u->set && u->set_len == 0) {
		gd_fail(req, resp, "descriptorSet", "descriptorSet: the descriptor set is empty%s", "");
		return false;
	}
	if (json_object_get(u->opts, "namespace") == NULL) {
		const char *ns = api_query(req, "namespace");

		if (ns == NULL || ns[0] == '\0')
			ns = api_header(req, "x-namespace");
		if (ns == NULL || ns[0] == '\0')
			ns = rest_token_ns(req);
		if (ns && ns[0])
			json_object_set_new(u->opts, "namespace", json_string(ns));
	}
	return true;
}

/*
 * The descriptor set of an upload as the hex bytea literal "\x..." (malloc'd), compiling
 * the .proto files with protoc when no set was given. NULL with resp set: protoc's
 * errors are a 400 whose message quotes them (file:line:col: ...).
 */
static char *
gd_set_hex(api_req *req, api_resp *resp, gd_upload *u)
{
	const unsigned char *set = (const unsigned char *)u->set;
	size_t len = u->set_len;
	unsigned char *compiled = NULL;
	char *hex;

	if (set == NULL) {
		char *argv[GD_MAX_FILES + 8], out[GD_CHILD_OUTPUT], setpath[600];
		int argc = 0, rc;
		struct stat st;
		FILE *f;

		argv[argc++] = GD_PROTOC;
		argv[argc++] = "--include_imports";
		argv[argc++] = "--descriptor_set_out=.descriptor_set.pb";
		argv[argc++] = "-I.";
		if (access(GD_WKT_DIR "/google/protobuf/timestamp.proto", R_OK) == 0)
			argv[argc++] = "-I" GD_WKT_DIR;
		for (int i = 0; i < u->nfiles; i++)
			argv[argc++] = u->files[i];
		argv[argc] = NULL;
		rc = gd_run(argv, u->dir, out, sizeof(out));
		if (rc != 0) {
			size_t n = strlen(out);

			while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
				out[--n] = '\0';
			if (rc == -2)
				api_error(req, resp, 400, "validation", "protoc did not finish within %d s",
				          GD_CHILD_TIMEOUT_MS / 1000);
			else if (rc < 0 || rc == 127)
				api_error(req, resp, 500, "internal",
				          "cannot run %s (install protobuf-compiler)", GD_PROTOC);
			else
				api_error(req, resp, 400, "validation", "protoc: %s",
				          n ? out : "failed without a message");
			if (resp->status == 400) {
				json_t *lines = json_array();
				char *save = NULL;

				for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
					if (json_array_size(lines) < 50)
						json_array_append_new(lines, json_string(l));
				json_object_set_new(resp->json, "field", json_string("files"));
				json_object_set_new(resp->json, "details", lines);
			}
			return NULL;
		}
		snprintf(setpath, sizeof(setpath), "%s/.descriptor_set.pb", u->dir);
		if (stat(setpath, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > GD_SET_MAX ||
		    (f = fopen(setpath, "rb")) == NULL) {
			api_error(req, resp, 400, "validation",
			          "protoc wrote no usable descriptor set (over 32 MB?)");
			return NULL;
		}
		compiled = malloc((size_t)st.st_size);
		len = compiled ? fread(compiled, 1, (size_t)st.st_size, f) : 0;
		fclose(f);
		if (compiled == NULL || len != (size_t)st.st_size) {
			free(compiled);
			api_error(req, resp, 500, "internal", "cannot read the compiled descriptor set");
			return NULL;
		}
		set = compiled;
	}
	hex = malloc(2 * len + 3);
	if (hex) {
		static const char digits[] = "0123456789abcdef";

		hex[0] = '\\';
		hex[1] = 'x';
		for (size_t i = 0; i < len; i++) {
			hex[2 + 2 * i] = digits[set[i] >> 4];
			hex[3 + 2 * i] = digits[set[i] & 15];
		}
		hex[2 + 2 * len] = '\0';
	} else
		api_error(req, resp, 500, "internal", "out of memory");
	free(compiled);
	return hex;
}

static const char *
gd_opt(const gd_upload *u, const char *key)
{
	return json_string_value(json_object_get(u->opts, key));
}

/*
 * POST /api/v1/grpc/descriptors: stores an uploaded set (multipart .proto files, a zip
 * or a descriptor set; application/octet-stream) as the next version of (namespace,
 * serverName). 201 with its description, 200 when equal to the latest version.
 */
void
rest_grpc_descriptor_upload(api_req *req, api_resp *resp)
{
	gd_upload u = {0};
	char *hex = NULL;
	json_t *out = NULL;

	if (gd_collect(req, resp, &u, false) && (hex = gd_set_hex(req, resp, &u)) != NULL) {
		const char *params[3] = {gd_opt(&u, "namespace"), gd_opt(&u, "serverName"), hex};

		if (params[1] == NULL || params[1][0] == '\0')
			gd_fail(req, resp, "serverName", "serverName: the gRPC server name is required%s",
			        "");
		else if (db_json(req, resp,
		                 "SELECT mockarty.grpc_descriptor_store(coalesce($1, "
		                 "mockarty_private.caller_namespace(), "
		                 "'sandbox'), $2, $3::bytea)",
		                 3, params, &out))
			api_json(resp, json_is_true(json_object_get(out, "unchanged")) ? 200 : 201, out);
	}
	free(hex);
	gd_free(&u);
}

/* The namespace of a read: ?namespace=, X-Namespace, the token's, else NULL. */
static const char *
gd_read_ns(const api_req *req)
{
	const char *ns = api_query(req, "namespace");

	if (ns == NULL || ns[0] == '\0')
		ns = api_header(req, "x-namespace");
	if (ns == NULL || ns[0] == '\0')
		ns = rest_token_ns(req);
	return ns && ns[0] ? ns : NULL;
}

/* GET /api/v1/grpc/descriptors[?namespace=]: the latest version of every set. */
void
rest_grpc_descriptor_list(api_req *req, api_resp *resp)
{
	const char *params[1] = {gd_read_ns(req)};
	json_t *out = NULL;

	if (db_json(req, resp, "SELECT mockarty.grpc_descriptor_list($1)", 1, params, &out))
		api_json(resp, 200, json_pack("{s:o}", "items", out));
}

/* GET /api/v1/grpc/descriptors/:serverName[?version=N]: one version with the set (base64). */
void
rest_grpc_descriptor_get(api_req *req, api_resp *resp)
{
	const char *version = api_query(req, "version");
	const char *params[3] = {gd_read_ns(req), req->params[0], version};
	long long v;
	json_t *out = NULL;

	if (version && !rest_parse_int(version, 1, 2147483647, &v)) {
		gd_fail(req, resp, "version", "version: must be a positive integer, got \"%.40s\"", version);
		return;
	}
	if (db_json(req, resp,
	            "SELECT mockarty.grpc_descriptor_get(coalesce($1, mockarty_private.caller_namespace(), "
	            "'sandbox'), "
	            "$2, $3::int)",
	            3, params, &out))
		api_json(resp, 200, out);
}

/* GET /api/v1/grpc/descriptors/:serverName/versions: every version, newest first. */
void
rest_grpc_descriptor_versions(api_req *req, api_resp *resp)
{
	const char *params[2] = {gd_read_ns(req), req->params[0]};
	json_t *out = NULL;

	if (db_json(
	        req, resp,
	        "SELECT mockarty.grpc_descriptor_versions(coalesce($1, mockarty_private.caller_namespace(), "
	        "'sandbox'), $2)",
	        2, params, &out))
		api_json(resp, 200, json_pack("{s:o}", "items", out));
}

/* DELETE /api/v1/grpc/descriptors/:serverName[?version=N]: one version or all. */
void
rest_grpc_descriptor_delete(api_req *req, api_resp *resp)
{
	const char *version = api_query(req, "version");
	const char *params[3] = {gd_read_ns(req), req->params[0], version};
	long long v;
	json_t *out = NULL;

	if (version && !rest_parse_int(version, 1, 2147483647, &v)) {
		gd_fail(req, resp, "version", "version: must be a positive integer, got \"%.40s\"", version);
		return;
	}
	if (db_json(req, resp,
	            "SELECT jsonb_build_object('deleted', mockarty.grpc_descriptor_delete(coalesce($1, "
	            "mockarty_private.caller_namespace(), 'sandbox'), $2, $3::int))",
	            3, params, &out))
		api_json(resp, 200, out);
}

/*
 * POST /api/v1/generators/grpc[/preview]: stores the set as a new version and creates
 * one mock per method (mockarty.generate_grpc, smart merge, source "grpc:<serverName>").
 * The preview forces dryRun: nothing is stored, the report carries "count".
 */
static void
generator_grpc(api_req *req, api_resp *resp, bool preview)
{
	gd_upload u = {0};
	char *hex = NULL, *opts = NULL;
	json_t *out = NULL;

	if (!gd_collect(req, resp, &u, true) || (hex = gd_set_hex(req, resp, &u)) == NULL)
		goto done;
	if (gd_opt(&u, "serverName") == NULL || gd_opt(&u, "serverName")[0] == '\0') {
		gd_fail(req, resp, "serverName", "serverName: the gRPC server name is required%s", "");
		goto done;
	}
	if (preview)
		json_object_set_new(u.opts, "dryRun", json_true());
	opts = api_dump(u.opts);
	if (opts == NULL) {
		api_error(req, resp, 500, "internal", "out of memory");
		goto done;
	}
	{
		const char *params[2] = {hex, opts};

		if (db_json(req, resp, "SELECT mockarty.generate_grpc($1::bytea, $2::jsonb)", 2, params,
		            &out)) {
			if (preview)
				json_object_set_new(
				    out, "count",
				    json_integer((json_int_t)json_array_size(json_object_get(out, "mocks"))));
			api_json(resp,
			         json_integer_value(json_object_get(out, "created")) > 0 && !preview ? 201
			                                                                             : 200,
			         out);
		}
	}
done:
	free(opts);
	free(hex);
	gd_free(&u);
}

void
rest_generator_grpc(api_req *req, api_resp *resp)
{
	generator_grpc(req, resp, false);
}

void
rest_generator_grpc_preview(api_req *req, api_resp *resp)
{
	generator_grpc(req, resp, true);
}
