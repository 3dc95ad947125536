/*
 * link/index.c - the resolver's glue between the Sync stream and mockserve's
 * versioned store: snapshot chunks go into a set built off to the side and
 * installed whole at the last chunk, deltas edit the set in force under the
 * store's write lock.
 *
 * The constraint: HTTP threads keep matching while a 100,000-mock snapshot is
 * being compiled, so the expensive part (parsing and compiling documents)
 * happens with no lock held, and readers only ever see a complete set at one
 * version. A document the core rejects is logged and skipped; it never stops
 * a load or holds the version back.
 */
#include "resolver.h"
#include "link/link.h"

#include "log.h"
#include "mockserve.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

ms_store *rs_store;
const char *rs_server_name;

/* True when json belongs to rs_server_name's server (always, without a filter). */
static bool
server_matches(const char *json)
{
	json_t *doc;
	const char *sn;
	bool ok;

	if (rs_server_name == NULL || rs_server_name[0] == '\0')
		return true;
	doc = json_loads(json, JSON_DISABLE_EOF_CHECK, NULL);
	sn = json_string_value(json_object_get(doc, "serverName"));
	ok = sn != NULL && strcmp(sn, rs_server_name) == 0;
	json_decref(doc);
	return ok;
}

struct rs_build {
	ms_set *set;
	size_t skipped;
};

bool
rs_index_init(void)
{
	rs_store = ms_store_new();
	return rs_store != NULL;
}

void
rs_index_free(void)
{
	ms_store_free(rs_store);
	rs_store = NULL;
}

rs_build *
rs_build_new(void)
{
	rs_build *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->set = ms_set_new();
	if (b->set == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

void
rs_build_add(rs_build *b, const char *ns, const char *id, const char *json, uint64_t version)
{
	char err[300];

	if (!server_matches(json))
		return;
	if (!ms_set_put(b->set, json, strlen(json), ns, (int64_t)version, err, sizeof(err))) {
		b->skipped++;
		log_warn("mock %s (namespace %s) skipped: %s", id, ns, err);
	}
}

/*
 * The lock-free half of rs_build_add, safe to run on any thread (the sync
 * pipeline's workers): parses and classifies one document. Returns what
 * rs_build_put() consumes, or NULL when the document is rejected (logged).
 */
struct ms_prepared *
rs_prepare(const char *ns, const char *id, const char *json)
{
	char err[300];
	ms_prepared *p;

	if (!server_matches(json))
		return NULL;
	p = ms_prepare(json, strlen(json), ns, err, sizeof(err));

	if (p == NULL)
		log_warn("mock %s (namespace %s) skipped: %s", id, ns, err);
	return p;
}

/*
 * The ordered half: puts a prepared document into the build (p consumed; NULL
 * counts a document rs_prepare() rejected). Called by the build's owner only,
 * in stream order, so a later duplicate id still wins.
 */
void
rs_build_put(rs_build *b, const char *ns, const char *id, struct ms_prepared *p, uint64_t version)
{
	char err[300];

	if (p == NULL) {
		b->skipped++;
		return;
	}
	if (!ms_set_put_prepared(b->set, p, (int64_t)version, err, sizeof(err))) {
		b->skipped++;
		log_warn("mock %s (namespace %s) skipped: %s", id, ns, err);
	}
}

void
rs_build_commit(rs_build *b, uint64_t version)
{
	if (b->skipped > 0)
		log_warn("snapshot at version %llu: %zu mocks skipped", (unsigned long long)version,
		         b->skipped);
	ms_store_install(rs_store, b->set, (int64_t)version);
	free(b);
	/*
	 * The replaced set was just freed: hand its pages back to the kernel, or a
	 * resolver that resynced a few times against a large namespace keeps the
	 * peak of every generation resident.
	 */
	malloc_trim(0);
}

void
rs_build_abort(rs_build *b)
{
	if (b == NULL)
		return;
	ms_set_free(b->set);
	free(b);
}

void
rs_apply_upsert(uint64_t version, const char *ns, const char *id, const char *json)
{
	char err[300];
	ms_set *set = ms_store_write_begin(rs_store);

	if (set == NULL) {
		log_error("out of memory applying delta %llu", (unsigned long long)version);
		return;
	}
	if (!server_matches(json)) {
		ms_set_remove(set, ns, id); /* moved to another server */
	} else if (!ms_set_put(set, json, strlen(json), ns, (int64_t)version, err, sizeof(err))) {
		/* the old definition must not keep answering: the writer replaced it */
		ms_set_remove(set, ns, id);
		log_warn("mock %s (namespace %s) at version %llu rejected: %s", id, ns,
		         (unsigned long long)version, err);
	}
	ms_store_write_end(rs_store, (int64_t)version);
}

void
rs_apply_delete(uint64_t version, const char *ns, const char *id)
{
	ms_set *set = ms_store_write_begin(rs_store);

	if (set == NULL) {
		log_error("out of memory applying delta %llu", (unsigned long long)version);
		return;
	}
	ms_set_remove(set, ns, id);
	ms_store_write_end(rs_store, (int64_t)version);
}

size_t
rs_mocks_loaded(void)
{
	return rs_store ? ms_store_count(rs_store) : 0;
}
