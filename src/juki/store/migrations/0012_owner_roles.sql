-- 0012: the server login roles no longer own their schemas (hardening item 8; REQUIREMENTS S-35..S-37,
-- S-07..S-09, R-05, R-06).
--
-- Until now juki_pref, juki_fuhyo and juki_term owned the schemas they write, so each could run DDL:
-- CREATE TABLE, ALTER TABLE … DROP CONSTRAINT (the temporary area's < 1 year CHECK), DISABLE TRIGGER
-- (the rights ledger's append-only trigger, the temporary area's purge trigger). Following audit
-- (0009, owned by NOLOGIN juki_audit), every schema and everything in it now belongs to a role that
-- cannot log in; the login roles get only the DML they use, and no CREATE on any schema.
--
--   juki_pref_owner   owns pref           juki_pref  : DML on pref (SELECT only on the 個人番号 bridge's
--                                                       purpose catalog and release log)
--   juki_fuhyo_owner  owns fuhyo,         juki_fuhyo : DML on fuhyo; on fuhyo_tmp only reading and
--                     fuhyo_tmp                         deleting numbers (only the bridge writes them, 0013)
--   juki_term_owner   owns term           juki_term  : DML on term; the three append-only rights tables
--                                                       get SELECT and INSERT (and UPDATE of the key column,
--                                                       which SELECT … FOR UPDATE needs; the trigger refuses
--                                                       any actual UPDATE)
--
-- Future migrations create objects with SET ROLE juki_<x>_owner; the default privileges below give the
-- login role DML on them (not in fuhyo_tmp: a new table there gets its grants explicitly). A migration
-- that still says SET ROLE juki_pref and CREATE TABLE now fails loudly. TEMP tables (the reconciliation's
-- upload) need only the database's TEMPORARY privilege, which PUBLIC keeps. The bulk loader's TRUNCATE,
-- index drop/rebuild and COPY FREEZE are an administrator's operation (services/registry/load.py acts as
-- the file's owner role through the administrator connection).

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['juki_pref_owner', 'juki_fuhyo_owner', 'juki_term_owner'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
    END IF;
  END LOOP;
END $$;

-- Everything the login roles own in this database (schemas, tables, sequences, views, functions)
-- moves to the owner role. Their implicit owner privileges go with it.
REASSIGN OWNED BY juki_pref TO juki_pref_owner;
REASSIGN OWNED BY juki_fuhyo TO juki_fuhyo_owner;
REASSIGN OWNED BY juki_term TO juki_term_owner;

-- pref: File 1.
GRANT USAGE ON SCHEMA pref TO juki_pref;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pref TO juki_pref;
REVOKE INSERT, UPDATE, DELETE ON pref.my_number_purpose, pref.my_number_release_log FROM juki_pref;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA pref TO juki_pref;
ALTER DEFAULT PRIVILEGES FOR ROLE juki_pref_owner IN SCHEMA pref
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO juki_pref;
ALTER DEFAULT PRIVILEGES FOR ROLE juki_pref_owner IN SCHEMA pref
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO juki_pref;

-- fuhyo: File 2.
GRANT USAGE ON SCHEMA fuhyo TO juki_fuhyo;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA fuhyo TO juki_fuhyo;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA fuhyo TO juki_fuhyo;
ALTER DEFAULT PRIVILEGES FOR ROLE juki_fuhyo_owner IN SCHEMA fuhyo
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO juki_fuhyo;
ALTER DEFAULT PRIVILEGES FOR ROLE juki_fuhyo_owner IN SCHEMA fuhyo
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO juki_fuhyo;

-- fuhyo_tmp: the temporary 個人番号 area. The fuhyo server reads live numbers and may delete a number
-- early; it never writes one (0013's bridge does, with the expiry computed by the server).
GRANT USAGE ON SCHEMA fuhyo_tmp TO juki_fuhyo;
GRANT SELECT, DELETE ON fuhyo_tmp.my_number_stash TO juki_fuhyo;
GRANT SELECT ON fuhyo_tmp.my_number_live TO juki_fuhyo;
-- Purging runs as the area's owner: nobody else needs DELETE rights for expiry to happen.
ALTER FUNCTION fuhyo_tmp.purge_expired() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION fuhyo_tmp.purge_expired() FROM PUBLIC;
REVOKE ALL ON FUNCTION fuhyo_tmp.purge_after_insert() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fuhyo_tmp.purge_expired() TO juki_fuhyo;

-- term: operators, credentials, sessions, rights.
GRANT USAGE ON SCHEMA term TO juki_term;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA term TO juki_term;
REVOKE UPDATE, DELETE ON term.rights_ledger, term.rights_applications, term.rights_decisions FROM juki_term;
GRANT UPDATE (id) ON term.rights_applications TO juki_term;  -- SELECT … FOR UPDATE OF a (the trigger refuses)
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA term TO juki_term;
REVOKE ALL ON FUNCTION term.refuse_rewrite() FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE juki_term_owner IN SCHEMA term
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO juki_term;
ALTER DEFAULT PRIVILEGES FOR ROLE juki_term_owner IN SCHEMA term
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO juki_term;
