/*
 * sources.h - importers that turn other tools' stub formats into mockarty mocks:
 * WireMock mappings, Mockoon environments and HAR captures.
 *
 * Every importer answers the same report, a new jansson object the caller owns:
 *
 *   {"mocks":[...], "warnings":[{"pointer":"/mappings/3/request/bodyPatterns/0",
 *                                "message":"..."}], "errors":[{"pointer","message"}]}
 *
 * Each mock is a document POST /api/v1/mocks accepts and mc_mock_validate passes, with
 * a stable id derived from (namespace, source, the item's identity), so importing the
 * same document again addresses the same mocks (mockarty.import_mocks merges them).
 * What cannot be translated is named in "warnings" with the JSON pointer (RFC 6901)
 * of the source item; a document that is not of the format at all gives "errors" and
 * no mocks. Pure functions of their inputs: no I/O, no global state.
 */
#ifndef MOCKARTY_SOURCES_H
#define MOCKARTY_SOURCES_H

#include "mockarty/core.h"

#define MC_IMPORT_MAX_ITEMS 50000 /* source items per document; more are reported, not imported */

/*
 * The stable id of an imported mock: "imp-" and 32 hex digits of a hash of namespace,
 * source and item (each may be NULL = ""). out must hold 37 bytes.
 */
MC_API void mc_import_id(const char *ns, const char *source, const char *item, char out[37]);

/* WireMock: one mapping object, or {"mappings":[...]} (the /__admin/mappings shape). */
MC_API json_t *mc_import_wiremock(const json_t *doc, const char *ns, const char *source);

/* Mockoon: an environment file ({"routes":[...], ...}). */
MC_API json_t *mc_import_mockoon(const json_t *doc, const char *ns, const char *source);

/*
 * HAR 1.2: {"log":{"entries":[...]}}. One mock per distinct (method, path, query-set);
 * when several entries share one, the last wins unless one_of is true, then their
 * responses become the mock's oneOf (in capture order).
 */
MC_API json_t *mc_import_har(const json_t *doc, const char *ns, const char *source, bool one_of);

/*
 * Translates one WireMock mapping (the shape of POST /__admin/mappings) into a mock
 * with the given id. Warnings are appended to warnings (may be NULL) with pointers
 * under base_pointer. Returns a new mock, or NULL with err set when the mapping
 * cannot become a mock at all.
 */
MC_API json_t *mc_wiremock_mapping_to_mock(const json_t *mapping, const char *id, const char *base_pointer,
					   json_t *warnings, mc_error *err);

#endif
