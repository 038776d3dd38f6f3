-- 0006: consistency checks with the 市町村CS (REQUIREMENTS F1-7, F2-7, S-53; issue 3 item 6).
-- A municipal CS uploads its complete set; the server compares it with its file and keeps every run
-- and its differences. Reconciliation only reports: nothing here is ever written back to the file.
-- Each file keeps its runs in its own schema, owned by its own role (architecture-notes §1): File 1's
-- differences may carry a 個人番号, which the fuhyo role must never read.

SET ROLE juki_pref;
CREATE TABLE pref.reconciliation_run (
  id                bigserial PRIMARY KEY,
  file              text NOT NULL DEFAULT 'pref' CHECK (file = 'pref'),
  municipality_code text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),  -- as requested (a city or a ward)
  scope_codes       text[] NOT NULL,                 -- 市町村コード compared (a designated city: its wards)
  requested_by      text NOT NULL,                   -- 'cs:<地方公共団体コード>' or 'operator:<user>'
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  status            text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  uploaded_rows     bigint,                          -- data rows received (completed runs)
  counts            jsonb,                           -- summary of the differences (completed runs)
  error_code        text,                            -- E_RECON_* (failed runs)
  error             text,
  backend_pid       integer,                         -- the session doing the run: a run whose session is
  backend_start     timestamptz,                     -- gone while 'running' is marked failed (abandoned)
  CHECK ((status = 'failed') = (error_code IS NOT NULL)),
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX reconciliation_run_municipality ON pref.reconciliation_run (municipality_code, id);

-- One row per person that differs. `seq` orders the result (by 住民票コード) for paging. No foreign
-- key: the differences of a run are written with COPY in bulk, and runs are never deleted.
CREATE TABLE pref.reconciliation_diff (
  run_id        bigint NOT NULL,
  seq           integer NOT NULL,
  juminhyo_code text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('missing_on_server', 'missing_on_municipal', 'different')),
  fields        jsonb,                               -- different: {item: {"municipal": …, "server": …}}
  PRIMARY KEY (run_id, seq)
);
RESET ROLE;

SET ROLE juki_fuhyo;
CREATE TABLE fuhyo.reconciliation_run (
  id                bigserial PRIMARY KEY,
  file              text NOT NULL DEFAULT 'fuhyo' CHECK (file = 'fuhyo'),
  municipality_code text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),
  scope_codes       text[] NOT NULL,
  requested_by      text NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  status            text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  uploaded_rows     bigint,
  counts            jsonb,
  error_code        text,
  error             text,
  backend_pid       integer,
  backend_start     timestamptz,
  CHECK ((status = 'failed') = (error_code IS NOT NULL)),
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX reconciliation_run_municipality ON fuhyo.reconciliation_run (municipality_code, id);

CREATE TABLE fuhyo.reconciliation_diff (
  run_id        bigint NOT NULL,
  seq           integer NOT NULL,
  juminhyo_code text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('missing_on_server', 'missing_on_municipal', 'different')),
  fields        jsonb,
  PRIMARY KEY (run_id, seq)
);
RESET ROLE;
