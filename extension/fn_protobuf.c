/*
 * fn_protobuf.c - FileDescriptorSets in SQL: mockarty_private.pb_describe(set),
 * mockarty_private.pb_encode(set, type, value) and mockarty_private.translate_grpc(set,
 * options), on core's descriptor loader and protobuf <-> JSON codec (mockarty/pb.h).
 *
 * pb_describe validates a set by loading it through core and lists its files and
 * services: mockarty.grpc_descriptor_store() keeps that list next to the bytes.
 * translate_grpc builds one mock per method (the gRPC generator); the SQL wrapper
 * (sql/install/16_grpc_descriptors.sql) hands them to mockarty.import_mocks. Core's
 * memory is freed before any PostgreSQL call that may raise.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "common/cryptohash.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "mockarty/pb.h"
#include "mockarty/sources.h"

#include <stdio.h>
#include <string.h>

/* Loads the set of a bytea or raises 22023 with core's message; never returns NULL. */
static mc_pb_set *
load_set(bytea *b)
{
	mc_error	err;
	mc_pb_set  *s;
	char		msg[sizeof(err.msg) + sizeof(err.path) + 8];

	memset(&err, 0, sizeof(err));
	s = mc_pb_set_load((const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &err);
	if (s == NULL)
	{
		if (err.code == MC_ENOMEM)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while loading a descriptor set")));
		snprintf(msg, sizeof(msg), "%s%s%s", err.msg, err.path[0] ? " at " : "", err.path);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid FileDescriptorSet: %s", msg),
				 errdetail("$.descriptorSet"),
				 errhint("Upload what protoc --include_imports --descriptor_set_out writes.")));
	}
	return s;
}

static const char *
method_type(const mc_pb_method *m)
{
	if (m->client_streaming && m->server_streaming)
		return "bidirectional";
	if (m->client_streaming)
		return "client-stream";
	if (m->server_streaming)
		return "server-stream";
	return "unary";
}

/* A full type name without protoc's leading dot. */
static const char *
undot(const char *name)
{
	return name && name[0] == '.' ? name + 1 : (name ? name : "");
}

/* Lowercase hex SHA-256 of buf into out[65]; false on failure. */
static bool
sha256_hex(const uint8_t *buf, size_t len, char out[65])
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		d[32];
	bool		ok;

	if (ctx == NULL)
		return false;
	ok = pg_cryptohash_init(ctx) == 0 && pg_cryptohash_update(ctx, buf, len) == 0 &&
		pg_cryptohash_final(ctx, d, sizeof(d)) == 0;
	pg_cryptohash_free(ctx);
	for (int i = 0; ok && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return ok;
}

/* {"files":[{name,package,size,sha256,dependencies}],"services":{svc:[{name,methodType,inputType,outputType}]}} */
static json_t *
describe(const mc_pb_set *s)
{
	json_t	   *files = json_array(),
			   *services = json_object(),
			   *out;
	char		hex[65];

	for (size_t i = 0; i < mc_pb_file_count(s); i++)
	{
		const mc_pb_file *f = mc_pb_file_at(s, i);
		json_t	   *deps = json_array();

		for (size_t d = 0; d < f->ndeps; d++)
			json_array_append_new(deps, json_string(f->deps[d]));
		if (!sha256_hex(f->raw, f->rawlen, hex))
			hex[0] = '\0';
		json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s, s:o}", "name", f->name,
											   "package", f->package ? f->package : "",
											   "size", (json_int_t) f->rawlen, "sha256", hex,
											   "dependencies", deps));
	}
	for (size_t i = 0; i < mc_pb_service_count(s); i++)
	{
		const mc_pb_service *svc = mc_pb_service_at(s, i);
		json_t	   *methods = json_array();

		for (size_t m = 0; m < svc->nmethods; m++)
			json_array_append_new(methods,
								  json_pack("{s:s, s:s, s:s, s:s}", "name", svc->methods[m].name,
											"methodType", method_type(&svc->methods[m]),
											"inputType", undot(svc->methods[m].input_type),
											"outputType", undot(svc->methods[m].output_type)));
		json_object_set_new(services, svc->full_name, methods);
	}
	out = json_pack("{s:o, s:o}", "files", files, "services", services);
	return out;
}

PG_FUNCTION_INFO_V1(mockarty_pb_describe);

/*
 * pb_describe(set bytea) RETURNS jsonb, STRICT: loads a serialized
 * FileDescriptorSet through core (22023 naming what is malformed or unresolved)
 * and returns its files (name, package, size, sha256 of the FileDescriptorProto,
 * dependencies) and services (full name -> methods with kinds and types).
 */
Datum
mockarty_pb_describe(PG_FUNCTION_ARGS)
{
	mc_pb_set  *s = load_set(PG_GETARG_BYTEA_PP(0));
	json_t	   *d = describe(s);
	char	   *text;

	mc_pb_set_free(s);
	text = d ? mk_json_dump(d) : NULL;
	json_decref(d);
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while describing a descriptor set")));
	PG_RETURN_DATUM(mk_text_to_jsonb(text));
}

PG_FUNCTION_INFO_V1(mockarty_pb_encode);

/*
 * pb_encode(set bytea, type text, value jsonb) RETURNS bytea, STRICT: the binary
 * message of the given type for a proto3 JSON value (core's mc_pb_from_json);
 * 22023 naming the JSON path for a value that does not fit the type, or an
 * unknown type.
 */
Datum
mockarty_pb_encode(PG_FUNCTION_ARGS)
{
	mc_pb_set  *s = load_set(PG_GETARG_BYTEA_PP(0));
	char	   *type = text_to_cstring(PG_GETARG_TEXT_PP(1));
	json_t	   *v = mk_jsonb_to_json(PG_GETARG_JSONB_P(2));
	uint8_t    *out = NULL;
	size_t		outlen = 0;
	mc_error	err;
	mc_status	st;
	bytea	   *res;
	bool		known;

	memset(&err, 0, sizeof(err));
	known = mc_pb_find_message(s, type) != NULL;
	st = known && v ? mc_pb_from_json(s, type, v, &out, &outlen, &err) : MC_EINVAL;
	mc_pb_set_free(s);
	json_decref(v);
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown message type \"%s\"", type),
				 errdetail("$.type")));
	if (st != MC_OK)
	{
		free(out);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value does not fit message type \"%s\": %s", type, err.msg),
				 errdetail("%s", err.path[0] ? err.path : "$")));
	}
	res = (bytea *) palloc(VARHDRSZ + outlen);
	SET_VARSIZE(res, VARHDRSZ + outlen);
	if (outlen)
		memcpy(VARDATA(res), out, outlen);
	free(out);
	PG_RETURN_BYTEA_P(res);
}

/* Appends one generated mock per method of the set to mocks. */
static void
grpc_mocks(const mc_pb_set *s, const char *ns, const char *server, uint64_t seed, json_t *mocks,
		   json_t *errors)
{
	char		source[300],
				item[1024],
				id[37],
				label[1200];
	mc_rng		rng;

	snprintf(source, sizeof(source), "grpc:%s", server);
	for (size_t i = 0; i < mc_pb_service_count(s); i++)
	{
		const mc_pb_service *svc = mc_pb_service_at(s, i);

		for (size_t m = 0; m < svc->nmethods; m++)
		{
			const mc_pb_method *me = &svc->methods[m];
			const char *kind = method_type(me);
			json_t	   *response,
					   *example,
					   *mock,
					   *tags;
			mc_error	err;

			snprintf(item, sizeof(item), "%s/%s", svc->full_name, me->name);
			mc_import_id(ns, source, item, id);
			/* the same example on every run: a seed per method, not per position */
			mc_rng_seed(&rng, seed ^ (uint64_t) strlen(item) * 0x9E3779B97F4A7C15ULL ^ (uint64_t) m);
			for (const char *p = item; *p; p++)
				mc_rng_seed(&rng, mc_rng_next(&rng) ^ (uint8_t) *p);
			example = mc_pb_example(s, me->output_type, &rng);
			if (example == NULL)
			{
				snprintf(label, sizeof(label), "%s: no example for output type %s", item,
						 undot(me->output_type));
				json_array_append_new(errors, json_string(label));
				continue;
			}
			/* server-stream: a list of messages; bidirectional answers each message with payload */
			if (me->server_streaming && !me->client_streaming)
			{
				json_t	   *stream = json_array();

				json_array_append_new(stream, example);
				for (int k = 0; k < 2; k++)
				{
					json_t	   *more = mc_pb_example(s, me->output_type, &rng);

					if (more)
						json_array_append_new(stream, more);
				}
				response = json_pack("{s:i, s:o}", "statusCode", 0, "streamResponses", stream);
			}
			else
				response = json_pack("{s:i, s:o}", "statusCode", 0, "payload", example);
			tags = json_pack("[s]", "grpc");
			snprintf(label, sizeof(label), "gen:%s", server);
			json_array_append_new(tags, json_string(label));
			snprintf(label, sizeof(label), "rpc:%s", item);
			json_array_append_new(tags, json_string(label));
			snprintf(label, sizeof(label), "%s %s (%s -> %s)", kind, item, undot(me->input_type),
					 undot(me->output_type));
			mock = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:s}", "id", id, "namespace", ns,
							 "serverName", server, "grpc", "service", svc->full_name, "method", me->name, "methodType", kind,
							 "response", response, "tags", tags, "description", label);
			memset(&err, 0, sizeof(err));
			if (mock == NULL || mc_mock_validate(mock, &err) != MC_OK)
			{
				snprintf(label, sizeof(label), "%s: generated mock is invalid at %s: %s", item, err.path,
						 err.msg);
				json_array_append_new(errors, json_string(label));
				json_decref(mock);
				continue;
			}
			json_array_append_new(mocks, mock);
		}
	}
}

PG_FUNCTION_INFO_V1(mockarty_translate_grpc);

/*
 * translate_grpc(set bytea, options jsonb) RETURNS jsonb, STRICT: one mock per
 * method of every service of the set, {"mocks","warnings","errors"}. options:
 * namespace (default sandbox), serverName (required), seed (number, default 1).
 * Each mock: the grpc context (fully-qualified service, method, methodType), an
 * example of the output type from core's faker as payload (server-stream: three
 * messages in streamResponses; bidirectional answers every message with payload), the stable id of item "<service>/<method>" under
 * source "grpc:<serverName>", each with serverName set (the generated gRPC server syncs the
 * mocks of its serverName). 22023 for a set core cannot load.
 */
Datum
mockarty_translate_grpc(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	json_t	   *opts = mk_jsonb_to_json(PG_GETARG_JSONB_P(1));
	const char *ns,
			   *server;
	uint64_t	seed = 1;
	mc_pb_set  *s;
	json_t	   *report;
	char	   *text,
				nsbuf[128],
				srvbuf[256];

	if (opts == NULL || !json_is_object(opts))
	{
		json_decref(opts);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errdetail("$.options")));
	}
	ns = json_string_value(json_object_get(opts, "namespace"));
	server = json_string_value(json_object_get(opts, "serverName"));
	if (json_is_integer(json_object_get(opts, "seed")))
		seed = (uint64_t) json_integer_value(json_object_get(opts, "seed"));
	snprintf(nsbuf, sizeof(nsbuf), "%s", ns && *ns ? ns : "sandbox");
	snprintf(srvbuf, sizeof(srvbuf), "%s", server ? server : "");
	json_decref(opts);
	if (srvbuf[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"serverName\" is required"),
				 errdetail("$.options.serverName")));
	s = load_set(b);
	report = json_pack("{s:[], s:[], s:[]}", "mocks", "warnings", "errors");
	if (report)
		grpc_mocks(s, nsbuf, srvbuf, seed, json_object_get(report, "mocks"),
				   json_object_get(report, "errors"));
	mc_pb_set_free(s);
	text = report ? mk_json_dump(report) : NULL;
	json_decref(report);
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while generating gRPC mocks")));
	PG_RETURN_DATUM(mk_text_to_jsonb(text));
}
