-- 80_users_sessions.sql - users sign in (issue 13): the users columns sign-in needs. The rest of
-- the concern is wholly new and links to its install part (81_users_sessions.sql ->
-- sql/install/23_users_sessions.sql).

ALTER TABLE mockarty_private.users ADD COLUMN enabled boolean NOT NULL DEFAULT true;
ALTER TABLE mockarty_private.users ADD COLUMN requires_password_change boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN mockarty_private.users.role IS 'System role: admin (admin in every namespace), editor or viewer (their rights come from user_namespaces)';
COMMENT ON COLUMN mockarty_private.users.enabled IS 'false: the user cannot sign in and its sessions stop working';
COMMENT ON COLUMN mockarty_private.users.requires_password_change IS 'true after a one-time or admin-set password until the user sets a password of its own';
