-- mockarty--0.1.0--0.2.0.sql - updates an installed 0.1.0 in place (ALTER EXTENSION mockarty UPDATE).
--
-- Built by extension/Makefile from sql/update/0.1.0--0.2.0/*.sql in name order: one part per
-- change. A fresh 0.2.0 install (sql/install/*.sql) and 0.1.0 updated by this script must have
-- the same schema: regress/upgrade.sh compares them with pg_dump --schema-only. New columns
-- therefore go at the end of their table in sql/install/, as ALTER TABLE ADD COLUMN puts them.
-- A concern that is wholly new in this step is not written twice: its part here is a symbolic
-- link to its install part (50_import, 52_grpc_descriptors, 53_generated_servers).

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mockarty UPDATE TO '0.2.0'" to load this file. \quit
