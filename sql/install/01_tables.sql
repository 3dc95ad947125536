-- 01_tables.sql - the core tables (namespaces, mocks and their versions, change log, stores, tags, folders, logs, undefined requests, users and tokens).
-- Part of the install script: extension/Makefile concatenates sql/install/*.sql in a fixed order.

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE mockarty_private.namespaces (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.namespaces IS 'Namespaces; sandbox always exists';

INSERT INTO mockarty_private.namespaces (name) VALUES ('sandbox');

CREATE TABLE mockarty_private.folders (
	id text PRIMARY KEY,
	name text NOT NULL,
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	parent_id text REFERENCES mockarty_private.folders (id) ON DELETE SET NULL,
	sort_order int NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.folders IS 'UI folders that group mocks; a tree through parent_id';

CREATE TABLE mockarty_private.mocks (
	id text PRIMARY KEY,
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	doc jsonb NOT NULL,
	route text,
	http_method text,
	priority bigint NOT NULL DEFAULT 0,
	chain_id text,
	folder_id text,
	tags text[] NOT NULL DEFAULT '{}',
	ttl bigint,
	expire_at timestamptz,
	use_limiter bigint NOT NULL DEFAULT 0,
	use_counter bigint NOT NULL DEFAULT 0,
	oneof_cursor bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	last_use timestamptz,
	closed_at timestamptz,
	version int NOT NULL DEFAULT 1,
	change_version bigint NOT NULL
);
COMMENT ON TABLE mockarty_private.mocks IS 'Mocks: doc is the mock as the user gave it minus server fields (id, namespace, timestamps, useCounter); the other columns are derived from it or maintained by the server';
COMMENT ON COLUMN mockarty_private.mocks.version IS 'Per-mock version number, the newest row of mock_versions';
COMMENT ON COLUMN mockarty_private.mocks.change_version IS 'Change-log version at which this mock was last written';
COMMENT ON COLUMN mockarty_private.mocks.oneof_cursor IS 'Position of the next sequential oneOf response';

CREATE INDEX mocks_namespace_idx ON mockarty_private.mocks (namespace);
CREATE INDEX mocks_chain_idx ON mockarty_private.mocks (chain_id) WHERE chain_id IS NOT NULL;
CREATE INDEX mocks_expire_idx ON mockarty_private.mocks (expire_at) WHERE expire_at IS NOT NULL;
CREATE INDEX mocks_tags_idx ON mockarty_private.mocks USING gin (tags);

CREATE TABLE mockarty_private.mock_versions (
	mock_id text NOT NULL REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	version int NOT NULL,
	doc jsonb NOT NULL,
	saved_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (mock_id, version)
);
COMMENT ON TABLE mockarty_private.mock_versions IS 'Every saved state of every mock (doc includes id and namespace)';

CREATE TABLE mockarty_private.mock_store (
	mock_id text PRIMARY KEY REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	data jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE mockarty_private.mock_store IS 'Per-mock store ($.mS), seeded from the mock''s mStore on save';

CREATE TABLE mockarty_private.global_store (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	key text NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (namespace, key)
);
COMMENT ON TABLE mockarty_private.global_store IS 'Namespace global store ($.gS), one row per key';

CREATE TABLE mockarty_private.chain_store (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	chain_id text NOT NULL,
	key text NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (namespace, chain_id, key)
);
COMMENT ON TABLE mockarty_private.chain_store IS 'Chain stores ($.cS) per namespace and chainId, one row per key';

CREATE TABLE mockarty_private.request_logs (
	id bigserial PRIMARY KEY,
	mock_id text NOT NULL REFERENCES mockarty_private.mocks (id) ON DELETE CASCADE,
	called_at timestamptz NOT NULL DEFAULT now(),
	req jsonb,
	response jsonb
);
COMMENT ON TABLE mockarty_private.request_logs IS 'Last requests per mock, bounded by the GUC mockarty.log_limit';
CREATE INDEX request_logs_mock_idx ON mockarty_private.request_logs (mock_id, id);

CREATE TABLE mockarty_private.undefined_requests (
	id bigserial PRIMARY KEY,
	namespace text NOT NULL,
	method text NOT NULL,
	path text NOT NULL,
	protocol text NOT NULL DEFAULT 'http',
	headers jsonb NOT NULL DEFAULT '{}',
	body jsonb,
	count bigint NOT NULL DEFAULT 1,
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now(),
	ignored boolean NOT NULL DEFAULT false,
	-- the dedup key is a digest, so a miss on an arbitrarily long path still fits an
	-- index row (a btree entry is limited to about 2.7 kB); md5 is enough for grouping
	-- misses and, unlike the bytea digests, immutable as a generated column needs
	request_key text GENERATED ALWAYS AS (md5(
		length(namespace)::text || ':' || namespace || length(method)::text || ':' || method || path)) STORED,
	UNIQUE (request_key),
	body_truncated boolean NOT NULL DEFAULT false,
	body_size bigint
);
COMMENT ON TABLE mockarty_private.undefined_requests IS 'Requests no mock matched, one row per namespace+method+path (deduplicated by request_key, an MD5 of the three); credential headers are stored redacted and the body capped (settings undefined_redact_headers, undefined_body_max_bytes)';
COMMENT ON COLUMN mockarty_private.undefined_requests.body_truncated IS 'True when the body was longer than undefined_body_max_bytes: body is then a JSON string holding the first bytes of its text';
COMMENT ON COLUMN mockarty_private.undefined_requests.body_size IS 'Length in bytes of the body''s JSON text as received (before the cap), NULL without a body';
CREATE INDEX undefined_requests_ns_seen_idx ON mockarty_private.undefined_requests (namespace, last_seen DESC, id DESC);

CREATE TABLE mockarty_private.tags (
	namespace text NOT NULL REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	name text NOT NULL CHECK (name <> ''),
	PRIMARY KEY (namespace, name)
);
COMMENT ON TABLE mockarty_private.tags IS 'Registered tags (for autocomplete); tags used by mocks are listed too';

CREATE TABLE mockarty_private.users (
	id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
	login text NOT NULL UNIQUE CHECK (login <> ''),
	password_hash text,
	role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'editor', 'viewer')),
	created_at timestamptz NOT NULL DEFAULT now(),
	enabled boolean NOT NULL DEFAULT true,
	requires_password_change boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE mockarty_private.users IS 'Users; password_hash is bcrypt (pgcrypto), NULL = cannot log in';
COMMENT ON COLUMN mockarty_private.users.role IS 'System role: admin (admin in every namespace), editor or viewer (their rights come from user_namespaces)';
COMMENT ON COLUMN mockarty_private.users.enabled IS 'false: the user cannot sign in and its sessions stop working';
COMMENT ON COLUMN mockarty_private.users.requires_password_change IS 'true after a one-time or admin-set password until the user sets a password of its own';

CREATE TABLE mockarty_private.api_tokens (
	id text PRIMARY KEY,
	name text NOT NULL,
	user_id text NOT NULL REFERENCES mockarty_private.users (id) ON DELETE CASCADE,
	namespace text REFERENCES mockarty_private.namespaces (name) ON UPDATE CASCADE,
	secret_hash text NOT NULL,
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.api_tokens IS 'mk_ API tokens: id is the public lookup id inside the token, secret_hash the bcrypt hash of the secret part';

CREATE TABLE mockarty_private.change_counter (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	version bigint NOT NULL
);
COMMENT ON TABLE mockarty_private.change_counter IS 'One row: the head change version. Created by the first write (so pg_dump can restore it), bumped by every mock-writing transaction; its row lock orders writers';

CREATE TABLE mockarty_private.change_log (
	version bigint PRIMARY KEY,
	op text NOT NULL CHECK (op IN ('upsert', 'delete')),
	namespace text NOT NULL,
	mock_id text NOT NULL,
	changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mockarty_private.change_log IS 'Gap-free, commit-ordered log of mock changes that nodes replay';

-- pg_dump must keep user data; CREATE EXTENSION re-seeds sandbox itself.
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.namespaces', 'WHERE name <> ''sandbox''');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.folders', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.mocks', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.mock_versions', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.mock_store', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.global_store', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.chain_store', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.request_logs', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.request_logs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.undefined_requests', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.undefined_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.tags', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.users', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.api_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.change_counter', '');
SELECT pg_catalog.pg_extension_config_dump('mockarty_private.change_log', '');

