-- 0038: scheduled job runs, the backup register and its weekly checklist (issue 13 items 2, 3;
-- REQUIREMENTS S-46, S-53, REC-9, Q-09; docs/operations.md).
--
-- Why this shape:
-- * They live in `term`, owned by juki_term_owner: they hold no personal data (a job's figures are
--   counts, a backup row names a file and its hashes), and the administration page reads them on
--   the terminal's own connection. juki_term gets DML through 0012's default privileges; a run row
--   is never deleted by the application, so DELETE is taken back.
-- * One row per run, written when it starts (outcome 'running') and completed when it ends, so a
--   run that died half way stays visible as 'running' past its deadline and is flagged.
-- * The scheduler writes its operation-log rows as `system:scheduler` (audit_api.append_system
--   learns the name here; the function is otherwise unchanged from 0018).
SET ROLE juki_term_owner;

CREATE TABLE term.job_runs (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job            text NOT NULL CHECK (job ~ '^[a-z][a-z0-9_]{1,40}$'),
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'demo', 'systemd')),
  scheduled_for  timestamptz,
  started_at     timestamptz NOT NULL,
  finished_at    timestamptz,
  outcome        text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'succeeded', 'failed')),
  figures        jsonb NOT NULL DEFAULT '{}',
  error_code     text CHECK (error_code IS NULL OR error_code ~ '^[A-Z][A-Z0-9_]+$'),
  CHECK ((outcome = 'running') = (finished_at IS NULL)),
  CHECK ((outcome = 'failed') = (error_code IS NOT NULL))
);
CREATE INDEX job_runs_job_started ON term.job_runs (job, started_at DESC);

-- The backup register (REC-9): one row per backup written, with its manifest.
CREATE TABLE term.backups (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind               text NOT NULL CHECK (kind IN ('full', 'oplog')),
  file_name          text NOT NULL UNIQUE CHECK (file_name ~ '^[A-Za-z0-9._-]{1,128}$'),
  created_at         timestamptz NOT NULL,
  retain_until       date NOT NULL,
  size_bytes         bigint NOT NULL CHECK (size_bytes >= 0),
  ciphertext_sha256  text NOT NULL CHECK (ciphertext_sha256 ~ '^[0-9a-f]{64}$'),
  recipients         text[] NOT NULL,
  manifest           jsonb NOT NULL,
  verified_at        timestamptz,
  verify_outcome     text CHECK (verify_outcome IN ('ok', 'failed')),
  purged_at          timestamptz
);
CREATE INDEX backups_created ON term.backups (created_at DESC);

-- The weekly checklist of the backup media (REC-9): who checked what, and when.
CREATE TABLE term.backup_checks (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  week_of      date NOT NULL UNIQUE,
  checked_at   timestamptz NOT NULL DEFAULT now(),
  checked_by   text NOT NULL CHECK (length(checked_by) BETWEEN 1 AND 64),
  items        jsonb NOT NULL,
  all_ok       boolean NOT NULL,
  note         text NOT NULL DEFAULT '' CHECK (length(note) <= 1000)
);

RESET ROLE;

REVOKE DELETE ON term.job_runs, term.backup_checks FROM juki_term;
REVOKE DELETE ON term.backups FROM juki_term;

SET ROLE juki_audit;
CREATE OR REPLACE FUNCTION audit_api.append_system(
  p_system text, p_claimed_login text, p_function text, p_file text, p_outcome text, p_target text,
  p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_system IS NULL OR p_system NOT IN ('console', 'bench', 'scheduler') THEN
    RAISE EXCEPTION 'audit_api.append_system: unknown system %', p_system
      USING ERRCODE = 'JKS02';
  END IF;
  RETURN audit.insert_row(NULL, NULL, NULL, NULL, NULL, p_claimed_login, 'system:' || p_system,
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;
RESET ROLE;
