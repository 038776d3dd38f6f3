-- 0009: the tamper-evident operation log (REQUIREMENTS S-15, S-16, S-20; docs/terminals.md
-- "Operation log"). One row per operation by an operator at a terminal, allowed or not.
--
-- Why this shape:
-- * The log belongs to its own role, juki_audit, which cannot log in. The server roles may only call
--   audit_api.append(...) (SECURITY DEFINER): nobody but the owner or a superuser can UPDATE or DELETE
--   a row, and no application connection can write a row in any other way.
-- * Every row carries row_hash = sha256(prev_hash || canonical bytes of the row), prev_hash being the
--   previous row's row_hash (32 zero bytes for the first row). A one-row chain head, locked by each
--   append, serialises appends so the chain and the sequence numbers have no gaps (a rolled-back
--   append rolls back the head too). The lock is held until the caller commits: record the operation
--   late in the caller's transaction.
-- * A superuser can still rewrite a row and re-hash the rest of the chain; signed Merkle checkpoints
--   exported to files outside the database (services/checkpoint.py) catch that.
-- * PostgreSQL's built-in sha256() is used: the embedded PostgreSQL has no pgcrypto.
--
-- Canonical bytes of a row (version 1), reproduced in Python by juki.services.oplog.canonical_bytes:
--   convert_to('juki-oplog-v1;' || enc(seq) || enc(at_us) || enc(operator_id) || enc(operator_login)
--              || enc(terminal_id) || enc(terminal_name) || enc(session_id) || enc(function)
--              || enc(file) || enc(outcome) || enc(target) || enc(detail::text), 'UTF8')
--   enc(NULL) = 'N;'   enc(v) = 'S' || <UTF-8 octet length of v, decimal> || ':' || v || ';'
--   integers in decimal, at_us = microseconds since 1970-01-01T00:00:00Z (so neither TimeZone nor
--   DateStyle matter), detail as PostgreSQL's jsonb text form (jsonb output is canonical: keys sorted,
--   fixed spacing), which the verifier reads back as detail::text.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'juki_audit') THEN
    CREATE ROLE juki_audit NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'juki_term') THEN
    CREATE ROLE juki_term LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

CREATE SCHEMA audit AUTHORIZATION juki_audit;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
CREATE SCHEMA audit_api AUTHORIZATION juki_audit;
REVOKE ALL ON SCHEMA audit_api FROM PUBLIC;

SET ROLE juki_audit;

CREATE TABLE audit.op_log (
  seq            bigint PRIMARY KEY CHECK (seq >= 1),
  at             timestamptz NOT NULL,
  operator_id    bigint,                 -- term.operators id; NULL when nobody is signed in
  operator_login text,                   -- the login as typed / as registered
  terminal_id    bigint,
  terminal_name  text,
  session_id     text,
  function       text NOT NULL,          -- juki.services.actor.Function value
  file           text NOT NULL,          -- FileScope value: pref, fuhyo or '-'
  outcome        text NOT NULL,          -- Outcome value: allow, deny, rejected, failure, error
  target         text,                   -- what was touched (e.g. a 住民票コード), for tracing (S-20)
  detail         jsonb,
  prev_hash      bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  row_hash       bytea NOT NULL CHECK (octet_length(row_hash) = 32)
);
CREATE INDEX op_log_at ON audit.op_log (at);
CREATE INDEX op_log_operator_at ON audit.op_log (operator_login, at);
CREATE INDEX op_log_terminal_at ON audit.op_log (terminal_name, at);
CREATE INDEX op_log_target ON audit.op_log (target) WHERE target IS NOT NULL;

-- The chain head: exactly one row, the last sequence number and row hash.
CREATE TABLE audit.chain_head (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_seq  bigint NOT NULL,
  last_hash bytea NOT NULL CHECK (octet_length(last_hash) = 32)
);
INSERT INTO audit.chain_head (id, last_seq, last_hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- The canonical encoding of one field (see the header).
CREATE FUNCTION audit.enc(v text) RETURNS text
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN v IS NULL THEN 'N;'
              ELSE 'S' || octet_length(convert_to(v, 'UTF8'))::text || ':' || v || ';' END
$$;

CREATE FUNCTION audit.canonical_bytes(
  p_seq bigint, p_at timestamptz, p_operator_id bigint, p_operator_login text, p_terminal_id bigint,
  p_terminal_name text, p_session_id text, p_function text, p_file text, p_outcome text,
  p_target text, p_detail jsonb
) RETURNS bytea
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT convert_to(
    'juki-oplog-v1;'
    || audit.enc(p_seq::text)
    || audit.enc(((extract(epoch FROM p_at) * 1000000)::numeric(30, 0))::text)
    || audit.enc(p_operator_id::text)
    || audit.enc(p_operator_login)
    || audit.enc(p_terminal_id::text)
    || audit.enc(p_terminal_name)
    || audit.enc(p_session_id)
    || audit.enc(p_function)
    || audit.enc(p_file)
    || audit.enc(p_outcome)
    || audit.enc(p_target)
    || audit.enc(p_detail::text),
    'UTF8')
$$;

-- The only way in. Returns the new row's sequence number.
CREATE FUNCTION audit_api.append(
  p_operator_id bigint, p_operator_login text, p_terminal_id bigint, p_terminal_name text,
  p_session_id text, p_function text, p_file text, p_outcome text, p_target text, p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_prev bytea;
  v_seq  bigint;
  v_at   timestamptz;
  v_hash bytea;
BEGIN
  IF p_function IS NULL OR p_function = '' OR p_file IS NULL OR p_outcome IS NULL THEN
    RAISE EXCEPTION 'audit_api.append: function, file and outcome are required'
      USING ERRCODE = 'not_null_violation';
  END IF;
  SELECT last_seq + 1, last_hash INTO v_seq, v_prev FROM audit.chain_head WHERE id FOR UPDATE;
  -- Taken after the lock, so the time never goes backwards along the chain (clock permitting),
  -- and rounded to what timestamptz stores (microseconds) before it is hashed.
  v_at := clock_timestamp();
  v_hash := sha256(v_prev || audit.canonical_bytes(
    v_seq, v_at, p_operator_id, p_operator_login, p_terminal_id, p_terminal_name, p_session_id,
    p_function, p_file, p_outcome, p_target, p_detail));
  INSERT INTO audit.op_log (seq, at, operator_id, operator_login, terminal_id, terminal_name, session_id,
                            function, file, outcome, target, detail, prev_hash, row_hash)
  VALUES (v_seq, v_at, p_operator_id, p_operator_login, p_terminal_id, p_terminal_name, p_session_id,
          p_function, p_file, p_outcome, p_target, p_detail, v_prev, v_hash);
  UPDATE audit.chain_head SET last_seq = v_seq, last_hash = v_hash WHERE id;
  RETURN v_seq;
END
$$;

RESET ROLE;

REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.enc(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.canonical_bytes(bigint, timestamptz, bigint, text, bigint, text, text, text,
  text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_api.append(bigint, text, bigint, text, text, text, text, text, text, jsonb)
  FROM PUBLIC;

GRANT USAGE ON SCHEMA audit_api TO juki_pref, juki_fuhyo, juki_term;
GRANT EXECUTE ON FUNCTION audit_api.append(bigint, text, bigint, text, text, text, text, text, text, jsonb)
  TO juki_pref, juki_fuhyo, juki_term;

-- Log review (S-17) is read through the terminal application's role: read-only, the log table only.
GRANT USAGE ON SCHEMA audit TO juki_term;
GRANT SELECT ON audit.op_log TO juki_term;
