/*
 * project.c - writes the standalone project of a generated server.
 *
 * The project is data plus a vendored runtime (generator-protocols.md §4.1): main.c (the
 * defaults baked from the flags, calling gs_main), spec_blob.c (the spec as a byte array; for
 * grpc the FileDescriptorSet, also shipped as spec/<name>.pb when it was compiled from a .proto),
 * runtime/ (core/, the daemons/common files, daemons/grpc with protobuf-c's generated C for
 * the coordinator proto, the node library and the genserver frame with its protocol modules,
 * and runtime/VERSION), a Makefile that links only Debian -dev packages through pkg-config, a
 * README and a Dockerfile. Nothing is fetched at build time and nothing needs protoc.
 * Everything is written into a directory this run created (or an empty one); on any failure
 * what was written is removed again.
 */
#define _XOPEN_SOURCE 700
#include "generator.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RUNTIME_VERSION "0.2.0"

/* Debian packages: build-time -dev list (Makefile, README, Dockerfile) and run-time list. */
#define PKGS "libmicrohttpd jansson libpcre2-8 libcurl libnghttp2 libprotobuf-c libcrypto"
#define APT_DEV                                                                                              \
	"build-essential pkg-config libmicrohttpd-dev libjansson-dev libpcre2-dev libcurl4-openssl-dev "     \
	"libnghttp2-dev libprotobuf-c-dev libssl-dev"
#define APT_RUN                                                                                              \
	"libmicrohttpd12 libjansson4 libpcre2-8-0 libcurl4 libnghttp2-14 libprotobuf-c1 libssl3 "            \
	"ca-certificates"

char *
gen_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		fprintf(stderr, "mockarty-server-generator: cannot open \"%s\": %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= 64L << 20 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		fprintf(stderr, "mockarty-server-generator: cannot read \"%s\" (at most 64 MB)\n", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool
mkdirs(const char *path)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

static bool
copy_file(const char *src, const char *dst)
{
	size_t len;
	char *data = gen_read_file(src, &len);
	FILE *f;
	bool ok;

	if (data == NULL)
		return false;
	f = fopen(dst, "wb");
	ok = f != NULL && fwrite(data, 1, len, f) == len;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "mockarty-server-generator: cannot write \"%s\": %s\n", dst, strerror(errno));
	free(data);
	return ok;
}

/* Copies the .c and .h files of src (recursing into sub-folders when deep) into dst, except main.c at the
 * top. */
static bool
copy_sources(const char *src, const char *dst, bool deep, bool top)
{
	DIR *d = opendir(src);
	struct dirent *e;
	bool ok = true;

	if (d == NULL) {
		fprintf(stderr, "mockarty-server-generator: runtime folder \"%s\" is missing: %s\n", src,
		        strerror(errno));
		return false;
	}
	if (!mkdirs(dst)) {
		closedir(d);
		return false;
	}
	while (ok && (e = readdir(d)) != NULL) {
		char s[4096], t[4096];
		size_t n = strlen(e->d_name);
		struct stat st;

		if (e->d_name[0] == '.' || (top && strcmp(e->d_name, "main.c") == 0))
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, e->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, e->d_name);
		if (stat(s, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (deep)
				ok = copy_sources(s, t, true, false);
		} else if (n > 2 &&
		           (strcmp(e->d_name + n - 2, ".c") == 0 || strcmp(e->d_name + n - 2, ".h") == 0 ||
		            strcmp(e->d_name, "README.md") == 0)) {
			ok = copy_file(s, t);
		}
	}
	closedir(d);
	return ok;
}

static bool
write_bytes(const char *path, const unsigned char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL && fwrite(data, 1, len, f) == len;

	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "mockarty-server-generator: cannot write \"%s\": %s\n", path, strerror(errno));
	return ok;
}

static bool
write_text(const char *dir, const char *name, const char *fmt, ...)
{
	char path[4096];
	FILE *f;
	va_list ap;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "mockarty-server-generator: cannot write \"%s\": %s\n", path,
		        strerror(errno));
		return false;
	}
	va_start(ap, fmt);
	ok = vfprintf(f, fmt, ap) >= 0;
	va_end(ap);
	return fclose(f) == 0 && ok;
}

/* s as the body of a C string literal (into out). */
static const char *
c_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 5 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\%03o", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return out;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* True when path does not exist (then it is created) or is an empty directory. */
static bool
claim_output(const char *path, bool *created)
{
	DIR *d = opendir(path);
	struct dirent *e;

	*created = false;
	if (d == NULL) {
		if (errno != ENOENT) {
			fprintf(
			    stderr,
			    "mockarty-server-generator: -output: \"%s\" is not a directory we can use: %s\n",
			    path, strerror(errno));
			return false;
		}
		if (!mkdirs(path)) {
			fprintf(stderr, "mockarty-server-generator: -output: cannot create \"%s\": %s\n",
			        path, strerror(errno));
			return false;
		}
		*created = true;
		return true;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			closedir(d);
			fprintf(stderr,
			        "mockarty-server-generator: -output: \"%s\" is not empty; choose a new "
			        "directory (a "
			        "re-run never overwrites a project)\n",
			        path);
			return false;
		}
	}
	closedir(d);
	return true;
}

static bool
write_spec_blob(const char *dir, const char *spec, size_t len)
{
	char path[4096];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/spec_blob.c", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return false;
	fprintf(f, "/* spec_blob.c - generated by mockarty-server-generator: the spec, embedded (served at "
	           "/spec). */\n"
	           "#include <stddef.h>\n\n"
	           "const unsigned char spec_blob[] = {\n");
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%s0x%02x,%s", i % 16 == 0 ? "\t" : "", (unsigned char)spec[i],
		        i % 16 == 15 ? "\n" : "");
	fprintf(f, "%s\t0x00};\nconst size_t spec_blob_len = %zu;\n", len % 16 ? "\n" : "", len);
	ok = !ferror(f);
	return fclose(f) == 0 && ok;
}

static bool
write_main(const gen_opts *o, const char *spec_name)
{
	char ns[256], sn[512], url[2048], nm[512];

	return write_text(
	    o->output, "main.c",
	    "/*\n"
	    " * main.c - generated by mockarty-server-generator (server type %s).\n"
	    " *\n"
	    " * The defaults below were baked from the generator's flags; the environment overrides\n"
	    " * each (HTTP_ADMIN_BASE_URL, NAMESPACE, HTTP_PORT, API_TOKEN, SERVER_NAME and the\n"
	    " * MOCKARTY_* spellings: ./server --help lists them). Everything else is the vendored\n"
	    " * runtime's (runtime/daemons/genserver): mock sync for (namespace, serverName) from the\n"
	    " * admin node's coordinator, local resolution of stateless mocks, Coordinator.Resolve for\n"
	    " * stateful ones, /health, /metrics, /spec and the dashboard.\n"
	    " */\n"
	    "#include \"genserver.h\"\n"
	    "\n"
	    "#include <stddef.h>\n"
	    "\n"
	    "/* spec_blob.c */\n"
	    "extern const unsigned char spec_blob[];\n"
	    "extern const size_t spec_blob_len;\n"
	    "\n"
	    "int\n"
	    "main(int argc, char **argv)\n"
	    "{\n"
	    "\tgs_defaults d = {\n"
	    "\t    .type = \"%s\",\n"
	    "\t    .server_name = \"%s\",\n"
	    "\t    .ns = \"%s\",\n"
	    "\t    .admin_url = \"%s\",\n"
	    "\t    .http_port = %d,\n"
	    "\t    .api_token = NULL, /* never baked: set API_TOKEN */\n"
	    "\t    .spec_name = \"%s\",\n"
	    "\t};\n"
	    "\n"
	    "\td.spec = spec_blob;\n"
	    "\td.spec_len = spec_blob_len;\n"
	    "\treturn gs_main(&d, argc, argv);\n"
	    "}\n",
	    o->type, o->type, c_escape(o->server_name, sn, sizeof(sn)), c_escape(o->ns, ns, sizeof(ns)),
	    c_escape(o->mockarty_url, url, sizeof(url)), o->port, c_escape(spec_name, nm, sizeof(nm)));
}

static bool
write_makefile(const gen_opts *o)
{
	return write_text(
	    o->output, "Makefile",
	    "# Makefile - generated by mockarty-server-generator: builds ./server from main.c, spec_blob.c "
	    "and\n"
	    "# the vendored runtime (runtime/), against Debian -dev packages found through pkg-config only.\n"
	    "#   make             build ./server (checks the packages first)\n"
	    "#   make run         build and run with the baked defaults (set API_TOKEN)\n"
	    "#   make check-deps  print the apt-get line when a package is missing\n"
	    "\n"
	    "CC      ?= cc\n"
	    "CFLAGS  ?= -O2 -g\n"
	    "PKGS    := " PKGS "\n"
	    "APT     := " APT_DEV "\n"
	    "R       := runtime\n"
	    "BUILD   := build\n"
	    "INC     := -I$(R)/daemons/genserver -I$(R)/daemons/resolver -I$(R)/daemons/common \\\n"
	    "           -I$(R)/daemons/grpc -I$(R)/daemons/grpc/gen -I$(R)/core/include -I$(R)/core/src\n"
	    "ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(INC) $(shell pkg-config --cflags $(PKGS) "
	    "2>/dev/null) $(CFLAGS)\n"
	    "LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm\n"
	    "RT_SRCS := $(shell find $(R) -name '*.c' | LC_ALL=C sort)\n"
	    "RT_OBJS := $(patsubst %%.c,$(BUILD)/%%.o,$(RT_SRCS))\n"
	    "RT_HDRS := $(shell find $(R) -name '*.h')\n"
	    "\n"
	    ".PHONY: all run check-deps clean\n"
	    "all: check-deps server\n"
	    "\n"
	    "check-deps:\n"
	    "\t@pkg-config --version >/dev/null 2>&1 && pkg-config --exists $(PKGS) || { \\\n"
	    "\t  echo \"missing build dependencies (pkg-config: $(PKGS)); install them with:\" >&2; \\\n"
	    "\t  echo \"  sudo apt-get install -y $(APT)\" >&2; exit 1; }\n"
	    "\n"
	    "$(BUILD)/%%.o: %%.c $(RT_HDRS)\n"
	    "\t@mkdir -p $(dir $@)\n"
	    "\t$(CC) $(ALL_CFLAGS) -c $< -o $@\n"
	    "\n"
	    "$(BUILD)/libruntime.a: $(RT_OBJS)\n"
	    "\trm -f $@ && ar rcs $@ $^\n"
	    "\n"
	    "server: $(BUILD)/main.o $(BUILD)/spec_blob.o $(BUILD)/libruntime.a\n"
	    "\t$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(BUILD)/main.o $(BUILD)/spec_blob.o "
	    "$(BUILD)/libruntime.a $(LDLIBS)\n"
	    "\n"
	    "run: all\n"
	    "\t./server\n"
	    "\n"
	    "clean:\n"
	    "\trm -rf $(BUILD) server\n");
}

/* README.md of a grpc project (set_name: the descriptor set's file under spec/). */
static bool
write_grpc_readme(const gen_opts *o, const char *spec_name, const char *set_name)
{
	return write_text(
	    o->output, "README.md",
	    "# Generated gRPC mock server\n"
	    "\n"
	    "Generated by `mockarty-server-generator` from `spec/%s`. Its FileDescriptorSet is\n"
	    "`spec/%s`, also embedded in `spec_blob.c`. The server speaks gRPC (HTTP/2 cleartext) on\n"
	    "`HTTP_PORT`: every method of every service of the set, server reflection (v1, v1alpha) and the\n"
	    "health service. It serves the mocks of namespace `%s` whose `serverName` is `%s` from the\n"
	    "Mockarty admin node, answering exactly what the admin node answers: stateless mocks from a\n"
	    "local copy kept current by the admin node's gRPC coordinator (port 5773), stateful ones (use\n"
	    "limits, oneOf order, stores) through it.\n"
	    "\n"
	    "The descriptor set served is the latest version the admin node stores for `%s`\n"
	    "(`POST /api/v1/grpc/descriptors`; `-create-mocks` stored this one); a version stored later\n"
	    "is picked up while the server runs. Without a stored version (or while the admin node does\n"
	    "not answer at start) the embedded set is served.\n"
	    "\n"
	    "## Build (offline, Debian 12 / Ubuntu)\n"
	    "\n"
	    "    sudo apt-get install -y " APT_DEV "\n"
	    "    make            # ./server; `make check-deps` prints the line above when a package is "
	    "missing\n"
	    "    API_TOKEN=mk_... make run\n"
	    "\n"
	    "Nothing is downloaded at build time and nothing needs protoc; the runtime sources are\n"
	    "vendored in `runtime/` (version in `runtime/VERSION`).\n"
	    "\n"
	    "## Environment\n"
	    "\n"
	    "| Variable | Default | Meaning |\n"
	    "|---|---|---|\n"
	    "| `HTTP_ADMIN_BASE_URL` (`MOCKARTY_URL`) | `%s` | the Mockarty admin node |\n"
	    "| `NAMESPACE` (`MOCKARTY_NAMESPACE`) | `%s` | namespace of the mocks |\n"
	    "| `HTTP_PORT` (`PORT`) | `%d` | gRPC (h2c): the mocked services, reflection, health |\n"
	    "| `API_TOKEN` (`MOCKARTY_API_TOKEN`) | required | `mk_` user token (editor or admin) or `mki_` "
	    "orchestrator token |\n"
	    "| `SERVER_NAME` | `%s` | the descriptor set and the mocks' `serverName` |\n"
	    "| `COORDINATOR_ADDR` | admin host:5773 | the admin node's gRPC coordinator |\n"
	    "| `DASHBOARD_PORT` | `HTTP_PORT`+1 | dashboard page (`/`), `/api/status`, `/health`, `/metrics`; 0 "
	    "disables it |\n"
	    "| `HTTP_BIND_ADDR` | `0.0.0.0` | address both ports bind to |\n"
	    "| `LOG_LEVEL` | `info` | debug, info, warn, error |\n"
	    "\n"
	    "`./server --help` prints every variable.\n"
	    "\n"
	    "    grpcurl -plaintext localhost:%d list\n"
	    "\n"
	    "## Docker\n"
	    "\n"
	    "    docker build -t my-mock-server .\n"
	    "    docker run -p %d:%d -e HTTP_ADMIN_BASE_URL=http://mockarty:5770 -e API_TOKEN=mk_... "
	    "my-mock-server\n",
	    spec_name, set_name, o->ns, o->server_name, o->server_name, o->mockarty_url, o->ns, o->port,
	    o->server_name, o->port, o->port, o->port);
}

static bool
write_docs(const gen_opts *o, const char *spec_name, const char *set_name)
{
	bool ok = o->set != NULL ? write_grpc_readme(o, spec_name, set_name) : write_text(
	    o->output, "README.md",
	    "# Generated %s mock server\n"
	    "\n"
	    "Generated by `mockarty-server-generator` from `spec/%s` (embedded in `spec_blob.c`, served at\n"
	    "`/spec`). It serves the mocks of namespace `%s`%s%s%s from the Mockarty admin node, answering "
	    "exactly\n"
	    "what the admin node answers: stateless mocks from a local copy kept current by the admin "
	    "node's\n"
	    "gRPC coordinator (port 5773), stateful ones (use limits, oneOf order, stores) through it.\n"
	    "\n"
	    "## Build (offline, Debian 12 / Ubuntu)\n"
	    "\n"
	    "    sudo apt-get install -y " APT_DEV "\n"
	    "    make            # ./server; `make check-deps` prints the line above when a package is "
	    "missing\n"
	    "    API_TOKEN=mk_... make run\n"
	    "\n"
	    "Nothing is downloaded at build time; the runtime sources are vendored in `runtime/`\n"
	    "(version in `runtime/VERSION`).\n"
	    "\n"
	    "## Environment\n"
	    "\n"
	    "| Variable | Default | Meaning |\n"
	    "|---|---|---|\n"
	    "| `HTTP_ADMIN_BASE_URL` (`MOCKARTY_URL`) | `%s` | the Mockarty admin node |\n"
	    "| `NAMESPACE` (`MOCKARTY_NAMESPACE`) | `%s` | namespace of the mocks |\n"
	    "| `HTTP_PORT` (`PORT`) | `%d` | mock traffic, `/health`, `/health/live`, `/health/ready`, "
	    "`/metrics`, `/spec` |\n"
	    "| `API_TOKEN` (`MOCKARTY_API_TOKEN`) | required | `mk_` user token (editor or admin) or `mki_` "
	    "orchestrator token |\n"
	    "| `SERVER_NAME` | `%s` | serve only mocks with this `serverName` (empty: all of the namespace) "
	    "|\n"
	    "| `COORDINATOR_ADDR` | admin host:5773 | the admin node's gRPC coordinator |\n"
	    "| `DASHBOARD_PORT` | `HTTP_PORT`+1 | dashboard page (`/`) and `/api/status`; 0 disables it |\n"
	    "| `HTTP_BIND_ADDR` | `0.0.0.0` | address both ports bind to |\n"
	    "| `LOG_LEVEL` | `info` | debug, info, warn, error |\n"
	    "\n"
	    "`./server --help` prints every variable.\n"
	    "\n"
	    "## Docker\n"
	    "\n"
	    "    docker build -t my-mock-server .\n"
	    "    docker run -p %d:%d -e HTTP_ADMIN_BASE_URL=http://mockarty:5770 -e API_TOKEN=mk_... "
	    "my-mock-server\n",
	    o->type, spec_name, o->ns, o->server_name[0] ? " whose `serverName` is `" : "", o->server_name,
	    o->server_name[0] ? "`" : "", o->mockarty_url, o->ns, o->port, o->server_name, o->port, o->port);

	return ok &&
	       write_text(o->output, "Dockerfile",
	                  "# Dockerfile - generated by mockarty-server-generator: build on debian:12-slim "
	                  "with the -dev\n"
	                  "# packages, run on debian:12-slim with the run-time libraries only.\n"
	                  "FROM debian:12-slim AS build\n"
	                  "RUN apt-get update && apt-get install -y --no-install-recommends " APT_DEV
	                  " && rm -rf /var/lib/apt/lists/*\n"
	                  "WORKDIR /src\n"
	                  "COPY . .\n"
	                  "RUN make clean && make\n"
	                  "\n"
	                  "FROM debian:12-slim\n"
	                  "RUN apt-get update && apt-get install -y --no-install-recommends " APT_RUN
	                  " && rm -rf /var/lib/apt/lists/*\n"
	                  "COPY --from=build /src/server /usr/local/bin/server\n"
	                  "ENV HTTP_PORT=%d HTTP_BIND_ADDR=0.0.0.0\n"
	                  "EXPOSE %d %d\n"
	                  "USER nobody\n"
	                  "ENTRYPOINT [\"/usr/local/bin/server\"]\n",
	                  o->port, o->port, o->port + 1) &&
	       write_text(o->output, ".dockerignore", "build/\nserver\n");
}

/* The runtime: folders (src relative to the repository, dst relative to runtime/, deep?). */
static const struct {
	const char *src, *dst;
	bool deep;
} runtime_dirs[] = {
    {"core/include", "core/include", true},
    {"core/src", "core/src", false},
    {"daemons/resolver", "daemons/resolver", true},
    {"daemons/genserver", "daemons/genserver", true},
};
static const char *const common_files[] = {"bufbudget", "config",   "eventq", "log",   "metrics", "missrecord",
                                           "mockserve", "nodelink", "otel",   "proxy", "uiserve"};
/* generated by the runtime's build, vendored as C: the dashboard's pages (ui/genserver, ui/kit, ui/vendor) */
static const char *const common_built[][2] = {{"daemons/common/uitypes.h", "uitypes.h"},
                                              {"daemons/build/ui/assets_genserver.c", "ui_assets_genserver.c"}};
static const char *const grpc_files[] = {"grpc_wire.c",       "grpc_server.c", "grpc_health.c",
                                         "grpc_reflection.c", "grpc_client.c", "grpc_pool.c",
                                         "grpc_callq.c"};
/* protobuf-c's output for the coordinator and the gRPC services, vendored as generated C */
static const char *const grpc_gen[] = {"coordinator.pb-c.c",
                                       "coordinator.pb-c.h",
                                       "mk_grpc_descriptors.c",
                                       "mk_grpc_rpc_descriptors.c",
                                       "grpc/health/v1/health.pb-c.c",
                                       "grpc/health/v1/health.pb-c.h",
                                       "grpc/reflection/v1/reflection.pb-c.c",
                                       "grpc/reflection/v1/reflection.pb-c.h"};

static bool
copy_runtime(const gen_opts *o)
{
	char s[4096], t[4096];
	DIR *d;
	struct dirent *e;

	for (size_t i = 0; i < sizeof(runtime_dirs) / sizeof(runtime_dirs[0]); i++) {
		snprintf(s, sizeof(s), "%s/%s", o->runtime_dir, runtime_dirs[i].src);
		snprintf(t, sizeof(t), "%s/runtime/%s", o->output, runtime_dirs[i].dst);
		if (!copy_sources(s, t, runtime_dirs[i].deep, true))
			return false;
	}
	snprintf(t, sizeof(t), "%s/runtime/daemons/common", o->output);
	if (!mkdirs(t))
		return false;
	for (size_t i = 0; i < sizeof(common_files) / sizeof(common_files[0]); i++)
		for (const char *ext = "ch"; *ext; ext++) {
			snprintf(s, sizeof(s), "%s/daemons/common/%s.%c", o->runtime_dir, common_files[i],
			         *ext);
			snprintf(t, sizeof(t), "%s/runtime/daemons/common/%s.%c", o->output, common_files[i],
			         *ext);
			if (!copy_file(s, t))
				return false;
		}
	for (size_t i = 0; i < sizeof(common_built) / sizeof(common_built[0]); i++) {
		snprintf(s, sizeof(s), "%s/%s", o->runtime_dir, common_built[i][0]);
		snprintf(t, sizeof(t), "%s/runtime/daemons/common/%s", o->output, common_built[i][1]);
		if (access(s, R_OK) != 0) {
			fprintf(stderr,
			        "mockarty-server-generator: the runtime at %s is not built (%s is missing): "
			        "run make there first, or set MOCKARTY_RUNTIME_DIR\n",
			        o->runtime_dir, s);
			return false;
		}
		if (!copy_file(s, t))
			return false;
	}
	snprintf(t, sizeof(t), "%s/runtime/daemons/grpc/gen/grpc/health/v1", o->output);
	if (!mkdirs(t))
		return false;
	snprintf(t, sizeof(t), "%s/runtime/daemons/grpc/gen/grpc/reflection/v1", o->output);
	if (!mkdirs(t))
		return false;
	for (size_t i = 0; i < sizeof(grpc_files) / sizeof(grpc_files[0]); i++) {
		snprintf(s, sizeof(s), "%s/daemons/grpc/%s", o->runtime_dir, grpc_files[i]);
		snprintf(t, sizeof(t), "%s/runtime/daemons/grpc/%s", o->output, grpc_files[i]);
		if (!copy_file(s, t))
			return false;
	}
	snprintf(s, sizeof(s), "%s/daemons/grpc", o->runtime_dir);
	if ((d = opendir(s)) == NULL)
		return false;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 2 && strcmp(e->d_name + n - 2, ".h") == 0) {
			snprintf(s, sizeof(s), "%s/daemons/grpc/%s", o->runtime_dir, e->d_name);
			snprintf(t, sizeof(t), "%s/runtime/daemons/grpc/%s", o->output, e->d_name);
			if (!copy_file(s, t)) {
				closedir(d);
				return false;
			}
		}
	}
	closedir(d);
	for (size_t i = 0; i < sizeof(grpc_gen) / sizeof(grpc_gen[0]); i++) {
		snprintf(s, sizeof(s), "%s/daemons/grpc/build/gen/%s", o->runtime_dir, grpc_gen[i]);
		snprintf(t, sizeof(t), "%s/runtime/daemons/grpc/gen/%s", o->output, grpc_gen[i]);
		if (access(s, R_OK) != 0) {
			fprintf(stderr,
			        "mockarty-server-generator: the runtime at %s is not built (%s is missing): "
			        "run make "
			        "there first, or set MOCKARTY_RUNTIME_DIR\n",
			        o->runtime_dir, s);
			return false;
		}
		if (!copy_file(s, t))
			return false;
	}
	snprintf(t, sizeof(t), "%s/runtime", o->output);
	return write_text(
	    t, "VERSION",
	    "mockarty runtime " RUNTIME_VERSION "\n"
	    "copied from the Mockarty sources by mockarty-server-generator; the files keep their\n"
	    "paths of the source tree (core/, daemons/common, daemons/grpc with protobuf-c's\n"
	    "generated C in gen/, daemons/resolver, daemons/genserver); the dashboard's pages are\n"
	    "daemons/common/ui_assets_genserver.c, generated from the ui/ folder by mkassets\n");
}

bool
gen_write_project(const gen_opts *o, const char *spec, size_t len)
{
	const char *base = strrchr(o->input, '/') ? strrchr(o->input, '/') + 1 : o->input;
	char spec_dir[4096], spec_path[4096], check[4096], set_name[512], set_path[4096];
	bool created, ok, compiled = false;
	size_t bl = strlen(base);

	/* grpc: the set is the input itself, or compiled from a .proto and shipped beside it */
	snprintf(set_name, sizeof(set_name), "%s", base);
	if (o->set != NULL && bl > 6 && strcmp(base + bl - 6, ".proto") == 0) {
		snprintf(set_name, sizeof(set_name), "%.*s.pb", (int)(bl - 6), base);
		compiled = true;
	}

	snprintf(check, sizeof(check), "%s/daemons/genserver/genserver.h", o->runtime_dir);
	if (access(check, R_OK) != 0) {
		fprintf(stderr,
		        "mockarty-server-generator: no runtime sources at \"%s\" "
		        "(daemons/genserver/genserver.h is "
		        "missing); set MOCKARTY_RUNTIME_DIR to a Mockarty source tree\n",
		        o->runtime_dir);
		return false;
	}
	if (!claim_output(o->output, &created))
		return false;
	snprintf(spec_dir, sizeof(spec_dir), "%s/spec", o->output);
	snprintf(spec_path, sizeof(spec_path), "%s/%s", spec_dir, base);
	snprintf(set_path, sizeof(set_path), "%s/%s", spec_dir, set_name);
	ok = mkdirs(spec_dir) && copy_file(o->input, spec_path) &&
	     (!compiled || write_bytes(set_path, o->set, o->set_len)) &&
	     (o->set != NULL ? write_spec_blob(o->output, (const char *)o->set, o->set_len)
	                     : write_spec_blob(o->output, spec, len)) &&
	     write_main(o, o->set != NULL ? set_name : base) && write_makefile(o) &&
	     write_docs(o, base, set_name) && copy_runtime(o);
	if (!ok) {
		fprintf(stderr,
		        "mockarty-server-generator: the project was not written; removing what was\n");
		if (created) {
			nftw(o->output, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		} else {
			/* an empty directory we did not create: empty it again */
			DIR *d = opendir(o->output);
			struct dirent *e;

			while (d && (e = readdir(d)) != NULL) {
				char p[4096];

				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				snprintf(p, sizeof(p), "%s/%s", o->output, e->d_name);
				nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			}
			if (d)
				closedir(d);
		}
	}
	return ok;
}
