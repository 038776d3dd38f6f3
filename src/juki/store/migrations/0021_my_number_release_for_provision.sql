-- 0021: the 個人番号 bridge releases a number only for a provision a signed-in operator requested and
-- the catalog allows (REQUIREMENTS F2-2, S-35, S-36, S-37, R-05; closes the gap 0013 left open:
-- "the fuhyo role may call once per 国外転出者 until provision records request items").
--
-- 0013's pref_api.release_my_number(code, purpose, request_ref) trusted the fuhyo role's word that a
-- request existed. It is no longer executable by juki_fuhyo. Its replacement takes one argument, the
-- operation-log row of the request, pref_api.release_my_number_for_provision(p_op_log_seq), and
-- releases only when that row
--   * was written through a live session (actor_kind 'session': audit_api.append checks the session
--     secret, which no server role can forge — migration 0018), for function 'provision' on File 2,
--     outcome 'allow', event 'my_number_request', within the last five minutes, and was not used before;
--   * names (detail) a requester the session's operator acts for (a live grant
--     'provision_operator@<requester>' of an enabled operator, in the rights ledger), and a task of the
--     catalog in force (provision.catalog_*, four-eyes approved) whose 個人番号 add-on is allowed, on
--     File 2, valid today;
--   * targets (target) a person whose File 2 record is 国外転出 and who has a number in File 1 and is not
--     dead (R-07) — the 0013 checks.
-- The number goes into fuhyo_tmp.my_number_stash with request_ref 'oplog:<seq>' and the purpose
-- 'bango-overseas''s keep_for (< 1 year, R-05); the caller gets true/false. Every call is logged in
-- pref.my_number_release_log with the request's seq and the reason of a refusal.
--
-- Provision records get the temporary area's reference (my_number_ref) so a failed receipt can be
-- re-delivered from the stash while it lives (R-05).

SET ROLE juki_pref_owner;
ALTER TABLE pref.my_number_release_log ADD COLUMN op_log_seq bigint;
CREATE UNIQUE INDEX my_number_release_once ON pref.my_number_release_log (op_log_seq)
  WHERE outcome = 'released' AND op_log_seq IS NOT NULL;
ALTER TABLE pref.provision_record ADD COLUMN my_number_ref text;
RESET ROLE;
SET ROLE juki_fuhyo_owner;
ALTER TABLE fuhyo.provision_record ADD COLUMN my_number_ref text;
RESET ROLE;

-- What the bridge reads to decide, and nothing more.
SET ROLE juki_audit;
GRANT USAGE ON SCHEMA audit TO juki_bridge;
GRANT SELECT (seq, at, actor_kind, operator_id, function, file, outcome, target, detail)
  ON audit.op_log TO juki_bridge;
RESET ROLE;
SET ROLE juki_term_owner;
GRANT USAGE ON SCHEMA term, provision TO juki_bridge;
GRANT SELECT (operator_id, role, revoked_at) ON term.rights_grants TO juki_bridge;
GRANT SELECT (id, disabled_at) ON term.operators TO juki_bridge;
GRANT SELECT ON provision.catalog_proposals, provision.catalog_decisions TO juki_bridge;
RESET ROLE;
SET ROLE juki_pref_owner;
GRANT SELECT (op_log_seq, outcome) ON pref.my_number_release_log TO juki_bridge;
RESET ROLE;

SET ROLE juki_bridge;
CREATE FUNCTION pref_api.release_my_number_for_provision(p_op_log_seq bigint)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_log record;
  v_code text := '';
  v_requester text;
  v_task text;
  v_keep_for interval;
  v_status text;
  v_number text;
  v_end_kind text;
  v_outcome text := 'refused';
  v_reason text := '';
BEGIN
  SELECT keep_for INTO v_keep_for FROM pref.my_number_purpose WHERE code = 'bango-overseas' AND active;
  SELECT seq, at, actor_kind, operator_id, function, file, outcome, target, detail INTO v_log
    FROM audit.op_log WHERE seq = p_op_log_seq;
  IF NOT FOUND THEN
    v_reason := 'no_request';
  ELSE
    v_code := coalesce(v_log.target, '');
    v_requester := v_log.detail->>'requester';
    v_task := v_log.detail->>'task';
    IF v_log.actor_kind IS DISTINCT FROM 'session' OR v_log.function <> 'provision' OR v_log.file <> 'fuhyo'
       OR v_log.outcome <> 'allow' OR (v_log.detail->>'event') IS DISTINCT FROM 'my_number_request'
       OR v_requester IS NULL OR v_task IS NULL THEN
      v_reason := 'request';
    ELSIF v_log.at < now() - interval '5 minutes' THEN
      v_reason := 'request_stale';
    ELSIF EXISTS (SELECT 1 FROM pref.my_number_release_log
                   WHERE op_log_seq = p_op_log_seq AND outcome = 'released') THEN
      v_reason := 'request_used';
    ELSIF v_keep_for IS NULL THEN
      v_reason := 'purpose';
    ELSIF v_code !~ '^[0-9]{11}$' THEN
      v_reason := 'bad_code';
    ELSIF NOT EXISTS (
        SELECT 1 FROM term.rights_grants g JOIN term.operators o ON o.id = g.operator_id
         WHERE g.operator_id = v_log.operator_id AND g.role = 'provision_operator@' || v_requester
           AND g.revoked_at IS NULL AND o.disabled_at IS NULL) THEN
      v_reason := 'requester';
    ELSIF NOT EXISTS (
        SELECT 1
          FROM (SELECT p.content FROM provision.catalog_proposals p
                  JOIN provision.catalog_decisions d ON d.proposal_id = p.id AND d.decision = 'approved'
                 ORDER BY d.decided_at DESC, p.id DESC LIMIT 1) c,
               jsonb_array_elements(c.content->'tasks') t
         WHERE t->>'requester' = v_requester AND t->>'code' = v_task
           AND (t->>'my_number_addon')::boolean AND t->'items' ? 'fuhyo'
           AND (t->>'valid_from')::date <= current_date
           AND (t->>'valid_to' IS NULL OR (t->>'valid_to')::date >= current_date)) THEN
      v_reason := 'catalog';
    ELSE
      SELECT status INTO v_status FROM fuhyo.fuhyo_current WHERE juminhyo_code = v_code;
      IF v_status IS NULL THEN
        v_outcome := 'not_found';
        v_reason := 'no_fuhyo_record';
      ELSIF v_status <> 'abroad' THEN
        v_reason := 'not_abroad';
      ELSE
        SELECT my_number, end_kind INTO v_number, v_end_kind
          FROM pref.identity_current WHERE juminhyo_code = v_code;
        IF v_end_kind = 'death' THEN
          v_outcome := 'not_found';  -- R-07
          v_reason := 'dead';
        ELSIF v_number IS NULL THEN
          v_outcome := 'not_found';
          v_reason := 'no_number';
        ELSE
          INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref, expires_at)
          VALUES (v_code, v_number, 'bango-overseas', 'oplog:' || p_op_log_seq, now() + v_keep_for);
          v_outcome := 'released';
          v_reason := '';
        END IF;
      END IF;
    END IF;
  END IF;
  INSERT INTO pref.my_number_release_log
    (called_by, juminhyo_code, purpose, outcome, request_ref, reason, op_log_seq)
  VALUES (session_user, left(v_code, 32), 'bango-overseas', v_outcome, 'oplog:' || coalesce(p_op_log_seq, 0),
          v_reason, p_op_log_seq);
  RETURN v_outcome = 'released';
END
$$;
REVOKE ALL ON FUNCTION pref_api.release_my_number_for_provision(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pref_api.release_my_number_for_provision(bigint) TO juki_fuhyo;
-- The 0013 function trusted the caller's request reference: the fuhyo role may no longer call it.
REVOKE EXECUTE ON FUNCTION pref_api.release_my_number(text, text, text) FROM juki_fuhyo;
RESET ROLE;
