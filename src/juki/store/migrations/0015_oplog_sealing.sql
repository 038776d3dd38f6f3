-- 0015: the operation log without a global lock held to commit (hardening item 10; REQUIREMENTS
-- S-15, S-20; replaces audit_api.append of 0009).
--
-- Why: in 0009 each append locked the one-row chain head until the caller committed, so a single
-- transaction that appended and then stalled (a client stuck between statements) froze every
-- logged operation of every terminal — searches, sign-ins — until it ended.
--
-- Now an append never waits for anybody:
-- * append inserts the row *unsealed* (chain_pos, prev_hash, row_hash NULL). Its seq comes from a
--   sequence, no lock: seq identifies the row (the search result names it, the review lists it)
--   and is part of the hashed content as before, but a rolled-back append leaves a gap in seq.
-- * Sealing puts committed rows into the hash chain, in the order the sealer sees them: chain_pos
--   1, 2, 3, … without gaps, prev_hash = the previous chain row's row_hash, row_hash = sha256(prev
--   || canonical bytes) with the same canonical bytes (format v1, 0009's header) as before.
--   audit.seal_pending() takes pg_try_advisory_xact_lock(<key>): if another transaction is
--   sealing, it returns at once and leaves the rows to the next sealer. It never blocks.
-- * append seals (try-lock) in the caller's transaction, so under normal load every row is in the
--   chain when its operation commits. If a stalled transaction holds the sealing lock, other
--   appends still commit (unsealed) and are sealed by the next sealer after it ends; the verifier
--   and the checkpoint seal first (audit_api.seal(), its own short transaction) and report rows
--   still unsealed (A_UNSEALED, a warning).
-- * Only sealers write chain_pos / hashes / the chain head, one at a time (the advisory lock is
--   held until the sealer's transaction ends), so the chain head's row lock is never waited for.
-- * The chain order is fixed by the prev_hash links, so chain_pos itself need not be hashed; the
--   verifier walks the rows by chain_pos and checks the links (a swapped chain_pos breaks them).
-- * Rows written before this migration keep seq = chain_pos and verify unchanged.
-- * Server roles get bounded waits all the same: idle_in_transaction_session_timeout ends a
--   transaction left idle (it would otherwise also hold the row locks of its own work).

SET ROLE juki_audit;

CREATE SEQUENCE audit.op_log_seq AS bigint;
SELECT setval('audit.op_log_seq', coalesce((SELECT max(seq) FROM audit.op_log), 0) + 1, false);

ALTER TABLE audit.op_log
  ADD COLUMN chain_pos bigint,
  ALTER COLUMN seq SET DEFAULT nextval('audit.op_log_seq'),
  ALTER COLUMN prev_hash DROP NOT NULL,
  ALTER COLUMN row_hash DROP NOT NULL;
UPDATE audit.op_log SET chain_pos = seq;
ALTER TABLE audit.op_log
  ADD CONSTRAINT op_log_chain_pos_unique UNIQUE (chain_pos),
  ADD CONSTRAINT op_log_chain_pos_positive CHECK (chain_pos >= 1),
  ADD CONSTRAINT op_log_sealed_together CHECK (
    (chain_pos IS NULL) = (prev_hash IS NULL) AND (chain_pos IS NULL) = (row_hash IS NULL));
CREATE INDEX op_log_unsealed ON audit.op_log (seq) WHERE chain_pos IS NULL;

ALTER TABLE audit.chain_head ADD COLUMN last_pos bigint;
UPDATE audit.chain_head SET last_pos = last_seq;
ALTER TABLE audit.chain_head ALTER COLUMN last_pos SET NOT NULL;

-- Seal every committed unsealed row this transaction can see, unless another transaction is
-- sealing (then return 0 at once). Returns how many rows were sealed.
CREATE FUNCTION audit.seal_pending() RETURNS integer
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
  -- A snapshot older than the last seal (REPEATABLE READ, SERIALIZABLE) would see a stale head.
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN 0;
  END IF;
  -- 'juki-oplog-seal' as a key: the only advisory lock taken on it.
  IF NOT pg_try_advisory_xact_lock(7236134829871512) THEN
    RETURN 0;
  END IF;
  SELECT last_pos, last_seq, last_hash INTO v_pos, v_seq, v_prev FROM audit.chain_head WHERE id;
  FOR r IN SELECT seq, at, operator_id, operator_login, terminal_id, terminal_name, session_id,
                  function, file, outcome, target, detail
           FROM audit.op_log WHERE chain_pos IS NULL ORDER BY seq
  LOOP
    v_pos := v_pos + 1;
    v_hash := sha256(v_prev || audit.canonical_bytes(
      r.seq, r.at, r.operator_id, r.operator_login, r.terminal_id, r.terminal_name, r.session_id,
      r.function, r.file, r.outcome, r.target, r.detail));
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

DROP FUNCTION audit_api.append(bigint, text, bigint, text, text, text, text, text, text, jsonb);

-- The only way in. Returns the new row's seq. Never waits for another transaction.
CREATE FUNCTION audit_api.append(
  p_operator_id bigint, p_operator_login text, p_terminal_id bigint, p_terminal_name text,
  p_session_id text, p_function text, p_file text, p_outcome text, p_target text, p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_seq bigint;
BEGIN
  IF p_function IS NULL OR p_function = '' OR p_file IS NULL OR p_outcome IS NULL THEN
    RAISE EXCEPTION 'audit_api.append: function, file and outcome are required'
      USING ERRCODE = 'not_null_violation';
  END IF;
  -- The time is rounded to what timestamptz stores (microseconds) before it is ever hashed.
  INSERT INTO audit.op_log (at, operator_id, operator_login, terminal_id, terminal_name, session_id,
                            function, file, outcome, target, detail)
  VALUES (clock_timestamp(), p_operator_id, p_operator_login, p_terminal_id, p_terminal_name,
          p_session_id, p_function, p_file, p_outcome, p_target, p_detail)
  RETURNING seq INTO v_seq;
  PERFORM audit.seal_pending();
  RETURN v_seq;
END
$$;

-- Seal what is committed and unsealed, in a transaction of the caller's own (verify, checkpoint).
CREATE FUNCTION audit_api.seal() RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT audit.seal_pending()
$$;

RESET ROLE;

REVOKE ALL ON SEQUENCE audit.op_log_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.seal_pending() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_api.append(bigint, text, bigint, text, text, text, text, text, text, jsonb)
  FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_api.seal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_api.append(bigint, text, bigint, text, text, text, text, text, text, jsonb)
  TO juki_pref, juki_fuhyo, juki_term;
GRANT EXECUTE ON FUNCTION audit_api.seal() TO juki_pref, juki_fuhyo, juki_term;

-- Bounded waits for the server roles all the same: a transaction left idle is ended after 30 s, so
-- a stalled client neither keeps its own row locks nor the sealing lock for long.
ALTER ROLE juki_pref SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE juki_fuhyo SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE juki_term SET idle_in_transaction_session_timeout = '30s';
