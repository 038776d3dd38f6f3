-- 0052: bulk provision asks J-LIS with no transaction open (issue 11 gap 3; docs/architecture-notes.md,
-- decision 92).
--
-- Before, the job's one transaction stayed open while J-LIS answered the rows our file does not
-- answer, one after another: a job with many such rows held its locks, its snapshot and a connection
-- "idle in transaction" for as long (and a stalled 全国サーバ for as long as its timeouts). Now the
-- local match marks those rows and commits; the rows are asked with no transaction open and each
-- batch of answers is stored on its request row at once; the job then finishes in a second
-- transaction. A run that stops half-way (crash, restart) asks again only the rows without an answer.
--
-- The answers are kept on bulk_request_row, which is personal data already and is deleted when the
-- job ends (0023), UNLOGGED like it: a crash that empties the table ends the job as E_BULK_LOST.
-- File 2's answers are 附票 records (no 個人番号 column anywhere in fuhyo, S-36).

DO $do$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['pref', 'fuhyo'] LOOP
    EXECUTE format('SET ROLE juki_%s_owner', f);
    EXECUTE format($t$
      ALTER TABLE %1$I.bulk_request_row
        ADD COLUMN national_wanted boolean NOT NULL DEFAULT false,  -- to be asked of J-LIS
        ADD COLUMN national_result text CHECK (national_result ~ '^P_[A-Z_]+$'),
        ADD COLUMN national_reason text,
        ADD COLUMN national_person text CHECK (national_person ~ '^[0-9]{11}$'),
        ADD COLUMN national_record jsonb
    $t$, f);
    EXECUTE format('CREATE INDEX bulk_request_row_national ON %I.bulk_request_row (job_id, row_no) '
                   'WHERE national_wanted AND national_result IS NULL', f);
    RESET ROLE;
  END LOOP;
END $do$;
