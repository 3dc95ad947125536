/*
 * fn_resolve.c - mockarty.resolve(): match an HTTP or gRPC request against the live
 * mocks of a namespace with core, then apply the mock's side effects under a
 * row lock and return core's response object.
 *
 * Two constraints shape this file. First, compiling every mock for every call
 * would make resolve cost O(mocks), so each backend keeps a compiled core index
 * keyed by the change-log version (mockarty.head_version()) and replays
 * mockarty.changes_since() to catch up, or rebuilds from mockarty.snapshot() when
 * too far behind or after a rollback that may have undone what it replayed.
 * Second, core allocates with malloc (jansson) while PostgreSQL reports errors by
 * longjmp: every jansson value of a call lives in one ResolveState that a
 * PG_TRY/PG_CATCH frees before the error propagates, and the skip callback that
 * core calls in the middle of matching catches errors itself (core must never be
 * longjmp'd through) and re-throws them once core has returned.
 */
#include "postgres.h"

#include "mockarty_ext.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "mockarty/core.h"

#include <string.h>
#include <time.h>

PG_FUNCTION_INFO_V1(mockarty_resolve);

/* now used with a fixed seed, so seeded output is reproducible across runs */
#define MK_SEEDED_NOW INT64CONST(1700000000)
/* rows fetched per changes_since() call while replaying */
#define MK_REPLAY_BATCH 1000

/* ------------------------------------------------------------ index cache */

typedef struct IndexCache
{
	mc_index   *idx;			/* malloc'd by core; NULL when dropped */
	int64		version;		/* change-log version idx reflects */
	bool		valid;			/* false while being (re)built */
	bool		touched;		/* changed while our transaction had an xid */
	bool		callbacks;		/* transaction callbacks registered */
} IndexCache;

static IndexCache cache;

static void
cache_drop(void)
{
	if (cache.idx != NULL)
		mc_index_free(cache.idx);
	cache.idx = NULL;
	cache.valid = false;
	cache.version = 0;
}

/*
 * Versions are gap-free, so a rolled-back writer's version number is reused by
 * the next writer. An index that replayed uncommitted changes of an aborted
 * (sub)transaction would then believe it is current while holding undone mocks:
 * drop it.
 */
static void
cache_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (cache.touched)
				cache_drop();
			cache.touched = false;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			cache.touched = false;
			break;
		default:
			break;
	}
}

static void
cache_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && cache.touched)
		cache_drop();
}

static void
cache_mark_touched(void)
{
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		cache.touched = true;
}

/* Runs a one-row one-column bigint query through SPI. */
static int64
spi_int8(const char *sql)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute(sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "mockarty: query \"%s\" failed", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * Replaces (ns, id) in the index by the mock document text (NULL = remove only).
 * A document core refuses is skipped with a WARNING: one bad row must not stop
 * every other mock from resolving. Holds no jansson memory when it raises.
 */
static void
index_apply(mc_index *idx, const char *ns, const char *id, const char *text, int64 version)
{
	json_t	   *mock;
	json_error_t jerr;
	mc_error	err;
	mc_status	st;

	if (ns != NULL && id != NULL)
		mc_index_remove(idx, ns, id);
	if (text == NULL)
		return;
	mock = mc_json_loadb_wide(text, strlen(text), 0, &jerr);
	if (mock == NULL)
	{
		ereport(WARNING,
				(errmsg("mock \"%s\" could not be loaded into the resolver index", id ? id : "?"),
				 errdetail("%s", jerr.text)));
		return;
	}
	memset(&err, 0, sizeof(err));
	st = mc_index_put(idx, mock, version, &err);
	json_decref(mock);
	if (st != MC_OK)
		ereport(WARNING,
				(errmsg("mock \"%s\" skipped by the resolver index: %s", id ? id : "?", err.msg),
				 err.path[0] ? errdetail("JSON path: %s.", err.path) : 0));
}

static char *
spi_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* Builds a fresh index from mockarty.snapshot() and labels it with head. */
static void
cache_rebuild(int64 head)
{
	uint64		i;

	cache_drop();
	cache.idx = mc_index_new();
	if (cache.idx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	cache_mark_touched();
	if (SPI_execute("SELECT mock::text, mock->>'namespace', mock->>'id', version FROM mockarty.snapshot()",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "mockarty: snapshot query failed");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		v = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull));

		index_apply(cache.idx, spi_text(i, 2), spi_text(i, 3), spi_text(i, 1), v);
	}
	SPI_freetuptable(SPI_tuptable);
	cache.version = head;
	cache.valid = true;
}

/* Applies changes after cache.version in order until none are left. */
static void
cache_replay(void)
{
	for (;;)
	{
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		values[2];
		uint64		i,
					n;

		values[0] = Int64GetDatum(cache.version);
		values[1] = Int32GetDatum(MK_REPLAY_BATCH);
		if (SPI_execute_with_args("SELECT version, op, namespace, mock_id, mock::text "
								  "FROM mockarty.changes_since($1, $2)",
								  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "mockarty: changes_since query failed");
		n = SPI_processed;
		if (n == 0)
			break;
		cache.valid = false;
		cache_mark_touched();
		for (i = 0; i < n; i++)
		{
			bool		isnull;
			int64		v = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			char	   *op = spi_text(i, 2);

			index_apply(cache.idx, spi_text(i, 3), spi_text(i, 4),
						strcmp(op, "upsert") == 0 ? spi_text(i, 5) : NULL, v);
			cache.version = v;
		}
		cache.valid = true;
		SPI_freetuptable(SPI_tuptable);
		if (n < MK_REPLAY_BATCH)
			break;
	}
}

/* Brings the backend's index up to the current change-log head. */
static void
cache_refresh(void)
{
	int64		head;

	if (!cache.callbacks)
	{
		RegisterXactCallback(cache_xact_callback, NULL);
		RegisterSubXactCallback(cache_subxact_callback, NULL);
		cache.callbacks = true;
	}
	head = spi_int8("SELECT mockarty.head_version()");
	if (cache.valid && cache.idx != NULL && head == cache.version)
		return;
	if (!cache.valid || cache.idx == NULL || head < cache.version ||
		head - cache.version > mockarty_replay_max)
		cache_rebuild(head);
	else
		cache_replay();
}

/* ------------------------------------------------------------ one call */

/* Every jansson value one call owns; freed on success and on error alike. */
typedef struct ResolveState
{
	json_t	   *query;
	json_t	   *headers;
	json_t	   *body_json;
	json_t	   *tmp;
	json_t	   *mock;
	mc_match	match;
	bool		have_match;
	mc_stores	stores;
	json_t	   *resp;
	json_t	   *logreq;
} ResolveState;

/* Idempotent: safe to call again from PG_CATCH after a partial cleanup. */
static void
state_free(ResolveState *s)
{
	json_decref(s->query);
	json_decref(s->headers);
	json_decref(s->body_json);
	json_decref(s->tmp);
	json_decref(s->mock);
	if (s->have_match)
		mc_match_clear(&s->match);
	json_decref(s->stores.gs);
	json_decref(s->stores.cs);
	json_decref(s->stores.ms);
	json_decref(s->resp);
	json_decref(s->logreq);
	memset(s, 0, sizeof(*s));
}

typedef struct ResolveArgs
{
	const char *ns;
	const char *method;
	const char *path;
	const char *query;
	Jsonb	   *headers;		/* NULL = none */
	const char *body;			/* NULL = none */
	bool		seeded;
	int64		seed;
	int			protocol;		/* MC_PROTO_HTTP or MC_PROTO_GRPC */
} ResolveArgs;

/* State of the skip callback: the winner's row, or the error to re-throw. */
typedef struct SkipCtx
{
	MemoryContext ecxt;
	bool		failed;
	ErrorData  *edata;
	int64		cursor;
} SkipCtx;

/*
 * Locks the candidate's row and decides whether it may answer: not deleted, not
 * expired, use limit not spent. Under READ COMMITTED a concurrent resolver that
 * bumped use_counter first is seen after its commit (the row lock waits for it and
 * the condition is checked again on the newest row), so a limit of N gives exactly N
 * matches. A candidate already deleted, expired or spent in the snapshot is skipped
 * without locking it: a resolve then holds the lock of the one mock that answers
 * only, never a skipped row while it waits for the next candidate's (writers lock
 * several rows in id order, sql/install/02_helpers.sql). Returns true to skip;
 * raises nothing (see SkipCtx).
 */
static bool
skip_candidate(void *arg, const json_t *mock)
{
	SkipCtx    *ctx = (SkipCtx *) arg;
	const char *id = json_string_value(json_object_get(mock, "id"));
	volatile bool skip = true;

	if (ctx->failed || id == NULL)
		return true;
	PG_TRY();
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1];

		values[0] = CStringGetTextDatum(id);
		if (SPI_execute_with_args("SELECT m.oneof_cursor"
								  " FROM mockarty_private.mocks m WHERE m.id = $1"
								  " AND m.closed_at IS NULL"
								  " AND (m.expire_at IS NULL OR m.expire_at > now())"
								  " AND NOT (m.use_limiter > 0 AND m.use_counter >= m.use_limiter)"
								  " FOR UPDATE",
								  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "mockarty: locking mock \"%s\" failed", id);
		if (SPI_processed == 1)
		{
			bool		isnull;

			ctx->cursor = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));
			skip = false;
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(ctx->ecxt);
		ctx->edata = CopyErrorData();
		FlushErrorState();
		ctx->failed = true;
		skip = true;
	}
	PG_END_TRY();
	return skip;
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/*
 * Turns the headers argument ({"Name": "v" | ["v", ...]}) into core's form
 * (lower-case name -> array of strings). Returns a new object, or NULL with *why
 * set when the shape is wrong. Never raises.
 */
static json_t *
headers_normalize(const json_t *in, const char **why)
{
	json_t	   *out;
	const char *key;
	json_t	   *val;

	if (!json_is_object(in))
	{
		*why = "headers must be a JSON object";
		return NULL;
	}
	out = json_object();
	if (out == NULL)
	{
		*why = "out of memory";
		return NULL;
	}
	json_object_foreach((json_t *) in, key, val)
	{
		size_t		len = strlen(key);
		char	   *lk = malloc(len + 1);
		json_t	   *arr = json_array();
		size_t		i;

		if (lk == NULL || arr == NULL)
		{
			free(lk);
			json_decref(arr);
			json_decref(out);
			*why = "out of memory";
			return NULL;
		}
		for (i = 0; i <= len; i++)
			lk[i] = ascii_lower(key[i]);
		if (json_is_string(val))
			json_array_append(arr, val);
		else if (json_is_array(val))
		{
			size_t		k;
			json_t	   *e;

			json_array_foreach(val, k, e)
			{
				if (!json_is_string(e))
				{
					free(lk);
					json_decref(arr);
					json_decref(out);
					*why = "header values must be strings or arrays of strings";
					return NULL;
				}
				json_array_append(arr, e);
			}
		}
		else
		{
			free(lk);
			json_decref(arr);
			json_decref(out);
			*why = "header values must be strings or arrays of strings";
			return NULL;
		}
		/* repeated names after lower-casing merge into one list */
		if (json_object_get(out, lk) != NULL)
		{
			json_array_extend(json_object_get(out, lk), arr);
			json_decref(arr);
		}
		else
			json_object_set_new(out, lk, arr);
		free(lk);
	}
	return out;
}

/*
 * Loads a jsonb query result (one text column, one row) into s-owned memory; no row,
 * NULL or a non-object is an empty object. Text jansson cannot read raises an error:
 * treating it as empty would write an empty store back over the real one.
 */
static json_t *
spi_load_object(const char *sql, int nargs, Oid *types, Datum *values)
{
	char	   *text = NULL;
	json_t	   *j;
	json_error_t jerr;

	if (SPI_execute_with_args(sql, nargs, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "mockarty: query \"%s\" failed", sql);
	if (SPI_processed == 1)
		text = spi_text(0, 1);
	j = text ? mc_json_loadb_wide(text, strlen(text), 0, &jerr) : NULL;
	if (text != NULL && j == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not read a mock store"),
				 errdetail("%s at line %d, column %d.", jerr.text, jerr.line, jerr.column)));
	if (!json_is_object(j))
	{
		json_decref(j);
		j = json_object();
	}
	return j;
}

/* Runs a write statement with text arguments (NULL pointer = SQL NULL). */
static void
spi_exec_text(const char *sql, int nargs, const char **args)
{
	Oid			types[8];
	Datum		values[8];
	char		nulls[8];
	int			i;
	int			rc;

	Assert(nargs <= 8);
	for (i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
		nulls[i] = args[i] ? ' ' : 'n';
	}
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "mockarty: statement \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/* Dumps a jansson value to palloc'd text, raising when jansson cannot encode it. */
static char *
dump_or_error(const json_t *j, const char *what)
{
	char	   *t = mk_json_dump(j);

	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not encode %s as JSON", what)));
	return t;
}

/* A miss: record it as an undefined request (body as JSON when it parses). */
static void
record_undefined(ResolveState *s, const ResolveArgs *a)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	char	   *body = NULL;

	if (s->body_json != NULL)
		body = dump_or_error(s->body_json, "the request body");
	else if (a->body != NULL)
	{
		s->tmp = json_string(a->body);
		body = s->tmp ? mk_json_dump(s->tmp) : NULL;
		json_decref(s->tmp);
		s->tmp = NULL;
	}
	values[0] = CStringGetTextDatum(a->ns);
	values[1] = CStringGetTextDatum(a->method);
	values[2] = CStringGetTextDatum(a->path);
	if (a->headers != NULL)
		values[3] = JsonbPGetDatum(a->headers);
	else
		values[3] = mk_text_to_jsonb("{}");
	if (body != NULL)
		values[4] = CStringGetTextDatum(body);
	else
		nulls[4] = 'n';
	if (SPI_execute_with_args("SELECT mockarty.undefined_record($1, $2, $3, $4, $5::jsonb)",
							  5, types, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "mockarty: recording an undefined request failed");
}

/*
 * The body of resolve, run inside PG_TRY with SPI connected. Returns the
 * response as JSON text palloc'd in caller, or NULL on a miss. All jansson
 * values go into s so the caller can free them whatever happens.
 */
static char *
resolve_work(ResolveState *s, MemoryContext caller, const ResolveArgs *a)
{
	mc_request	req;
	mc_error	err;
	mc_status	st;
	SkipCtx		sctx;
	mc_rng		rng;
	mc_render_ctx rctx;
	json_error_t jerr;
	const char *id;
	const char *chain;
	bool		stateful;
	int64		cursor;
	uint64		seed;
	char	   *resp_text;
	char		cursor_buf[32];
	MemoryContext old;

	cache_refresh();

	s->query = mc_query_parse(a->query);
	if (s->query == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (a->headers != NULL)
	{
		const char *why = NULL;

		s->tmp = mk_jsonb_to_json(a->headers);
		s->headers = s->tmp ? headers_normalize(s->tmp, &why) : NULL;
		json_decref(s->tmp);
		s->tmp = NULL;
		if (s->headers == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid headers argument"),
					 errdetail("%s.", why ? why : "headers could not be read"),
					 errhint("Pass an object of name -> string or array of strings, e.g. '{\"Accept\": \"application/json\"}'.")));
	}
	if (a->body != NULL && a->body[0] != '\0')
		s->body_json = mc_json_loadb_wide(a->body, strlen(a->body), JSON_DECODE_ANY, &jerr);

	memset(&req, 0, sizeof(req));
	req.method = a->method;
	req.path = a->path;
	req.query = s->query;
	req.headers = s->headers;
	req.body = a->body;
	req.body_len = a->body ? strlen(a->body) : 0;
	req.body_json = s->body_json;
	req.protocol = a->protocol;

	memset(&sctx, 0, sizeof(sctx));
	sctx.ecxt = CurrentMemoryContext;
	st = mc_index_match(cache.idx, a->ns, &req, skip_candidate, &sctx, &s->match);
	if (st == MC_OK)
		s->have_match = true;
	if (sctx.failed)
		ReThrowError(sctx.edata);
	if (st == MC_ENOTFOUND)
	{
		record_undefined(s, a);
		return NULL;
	}
	if (st != MC_OK)
		ereport(ERROR,
				(errcode(st == MC_ENOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("could not match the request against the mocks of namespace \"%s\"", a->ns)));

	s->mock = json_incref(s->match.mock);
	id = json_string_value(json_object_get(s->mock, "id"));
	chain = json_string_value(json_object_get(s->mock, "chainId"));
	stateful = mc_mock_is_stateful(s->mock);

	if (stateful)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2];
		const char *lockargs[1];

		/* stores are shared by mocks: serialise their read-modify-write */
		lockargs[0] = a->ns;
		spi_exec_text("SELECT pg_advisory_xact_lock(hashtextextended('mockarty.gs:' || $1, 0))", 1, lockargs);
		values[0] = CStringGetTextDatum(a->ns);
		s->stores.gs = spi_load_object("SELECT mockarty.store_global_get($1)::text", 1, types, values);
		if (chain != NULL)
		{
			const char *args2[2] = {a->ns, chain};

			spi_exec_text("SELECT pg_advisory_xact_lock(hashtextextended('mockarty.cs:' || $1 || ':' || $2, 0))",
						  2, args2);
			values[1] = CStringGetTextDatum(chain);
			s->stores.cs = spi_load_object("SELECT mockarty.store_chain_get($1, $2)::text", 2, types, values);
		}
		values[0] = CStringGetTextDatum(id);
		s->stores.ms = spi_load_object("SELECT data::text FROM mockarty_private.mock_store WHERE mock_id = $1",
									   1, types, values);
	}

	if (a->seeded)
		seed = (uint64) a->seed;
	else if (!pg_strong_random(&seed, sizeof(seed)))
		seed = (uint64) time(NULL) ^ ((uint64) MyProcPid << 32);
	mc_rng_seed(&rng, seed);

	memset(&rctx, 0, sizeof(rctx));
	rctx.req = &req;
	rctx.path_params = s->match.path_params;
	rctx.stores = stateful ? &s->stores : NULL;
	rctx.rng = &rng;
	rctx.now = a->seeded ? MK_SEEDED_NOW : (int64) time(NULL);
	rctx.output_limit = (size_t) mockarty_template_output_limit * 1024;
	cursor = sctx.cursor;
	memset(&err, 0, sizeof(err));
	s->resp = mc_resolve_response(s->mock, &rctx, &cursor, &err);
	if (s->resp == NULL && rctx.output_exceeded)
		ereport(ERROR,
				(errcode(ERRCODE_MOCKARTY_TEMPLATE_OUTPUT_LIMIT),
				 errmsg("response template output exceeds mockarty.template_output_limit (%d kB) rendering mock \"%s\"",
						mockarty_template_output_limit, id ? id : "?"),
				 err.path[0] ? errdetail("JSON path: %s.", err.path) : 0,
				 errhint("Render less per response, or raise mockarty.template_output_limit.")));
	if (s->resp == NULL)
		ereport(ERROR,
				(errcode(err.code == MC_ENOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not render mock \"%s\": %s", id ? id : "?", err.msg),
				 err.path[0] ? errdetail("JSON path: %s.", err.path) : 0));

	/* side effects, all in the caller's transaction */
	if (stateful && s->stores.gs_dirty)
	{
		const char *args[2] = {a->ns, dump_or_error(s->stores.gs, "the global store")};

		spi_exec_text("SELECT mockarty_private.store_replace_global($1, $2::jsonb)", 2, args);
	}
	if (stateful && s->stores.cs_dirty && chain != NULL)
	{
		const char *args[3] = {a->ns, chain, dump_or_error(s->stores.cs, "the chain store")};

		spi_exec_text("SELECT mockarty_private.store_replace_chain($1, $2, $3::jsonb)", 3, args);
	}
	if (stateful && s->stores.ms_dirty)
	{
		const char *args[2] = {id, dump_or_error(s->stores.ms, "the mock store")};

		spi_exec_text("UPDATE mockarty_private.mock_store SET data = $2::jsonb WHERE mock_id = $1", 2, args);
	}
	snprintf(cursor_buf, sizeof(cursor_buf), INT64_FORMAT, cursor);
	{
		const char *args[2] = {id, cursor_buf};

		spi_exec_text("UPDATE mockarty_private.mocks SET use_counter = use_counter + 1, last_use = now(),"
					  " oneof_cursor = $2::bigint WHERE id = $1", 2, args);
	}

	/* request log: what came in and what went out */
	s->logreq = json_pack("{s:s, s:s, s:O, s:O}", "method", a->method, "path", a->path,
						  "query", s->query, "headers", s->headers ? s->headers : json_null());
	if (s->logreq != NULL)
	{
		if (s->body_json != NULL)
			json_object_set(s->logreq, "body", s->body_json);
		else if (a->body != NULL)
			json_object_set_new(s->logreq, "body", json_string(a->body));
		{
			const char *args[3] = {id, dump_or_error(s->logreq, "the request"),
				dump_or_error(s->resp, "the response")};

			spi_exec_text("SELECT mockarty_private.log_insert($1, $2::jsonb, $3::jsonb, NULL)", 3, args);
		}
	}

	old = MemoryContextSwitchTo(caller);
	resp_text = dump_or_error(s->resp, "the response");
	MemoryContextSwitchTo(old);
	return resp_text;
}

/* Percent-decodes a URL path in place (%XX with two hex digits; others kept). */
static void
path_decode(char *p)
{
	char	   *w = p;

	for (; *p; p++)
	{
		if (p[0] == '%' && isxdigit((unsigned char) p[1]) && isxdigit((unsigned char) p[2]))
		{
			char		hex[3] = {p[1], p[2], '\0'};

			*w++ = (char) strtol(hex, NULL, 16);
			p += 2;
		}
		else
			*w++ = *p;
	}
	*w = '\0';
}

/*
 * resolve(namespace, method, path, query, headers, body, seed) RETURNS jsonb.
 * Not STRICT: namespace NULL means sandbox, query/headers/body NULL mean absent,
 * seed NULL means random. A path with "?..." supplies the query when query is
 * empty. Returns core's response object, or NULL on a miss.
 */
Datum
mockarty_resolve(PG_FUNCTION_ARGS)
{
	ResolveArgs a;
	ResolveState s;
	MemoryContext caller = CurrentMemoryContext;
	char	   *volatile result = NULL;
	char	   *method;
	char	   *path;
	char	   *q;
	int			i;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("method and path of a request to resolve must not be null")));
	memset(&a, 0, sizeof(a));
	a.ns = PG_ARGISNULL(0) ? MC_DEFAULT_NAMESPACE : text_to_cstring(PG_GETARG_TEXT_PP(0));
	method = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (i = 0; method[i]; i++)
		method[i] = pg_toupper((unsigned char) method[i]);
	a.method = method;
	path = text_to_cstring(PG_GETARG_TEXT_PP(2));
	a.query = PG_ARGISNULL(3) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	q = strchr(path, '?');
	if (q != NULL)
	{
		*q = '\0';
		if (a.query[0] == '\0')
			a.query = q + 1;
	}
	path_decode(path);
	a.path = path;
	a.headers = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	a.body = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	a.seeded = !PG_ARGISNULL(6);
	a.seed = a.seeded ? PG_GETARG_INT64(6) : 0;
	a.protocol = MC_PROTO_HTTP;
	/* 0.1.0's resolve has seven arguments; 0.2.0 adds protocol */
	if (PG_NARGS() > 7 && !PG_ARGISNULL(7))
	{
		char	   *proto = text_to_cstring(PG_GETARG_TEXT_PP(7));

		if (pg_strcasecmp(proto, "grpc") == 0)
			a.protocol = MC_PROTO_GRPC;
		else if (proto[0] != '\0' && pg_strcasecmp(proto, "http") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown protocol \"%s\" for resolve", proto),
					 errhint("Protocols are http and grpc.")));
	}

	memset(&s, 0, sizeof(s));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "mockarty: SPI_connect failed");
	PG_TRY();
	{
		result = resolve_work(&s, caller, &a);
	}
	PG_CATCH();
	{
		state_free(&s);
		PG_RE_THROW();
	}
	PG_END_TRY();
	state_free(&s);
	SPI_finish();

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(mk_text_to_jsonb(result));
}
