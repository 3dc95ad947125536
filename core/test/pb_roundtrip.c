/*
 * pb_roundtrip.c - driver of the codec round trip against python3-protobuf
 * (regress/protobuf/roundtrip.sh). Reads a descriptor set and, on stdin, one
 * line per message: "<hex binary>\t<json_format JSON>". Writes one line per
 * message: "<our JSON>\t<hex of our JSON re-encoded>\t<hex of json_format's
 * JSON encoded by us>", or "ERR\t<where>: <message>" when the codec refuses.
 * The Python side compares all three with the reference implementation.
 */
#include "mockarty/pb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
unhex(const char *s, size_t n, uint8_t **out, size_t *outn)
{
	uint8_t *b = malloc(n / 2 + 1);
	if (b == NULL || n % 2)
		return free(b), -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return free(b), -1;
		b[i] = (uint8_t)v;
	}
	*out = b;
	*outn = n / 2;
	return 0;
}

static void
puthex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static void
err_line(const char *what, const mc_error *e)
{
	printf("ERR\t%s %s: %s\n", what, e->path, e->msg);
}

int
main(int argc, char **argv)
{
	FILE *f;
	uint8_t *set_buf;
	long n;
	mc_error err;
	mc_pb_set *set;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: pb_roundtrip SET.pb MESSAGE_TYPE < lines\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return perror(argv[1]), 2;
	set_buf = malloc((size_t)n + 1);
	if (fread(set_buf, 1, (size_t)n, f) != (size_t)n)
		return perror(argv[1]), 2;
	fclose(f);
	set = mc_pb_set_load(set_buf, (size_t)n, &err);
	free(set_buf);
	if (set == NULL) {
		fprintf(stderr, "descriptor set: %s\n", err.msg);
		return 2;
	}
	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *tab = strchr(line, '\t');
		uint8_t *bin = NULL, *re1 = NULL, *re2 = NULL;
		size_t binn = 0, re1n = 0, re2n = 0;
		json_t *ours = NULL, *theirs = NULL;
		char *dump = NULL;

		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (tab == NULL || unhex(line, (size_t)(tab - line), &bin, &binn)) {
			printf("ERR\tbad input line\n");
			continue;
		}
		theirs = json_loads(tab + 1, JSON_DECODE_ANY, NULL);
		ours = mc_pb_to_json(set, argv[2], bin, binn, &err);
		if (ours == NULL)
			err_line("decode", &err);
		else if (mc_pb_from_json(set, argv[2], ours, &re1, &re1n, &err) != MC_OK)
			err_line("re-encode", &err);
		else if (theirs == NULL || mc_pb_from_json(set, argv[2], theirs, &re2, &re2n, &err) != MC_OK)
			err_line("encode json_format output", &err);
		else {
			dump = json_dumps(ours, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("%s\t", dump);
			puthex(re1, re1n);
			putchar('\t');
			puthex(re2, re2n);
			putchar('\n');
		}
		free(dump);
		free(bin);
		free(re1);
		free(re2);
		json_decref(ours);
		json_decref(theirs);
	}
	free(line);
	mc_pb_set_free(set);
	return 0;
}
