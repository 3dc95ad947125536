/*
 * protoset.c - the descriptor set of a grpc project (-server-type grpc).
 *
 * A generated gRPC server is described by a FileDescriptorSet: the project embeds it (served
 * until the admin node stores a version for the server name) and -create-mocks uploads it.
 * A .proto input is compiled here with protoc (argv only, never a shell; stdin /dev/null;
 * killed after 60 s) into a private temporary directory that is removed again; any other
 * input must already be a set (protoc --include_imports --descriptor_set_out). Either way the
 * set is walked at the wire level (top-level `file` entries only, each holding at least one
 * service somewhere) so a wrong file is refused before anything is written; the full check
 * is the server's (core's codec) when it loads the set.
 */
#define _XOPEN_SOURCE 700
#include "generator.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOC_TIMEOUT_MS 60000

static bool
varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Walks one message's fields; counts the length-delimited fields numbered want. Returns
 * false when the bytes are not a well-formed message.
 */
static bool
walk(const unsigned char *p, const unsigned char *end, uint32_t want, size_t *count)
{
	while (p < end) {
		uint64_t key, v;

		if (!varint(&p, end, &key) || key >> 3 == 0)
			return false;
		switch (key & 7) {
		case 0:
			if (!varint(&p, end, &v))
				return false;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		case 2:
			if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			if ((key >> 3) == want)
				(*count)++;
			p += v;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* Checks that set/len is a FileDescriptorSet with at least one service; names what is wrong. */
static bool
check_set(const unsigned char *set, size_t len, const char *what)
{
	const unsigned char *p = set, *end = set + len;
	size_t files = 0, services = 0;

	while (p < end) {
		uint64_t key, n;

		if (!varint(&p, end, &key) || key != ((1 << 3) | 2) || !varint(&p, end, &n) ||
		    n > (uint64_t)(end - p) || !walk(p, p + n, 6, &services))
			goto bad;
		files++;
		p += n;
	}
	if (files == 0)
		goto bad;
	if (services == 0) {
		fprintf(stderr,
		        "mockarty-server-generator: -input: %s declares no service (a gRPC server needs "
		        "at least one)\n",
		        what);
		return false;
	}
	return true;
bad:
	fprintf(stderr,
	        "mockarty-server-generator: -input: %s is neither a .proto file nor a FileDescriptorSet "
	        "(protoc --include_imports --descriptor_set_out=FILE)\n",
	        what);
	return false;
}

static int
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Runs protoc on o->input into out (a file path); its own messages go to our stderr. */
static bool
run_protoc(const gen_opts *o, const char *out)
{
	const char *protoc = getenv("PROTOC") && getenv("PROTOC")[0] ? getenv("PROTOC") : "protoc";
	char inc[4200], dirbuf[4096], setarg[4200];
	const char *argv[8];
	struct stat st;
	int n = 0, status = 0, start;
	pid_t pid;

	if (o->import_path != NULL) {
		snprintf(dirbuf, sizeof(dirbuf), "%s", o->import_path);
	} else {
		const char *slash = strrchr(o->input, '/');

		if (slash == NULL)
			snprintf(dirbuf, sizeof(dirbuf), ".");
		else
			snprintf(dirbuf, sizeof(dirbuf), "%.*s",
			         (int)(slash - o->input) ? (int)(slash - o->input) : 1, o->input);
	}
	snprintf(inc, sizeof(inc), "-I%s", dirbuf);
	snprintf(setarg, sizeof(setarg), "--descriptor_set_out=%s", out);
	argv[n++] = protoc;
	argv[n++] = "--include_imports";
	argv[n++] = setarg;
	argv[n++] = inc;
	if (stat("/usr/include/google/protobuf/timestamp.proto", &st) == 0)
		argv[n++] = "-I/usr/include";
	argv[n++] = o->input;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "mockarty-server-generator: cannot run protoc: %s\n", strerror(errno));
		return false;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			dup2(fd, 0);
		dup2(2, 1);
		execvp(protoc, (char *const *)argv);
		fprintf(stderr,
		        "mockarty-server-generator: cannot run %s: %s (install protobuf-compiler "
		        "and libprotobuf-dev, set PROTOC, or pass a descriptor set as -input)\n",
		        protoc, strerror(errno));
		_exit(127);
	}
	start = now_ms();
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return false;
		if (now_ms() - start > PROTOC_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "mockarty-server-generator: protoc did not finish within %d s\n",
			        PROTOC_TIMEOUT_MS / 1000);
			return false;
		}
		usleep(10000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 127)
			fprintf(stderr,
			        "mockarty-server-generator: -input: protoc could not compile \"%s\" (import "
			        "path %s; see its messages above; -import-path sets the root its imports are "
			        "relative to)\n",
			        o->input, dirbuf);
		return false;
	}
	return true;
}

bool
gen_grpc_set(gen_opts *o)
{
	size_t n = strlen(o->input), len = 0;
	char dir[] = "/tmp/mockarty-gen-XXXXXX", out[64];
	unsigned char *set;
	bool ok;

	if (n > 6 && strcmp(o->input + n - 6, ".proto") == 0) {
		if (mkdtemp(dir) == NULL) {
			fprintf(stderr, "mockarty-server-generator: cannot make a temporary directory: %s\n",
			        strerror(errno));
			return false;
		}
		snprintf(out, sizeof(out), "%s/set.pb", dir);
		ok = run_protoc(o, out);
		set = ok ? (unsigned char *)gen_read_file(out, &len) : NULL;
		unlink(out);
		rmdir(dir);
		if (set == NULL)
			return false;
		if (!check_set(set, len, "protoc's output")) {
			free(set);
			return false;
		}
	} else {
		set = (unsigned char *)gen_read_file(o->input, &len);
		if (set == NULL)
			return false;
		if (!check_set(set, len, o->input)) {
			free(set);
			return false;
		}
	}
	o->set = set;
	o->set_len = len;
	return true;
}
