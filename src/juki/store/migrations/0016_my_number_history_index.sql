-- Hardening 14: a 個人番号 that has been anyone's (current or history) is never given to a different
-- person. The update ledger's owner look-up now reads the history too; this index keeps it an index
-- look-up per number (the bulk intake must not slow down). Partial: most history rows of File 1
-- carry a number, but rows without one need no entry.
CREATE INDEX identity_history_my_number ON pref.identity_history (my_number)
  WHERE my_number IS NOT NULL;

-- Hardening 1: no personal data in the server log. A statement that fails on a value (a unique key,
-- a check, a malformed JSON literal) is logged by PostgreSQL with DETAIL ("Key (…)=(…)", "Failing row
-- contains …"), CONTEXT ("JSON data, line 1: …") and the statement. For the server roles, which
-- handle personal data, keep only the primary message: terse verbosity, no statement, no bind
-- parameters. These are superuser settings; a migration run by a non-superuser leaves a notice
-- and the operator sets them in postgresql.conf instead (docs: log_error_verbosity = terse,
-- log_min_error_statement = panic).
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['juki_pref', 'juki_fuhyo', 'juki_term'] LOOP
    EXECUTE format('ALTER ROLE %I SET log_parameter_max_length_on_error = 0', r);
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      EXECUTE format('ALTER ROLE %I SET log_error_verbosity = terse', r);
      EXECUTE format('ALTER ROLE %I SET log_min_error_statement = panic', r);
    ELSE
      RAISE NOTICE 'not a superuser: set log_error_verbosity = terse and log_min_error_statement = panic for role % in postgresql.conf', r;
    END IF;
  END LOOP;
END
$$;
