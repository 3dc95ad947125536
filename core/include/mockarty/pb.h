/*
 * pb.h - protobuf descriptors and the protobuf <-> JSON codec of libmockarty-core.
 *
 * gRPC mocks are written, matched and templated in JSON exactly like HTTP bodies;
 * this interface turns the binary messages of a call into that JSON and back,
 * driven only by a FileDescriptorSet (as `protoc --include_imports
 * --descriptor_set_out` writes it). No generated code and no libprotobuf: the
 * descriptor set itself is decoded here from the wire format. The JSON follows
 * the proto3 JSON mapping (docs/protobuf.md lists the choices and limits).
 * Everything is bounded: nesting depth, declared lengths, output size.
 */
#ifndef MOCKARTY_PB_H
#define MOCKARTY_PB_H

#include "mockarty/core.h"

#define MC_PB_MAX_DEPTH 64                  /* nested messages / JSON levels */
#define MC_PB_MAX_ELEMENTS (1 << 22)        /* JSON values one decode may build */
#define MC_PB_MAX_OUTPUT ((size_t)64 << 20) /* bytes one encode may write */

/* Field types and labels: the numbers of google.protobuf.FieldDescriptorProto. */
typedef enum mc_pb_type {
	MC_PB_DOUBLE = 1,
	MC_PB_FLOAT = 2,
	MC_PB_INT64 = 3,
	MC_PB_UINT64 = 4,
	MC_PB_INT32 = 5,
	MC_PB_FIXED64 = 6,
	MC_PB_FIXED32 = 7,
	MC_PB_BOOL = 8,
	MC_PB_STRING = 9,
	MC_PB_GROUP = 10,
	MC_PB_MESSAGE = 11,
	MC_PB_BYTES = 12,
	MC_PB_UINT32 = 13,
	MC_PB_ENUM = 14,
	MC_PB_SFIXED32 = 15,
	MC_PB_SFIXED64 = 16,
	MC_PB_SINT32 = 17,
	MC_PB_SINT64 = 18
} mc_pb_type;

typedef enum mc_pb_label { MC_PB_OPTIONAL = 1, MC_PB_REQUIRED = 2, MC_PB_REPEATED = 3 } mc_pb_label;

typedef struct mc_pb_message mc_pb_message;
typedef struct mc_pb_enum mc_pb_enum;

typedef struct mc_pb_enum_value {
	char *name;
	int32_t number;
} mc_pb_enum_value;

struct mc_pb_enum {
	char *full_name; /* "pkg.Outer.Color", no leading dot */
	mc_pb_enum_value *values;
	size_t nvalues;
	bool closed; /* proto2 enum */
};

typedef struct mc_pb_field {
	char *name;
	char *json_name; /* as protoc sets it, else lowerCamel of name */
	int32_t number;
	mc_pb_type type;
	mc_pb_label label;
	char *type_name;          /* resolved full name of a message or enum type, else NULL */
	const mc_pb_message *msg; /* MESSAGE / GROUP */
	const mc_pb_enum *en;     /* ENUM */
	int32_t oneof_index;      /* -1 when not in a oneof (a synthetic proto3-optional oneof counts) */
	bool proto3_optional;
	bool packed;       /* how the encoder writes it (decoding accepts both) */
	bool has_presence; /* set on the wire even at its default value is meaningful */
} mc_pb_field;

struct mc_pb_message {
	char *full_name;
	const char *file;    /* name of the .proto that declares it */
	mc_pb_field *fields; /* in declaration order */
	size_t nfields;
	char **oneofs; /* oneof names, by index */
	size_t noneofs;
	bool map_entry; /* fields[0] key = 1, fields[1] value = 2 */
	bool proto3;
};

typedef struct mc_pb_method {
	char *name;
	char *input_type, *output_type; /* full names */
	const mc_pb_message *input, *output;
	bool client_streaming, server_streaming;
} mc_pb_method;

typedef struct mc_pb_service {
	char *full_name;
	const char *file;
	mc_pb_method *methods;
	size_t nmethods;
} mc_pb_service;

typedef struct mc_pb_file {
	char *name, *package, *syntax;
	const uint8_t *raw; /* its serialized FileDescriptorProto (for reflection) */
	size_t rawlen;
	char **deps;
	size_t ndeps;
} mc_pb_file;

typedef struct mc_pb_set mc_pb_set;

/*
 * Decodes a serialized FileDescriptorSet and resolves every type reference.
 * Returns a new set (free with mc_pb_set_free) or NULL with err naming the byte
 * offset or the element at fault (malformed wire data, an unresolvable type name,
 * a duplicate full name). The buffer is copied; it need not outlive the set.
 */
MC_API mc_pb_set *mc_pb_set_load(const uint8_t *buf, size_t len, mc_error *err);
MC_API void mc_pb_set_free(mc_pb_set *s);

/* Lookups by full name (a leading dot is accepted); NULL when absent. */
MC_API const mc_pb_message *mc_pb_find_message(const mc_pb_set *s, const char *full_name);
MC_API const mc_pb_enum *mc_pb_find_enum(const mc_pb_set *s, const char *full_name);
MC_API const mc_pb_service *mc_pb_find_service(const mc_pb_set *s, const char *full_name);
MC_API const mc_pb_field *mc_pb_find_field(const mc_pb_message *m, int32_t number);
/* By proto name or json_name. */
MC_API const mc_pb_field *mc_pb_find_field_name(const mc_pb_message *m, const char *name);

/* Enumeration of files and services, in set order. */
MC_API size_t mc_pb_file_count(const mc_pb_set *s);
MC_API const mc_pb_file *mc_pb_file_at(const mc_pb_set *s, size_t i);
MC_API size_t mc_pb_service_count(const mc_pb_set *s);
MC_API const mc_pb_service *mc_pb_service_at(const mc_pb_set *s, size_t i);

/*
 * Decodes the binary message buf of type msg_type into proto3 JSON (json_name
 * keys, default values omitted, unknown fields skipped). Returns a new reference
 * or NULL with err: path is the JSON path reached, msg names the byte offset.
 */
MC_API json_t *mc_pb_to_json(const mc_pb_set *s, const char *msg_type, const uint8_t *buf, size_t len,
                             mc_error *err);

/*
 * Encodes the JSON value v as a binary message of type msg_type. Keys may be
 * json_name or the proto name; unknown keys are an error. On MC_OK *out is a
 * malloc'd buffer (free it) of *outlen bytes (possibly 0, then *out may be NULL).
 * Otherwise err->path names the offending JSON value ($.items[2].price).
 */
MC_API mc_status mc_pb_from_json(const mc_pb_set *s, const char *msg_type, const json_t *v, uint8_t **out,
                                 size_t *outlen, mc_error *err);

/*
 * An example message of msg_type as JSON, every field set once, with values
 * suited to the field names where the faker has one (email, id, name, ...).
 * Deterministic for a given rng state; recursion stops at a small depth and
 * at a type already being built. Returns a new reference or NULL for an
 * unknown type.
 */
MC_API json_t *mc_pb_example(const mc_pb_set *s, const char *msg_type, mc_rng *rng);

#endif
