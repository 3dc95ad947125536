-- 00_schemas.sql - first part of the install script of the mockarty extension: its schemas.
--
-- The install script mockarty--<version>.sql (the current version) is sql/install/*.sql
-- concatenated by extension/Makefile in a fixed order, one part per concern; schema changes
-- also ship an update script part in sql/update/<from>--<to>/ (see its 00_header.sql). Tables live in
-- mockarty_private; the API (what the admin node and DBAs call) is the mockarty
-- schema. Every write to a mock goes through mockarty_private.log_change(), which
-- bumps a one-row counter inside the writing transaction: the row lock serialises
-- writers, so change versions are gap-free and in commit order, and the change log
-- is what nodes replay. NOTIFY only rings the doorbell.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mockarty" to load this file. \quit

CREATE SCHEMA mockarty;
COMMENT ON SCHEMA mockarty IS 'API of the mockarty mock server: functions only, tables live in mockarty_private';

CREATE SCHEMA mockarty_private;
COMMENT ON SCHEMA mockarty_private IS 'Tables and internal helpers of the mockarty extension; use the mockarty schema instead';

