-- 0050: the servers check the schema version on their own connections (issue 13 loose end).
--
-- On a real server `juki serve`, `juki serve-terminal`, `juki relay run` and `juki serve-admin`
-- (/readyz) no longer migrate at start nor connect as juki_admin: they refuse to start on a schema
-- that is not at their version (E_READY_MIGRATIONS), and `juki migrate` is a separate step run as
-- juki_admin. For that check each login role may read the version list. 0001 revoked everything on
-- schema public from PUBLIC; the only object there is this table (no extensions), so USAGE gives
-- these roles nothing but the SELECT granted here. They never write it.
GRANT USAGE ON SCHEMA public TO juki_pref, juki_fuhyo, juki_term;
GRANT SELECT ON public.juki_schema_migrations TO juki_pref, juki_fuhyo, juki_term;
