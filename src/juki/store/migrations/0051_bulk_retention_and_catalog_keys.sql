-- 0051: what issue 11 left open in bulk provision (docs/architecture-notes.md, decisions 90–91).
--
-- 1. The requesters' age recipients move into the legal-basis catalog (its requester entries'
--    age_recipient), so that a key change is a four-eyes catalog change, logged like any other: one
--    administrator alone could otherwise have redirected a medium's contents to a key of their own.
--    The 0023 table stays (readable, so an upgrade can see what was set and propose it), but no login
--    role may write it any more and nothing reads it for an output.
-- 2. Finished bulk jobs and their exchange records (S-23, REC-3) are purged seven years after the job
--    ended, like the provision records beside them (R-08). bulk_exchange stays append-only for the
--    server roles: only this SECURITY DEFINER function deletes, and only what the server's own clock
--    also says is past its period (a caller may name a later day, never an earlier one's effect).
--    A job still received or awaiting approval is never purged.

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON provision.requester_recipient FROM juki_term;
COMMENT ON TABLE provision.requester_recipient IS
  'Superseded by migration 0051: age recipients are the catalog''s requester.age_recipient (four eyes).';

DO $do$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['pref', 'fuhyo'] LOOP
    EXECUTE format('SET ROLE juki_%s_owner', f);
    EXECUTE format($fn$
      CREATE FUNCTION %1$I.purge_bulk_records(p_today date) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
      AS $body$
      DECLARE
        day date := least(p_today, current_date);
        exchanges integer;
        jobs integer;
      BEGIN
        -- The same condition three times (no temp table: the owner needs no TEMP privilege), in one
        -- transaction: the children first, then the jobs.
        DELETE FROM %1$I.bulk_exchange WHERE job_id IN (
          SELECT id FROM %1$I.bulk_job WHERE state IN ('done', 'rejected', 'error')
             AND ((coalesce(processed_at, decided_at, submitted_at) AT TIME ZONE 'Asia/Tokyo')::date
                  + interval '7 years')::date <= day);
        GET DIAGNOSTICS exchanges = ROW_COUNT;
        DELETE FROM %1$I.bulk_request_row WHERE job_id IN (
          SELECT id FROM %1$I.bulk_job WHERE state IN ('done', 'rejected', 'error')
             AND ((coalesce(processed_at, decided_at, submitted_at) AT TIME ZONE 'Asia/Tokyo')::date
                  + interval '7 years')::date <= day);
        DELETE FROM %1$I.bulk_job WHERE state IN ('done', 'rejected', 'error')
           AND ((coalesce(processed_at, decided_at, submitted_at) AT TIME ZONE 'Asia/Tokyo')::date
                + interval '7 years')::date <= day;
        GET DIAGNOSTICS jobs = ROW_COUNT;
        RETURN exchanges + jobs;
      END
      $body$
    $fn$, f);
    EXECUTE format('REVOKE ALL ON FUNCTION %I.purge_bulk_records(date) FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %I.purge_bulk_records(date) TO juki_%s', f, f);
    RESET ROLE;
  END LOOP;
END $do$;
