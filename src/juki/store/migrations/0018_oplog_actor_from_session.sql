-- 0018: the operator and terminal of an operation-log row come from a live session the database
-- knows, never from the caller's arguments (hardening item 9; REQUIREMENTS S-15, S-16, S-20;
-- replaces audit_api.append of 0015).
--
-- Why: until now audit_api.append took operator and terminal as arguments, so any server role could
-- write "admin1 at 代表端末 viewed a record" and the chain, being intact, verified. Now there are
-- three ways in, none of which lets the caller name an operator or a terminal for a signed-in
-- operation:
-- * audit_api.append(p_session_secret, …): the secret a browser holds for its session (only its
--   SHA-256 is in term.sessions, as services/access/tokens.digest stores it). The function hashes
--   it and looks up the live (not ended) session, joined to its operator and terminal; operator_id,
--   operator_login, terminal_id, terminal_name and session_id are taken from there. An unknown or
--   ended session raises SQLSTATE JKS01, which record_operation turns into T_SESSION_ENDED. A
--   locked session (idle lock) is still live: its lock and unlock are logged against it.
-- * audit_api.append_unauthenticated(p_terminal_id, p_claimed_login, …): somebody at a terminal
--   who is not signed in (a sign-in attempt, credential enrolment, binding a browser). The operator
--   columns stay NULL; the login as typed goes to claimed_login, never to operator_login. The
--   terminal must exist; its name comes from term.terminals. juki_term only.
-- * audit_api.append_system(p_system, p_claimed_login, …): the server console (`juki … --as LOGIN`,
--   bootstrap) and the benchmark, which have no session: actor_kind 'system:console' or
--   'system:bench', operator and terminal columns NULL, the --as login in claimed_login.
--
-- Rows written from now on are in canonical format v2: v1's fields followed by claimed_login and
-- actor_kind, under the tag 'juki-oplog-v2;'. op_log.format says which format a row is hashed in,
-- so the rows written before verify as they did (format 1). The tag is inside the hashed bytes, so
-- changing a row's format breaks its hash.
--
-- Known limit: juki_term manages sessions (it signs operators in), so it can insert or reopen a
-- term.sessions row and then log as that session's operator. It is the authentication authority;
-- the guarantee here is that no other role (juki_pref, juki_fuhyo serve the searches) and no code
-- path can attribute a row to an operator without that operator's live session secret.

-- The log's owner reads the sessions, operators and terminals (just the columns it needs).
GRANT USAGE ON SCHEMA term TO juki_audit;
GRANT SELECT (id, secret_hash, operator_id, terminal_id, ended_at) ON term.sessions TO juki_audit;
GRANT SELECT (id, login) ON term.operators TO juki_audit;
GRANT SELECT (id, name) ON term.terminals TO juki_audit;

SET ROLE juki_audit;

ALTER TABLE audit.op_log
  ADD COLUMN format smallint NOT NULL DEFAULT 1,
  ADD COLUMN claimed_login text,
  ADD COLUMN actor_kind text;
ALTER TABLE audit.op_log
  ALTER COLUMN format DROP DEFAULT,
  ADD CONSTRAINT op_log_format CHECK (
    (format = 1 AND claimed_login IS NULL AND actor_kind IS NULL)
    OR (format = 2 AND (
      (actor_kind = 'session' AND operator_id IS NOT NULL AND terminal_id IS NOT NULL
         AND session_id IS NOT NULL AND claimed_login IS NULL)
      OR (actor_kind = 'unauthenticated' AND operator_id IS NULL AND operator_login IS NULL
         AND session_id IS NULL)
      OR (actor_kind LIKE 'system:%' AND operator_id IS NULL AND operator_login IS NULL
         AND terminal_id IS NULL AND terminal_name IS NULL AND session_id IS NULL))));
CREATE INDEX op_log_claimed_at ON audit.op_log (claimed_login, at) WHERE claimed_login IS NOT NULL;

-- Canonical bytes, format 2 (Python twin: services/audit/operation_log.canonical_bytes).
CREATE FUNCTION audit.canonical_bytes_v2(
  p_seq bigint, p_at timestamptz, p_operator_id bigint, p_operator_login text, p_terminal_id bigint,
  p_terminal_name text, p_session_id text, p_function text, p_file text, p_outcome text,
  p_target text, p_detail jsonb, p_claimed_login text, p_actor_kind text
) RETURNS bytea
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT convert_to(
    'juki-oplog-v2;'
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
    || audit.enc(p_detail::text)
    || audit.enc(p_claimed_login)
    || audit.enc(p_actor_kind),
    'UTF8')
$$;

-- As in 0015, hashing each row in its own format.
CREATE OR REPLACE FUNCTION audit.seal_pending() RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r      record;
  v_pos  bigint;
  v_seq  bigint;
  v_prev bytea;
  v_hash bytea;
  n      integer := 0;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN 0;
  END IF;
  IF NOT pg_try_advisory_xact_lock(7236134829871512) THEN
    RETURN 0;
  END IF;
  SELECT last_pos, last_seq, last_hash INTO v_pos, v_seq, v_prev FROM audit.chain_head WHERE id;
  FOR r IN SELECT seq, at, operator_id, operator_login, terminal_id, terminal_name, session_id,
                  function, file, outcome, target, detail, format, claimed_login, actor_kind
           FROM audit.op_log WHERE chain_pos IS NULL ORDER BY seq
  LOOP
    v_pos := v_pos + 1;
    IF r.format = 1 THEN
      v_hash := sha256(v_prev || audit.canonical_bytes(
        r.seq, r.at, r.operator_id, r.operator_login, r.terminal_id, r.terminal_name, r.session_id,
        r.function, r.file, r.outcome, r.target, r.detail));
    ELSE
      v_hash := sha256(v_prev || audit.canonical_bytes_v2(
        r.seq, r.at, r.operator_id, r.operator_login, r.terminal_id, r.terminal_name, r.session_id,
        r.function, r.file, r.outcome, r.target, r.detail, r.claimed_login, r.actor_kind));
    END IF;
    UPDATE audit.op_log SET chain_pos = v_pos, prev_hash = v_prev, row_hash = v_hash WHERE seq = r.seq;
    v_prev := v_hash;
    v_seq := r.seq;
    n := n + 1;
  END LOOP;
  IF n > 0 THEN
    UPDATE audit.chain_head SET last_pos = v_pos, last_seq = v_seq, last_hash = v_prev WHERE id;
  END IF;
  RETURN n;
END
$$;

-- Insert one format-2 row unsealed and try to seal (no caller but the audit_api functions).
CREATE FUNCTION audit.insert_row(
  p_operator_id bigint, p_operator_login text, p_terminal_id bigint, p_terminal_name text,
  p_session_id text, p_claimed_login text, p_actor_kind text,
  p_function text, p_file text, p_outcome text, p_target text, p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_seq bigint;
BEGIN
  IF p_function IS NULL OR p_function = '' OR p_file IS NULL OR p_outcome IS NULL THEN
    RAISE EXCEPTION 'audit_api.append: function, file and outcome are required'
      USING ERRCODE = 'not_null_violation';
  END IF;
  INSERT INTO audit.op_log (at, operator_id, operator_login, terminal_id, terminal_name, session_id,
                            function, file, outcome, target, detail, format, claimed_login, actor_kind)
  VALUES (clock_timestamp(), p_operator_id, p_operator_login, p_terminal_id, p_terminal_name,
          p_session_id, p_function, p_file, p_outcome, p_target, p_detail, 2, p_claimed_login,
          p_actor_kind)
  RETURNING seq INTO v_seq;
  PERFORM audit.seal_pending();
  RETURN v_seq;
END
$$;

DROP FUNCTION audit_api.append(bigint, text, bigint, text, text, text, text, text, text, jsonb);

-- A signed-in operator's operation: who and where come from the live session of the secret.
CREATE FUNCTION audit_api.append(
  p_session_secret text, p_function text, p_file text, p_outcome text, p_target text, p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
BEGIN
  SELECT ss.id, ss.operator_id, o.login, ss.terminal_id, t.name INTO s
  FROM term.sessions ss
  JOIN term.operators o ON o.id = ss.operator_id
  JOIN term.terminals t ON t.id = ss.terminal_id
  WHERE ss.secret_hash = sha256(convert_to(coalesce(p_session_secret, ''), 'UTF8'))
    AND ss.ended_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'audit_api.append: no live session for this secret (unknown or ended)'
      USING ERRCODE = 'JKS01';
  END IF;
  RETURN audit.insert_row(s.operator_id, s.login, s.terminal_id, s.name, s.id::text, NULL, 'session',
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;

-- Somebody at a terminal who is not signed in: no operator, the login as typed only as claimed.
CREATE FUNCTION audit_api.append_unauthenticated(
  p_terminal_id bigint, p_claimed_login text, p_function text, p_file text, p_outcome text,
  p_target text, p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_name text;
BEGIN
  IF p_terminal_id IS NOT NULL THEN
    SELECT name INTO v_name FROM term.terminals WHERE id = p_terminal_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'audit_api.append_unauthenticated: no terminal %', p_terminal_id
        USING ERRCODE = 'JKS02';
    END IF;
  END IF;
  RETURN audit.insert_row(NULL, NULL, p_terminal_id, v_name, NULL, p_claimed_login, 'unauthenticated',
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;

-- The server console and the benchmark: no operator, no terminal, the kind of system named.
CREATE FUNCTION audit_api.append_system(
  p_system text, p_claimed_login text, p_function text, p_file text, p_outcome text, p_target text,
  p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_system IS NULL OR p_system NOT IN ('console', 'bench') THEN
    RAISE EXCEPTION 'audit_api.append_system: unknown system %', p_system
      USING ERRCODE = 'JKS02';
  END IF;
  RETURN audit.insert_row(NULL, NULL, NULL, NULL, NULL, p_claimed_login, 'system:' || p_system,
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;

RESET ROLE;

REVOKE ALL ON FUNCTION audit.canonical_bytes_v2(bigint, timestamptz, bigint, text, bigint, text, text,
  text, text, text, text, jsonb, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.seal_pending() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.insert_row(bigint, text, bigint, text, text, text, text, text, text, text,
  text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_api.append(text, text, text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_api.append_unauthenticated(bigint, text, text, text, text, text, jsonb)
  FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_api.append_system(text, text, text, text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_api.append(text, text, text, text, text, jsonb)
  TO juki_pref, juki_fuhyo, juki_term;
GRANT EXECUTE ON FUNCTION audit_api.append_unauthenticated(bigint, text, text, text, text, text, jsonb)
  TO juki_term;
GRANT EXECUTE ON FUNCTION audit_api.append_system(text, text, text, text, text, text, jsonb)
  TO juki_pref, juki_fuhyo, juki_term;
