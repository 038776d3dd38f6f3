-- 0049: regular reconciliation requests to the 市町村CS (REQUIREMENTS S-53 "定期的"; issue 13 item 2).
--
-- Why this shape:
-- * The channel runs one way (the 市町村CS is the TLS client, architecture note on inquiries), so a
--   request is a row the municipality fetches (`GET /cs/v1/{file}/reconciliation/requests`) and
--   answers by uploading its complete set; the completed run marks the request answered in the same
--   transaction (services/registry/reconciliation_requests.py).
-- * One table per file, in the file's schema and owned by its owner role, like the runs of 0006:
--   the intake server reads and answers them on its own file's connection and nothing more. A
--   request holds no personal data (a 地方公共団体コード and times).
-- * At most one open request per municipality and file: the job asks again only after an answer.
-- * Kept and purged with the reconciliation results (retention table, kinds *_reconciliation): the
--   purge runs as the file's role, which has DML here through 0012's default privileges.
-- * job_run_id names the term.job_runs row that asked (no foreign key across schemas and owners).
SET ROLE juki_pref_owner;
CREATE TABLE pref.reconciliation_request (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_code text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),
  requested_at      timestamptz NOT NULL,
  due_at            timestamptz NOT NULL CHECK (due_at > requested_at),
  job_run_id        bigint,
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
  answered_at       timestamptz,
  answered_run_id   bigint,
  CHECK ((status = 'answered') = (answered_run_id IS NOT NULL AND answered_at IS NOT NULL))
);
CREATE UNIQUE INDEX reconciliation_request_open ON pref.reconciliation_request (municipality_code)
  WHERE status = 'open';
CREATE INDEX reconciliation_request_answered ON pref.reconciliation_request (answered_at)
  WHERE status = 'answered';
RESET ROLE;

SET ROLE juki_fuhyo_owner;
CREATE TABLE fuhyo.reconciliation_request (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_code text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),
  requested_at      timestamptz NOT NULL,
  due_at            timestamptz NOT NULL CHECK (due_at > requested_at),
  job_run_id        bigint,
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
  answered_at       timestamptz,
  answered_run_id   bigint,
  CHECK ((status = 'answered') = (answered_run_id IS NOT NULL AND answered_at IS NOT NULL))
);
CREATE UNIQUE INDEX reconciliation_request_open ON fuhyo.reconciliation_request (municipality_code)
  WHERE status = 'open';
CREATE INDEX reconciliation_request_answered ON fuhyo.reconciliation_request (answered_at)
  WHERE status = 'answered';
RESET ROLE;
