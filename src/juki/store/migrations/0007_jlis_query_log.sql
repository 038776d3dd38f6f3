-- 0007: communication records of queries to J-LIS (REQUIREMENTS F1-5, F2-5, REC-4; issue 3 item 5).
-- Every query the prefectural server sends to the 全国サーバ / 附票全国サーバ leaves one row, written
-- before the query leaves (outcome 'sent') and completed with its outcome afterwards, so a crash in
-- between still leaves a trace. No personal data: the keys are kept only as a hash (keys_sha256), the
-- answer only as a count. Each file keeps its records in its own schema, owned by its own role
-- (architecture-notes §1): a fuhyo connection can neither read nor write File 1's records.

SET ROLE juki_pref;
CREATE TABLE pref.jlis_query_log (
  id           bigserial PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at  timestamptz,
  peer         text NOT NULL,                        -- the server asked (its base URL)
  kind         text NOT NULL CHECK (kind IN ('juminhyo_code', 'my_number', 'basic4')),
  keys_sha256  bytea NOT NULL,                       -- hash of the canonical keys, never the keys
  operator_id  text NOT NULL,                        -- who asked (placeholder until the terminal UI)
  terminal_id  text NOT NULL,
  function     text NOT NULL,                        -- the function the query served: F1-5, F1-2 …
  outcome      text NOT NULL DEFAULT 'sent'
               CHECK (outcome IN ('sent', 'found', 'not_found', 'refused', 'error')),
  hit_count    integer NOT NULL DEFAULT 0 CHECK (hit_count >= 0),
  http_status  integer,
  error_code   text,                                 -- the server's code (E_*) or the client's
  CHECK ((outcome = 'sent') = (finished_at IS NULL))
);
CREATE INDEX jlis_query_log_started ON pref.jlis_query_log (started_at);
RESET ROLE;

SET ROLE juki_fuhyo;
CREATE TABLE fuhyo.jlis_query_log (
  id           bigserial PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at  timestamptz,
  peer         text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('juminhyo_code', 'basic4')),  -- File 2: never a 個人番号
  keys_sha256  bytea NOT NULL,
  operator_id  text NOT NULL,
  terminal_id  text NOT NULL,
  function     text NOT NULL,
  outcome      text NOT NULL DEFAULT 'sent'
               CHECK (outcome IN ('sent', 'found', 'not_found', 'refused', 'error')),
  hit_count    integer NOT NULL DEFAULT 0 CHECK (hit_count >= 0),
  http_status  integer,
  error_code   text,
  CHECK ((outcome = 'sent') = (finished_at IS NULL))
);
CREATE INDEX jlis_query_log_started ON fuhyo.jlis_query_log (started_at);
RESET ROLE;
