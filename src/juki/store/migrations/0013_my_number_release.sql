-- 0013: the 個人番号 bridge releases a number only for a 国外転出者, into the temporary area
-- (hardening item 7; REQUIREMENTS S-35..S-37, F2-2, R-05..R-07).
--
-- 0004's pref_api.my_number_for(code, purpose) returned the number to its caller for any living person:
-- `SELECT pref_api.my_number_for(juminhyo_code, 'bango-overseas') FROM fuhyo.fuhyo_current` harvested
-- every number, present residents included, and `CREATE TABLE … AS` kept them. It is dropped. Its
-- replacement pref_api.release_my_number(code, purpose, request_ref):
--   * releases only when the person's File 2 record is 国外転出 (status 'abroad'), File 1 has a number for
--     the code and the person is not dead (R-07), and the purpose is an active entry of the purpose
--     catalog (the provision issue replaces this by a recorded provision request item asking for it);
--   * writes the number straight into fuhyo_tmp.my_number_stash, with created_at = now() and an expiry
--     the server computes from the catalog's keep_for (< 1 year, R-05); the caller gets only true/false;
--   * records every call in pref.my_number_release_log (released / not_found / refused, and why).
-- It runs as juki_bridge, a NOLOGIN role that may read File 1's number, read File 2's state, append to
-- the release log and insert into the stash, and nothing else.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'juki_bridge') THEN
    CREATE ROLE juki_bridge NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

DROP FUNCTION pref_api.my_number_for(text, text);
ALTER SCHEMA pref_api OWNER TO juki_bridge;

-- The catalog entry says how long a released number may be kept (R-05: under one year).
SET ROLE juki_pref_owner;
ALTER TABLE pref.my_number_purpose
  ADD COLUMN keep_for interval NOT NULL DEFAULT interval '30 days'
    CHECK (keep_for > interval '0' AND keep_for < interval '1 year');
ALTER TABLE pref.my_number_release_log
  ADD COLUMN request_ref text NOT NULL DEFAULT '',
  ADD COLUMN reason text NOT NULL DEFAULT '';
RESET ROLE;

-- The stash takes created_at from the server whoever inserts, so the < 1 year CHECK measures from now.
SET ROLE juki_fuhyo_owner;
CREATE FUNCTION fuhyo_tmp.stamp_created_at() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  NEW.created_at := now();
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION fuhyo_tmp.stamp_created_at() FROM PUBLIC;
CREATE TRIGGER my_number_stash_created_at BEFORE INSERT OR UPDATE ON fuhyo_tmp.my_number_stash
  FOR EACH ROW EXECUTE FUNCTION fuhyo_tmp.stamp_created_at();
RESET ROLE;

GRANT USAGE ON SCHEMA pref, fuhyo, fuhyo_tmp TO juki_bridge;
GRANT SELECT (juminhyo_code, my_number, end_kind) ON pref.identity_current TO juki_bridge;
GRANT SELECT ON pref.my_number_purpose TO juki_bridge;
GRANT INSERT ON pref.my_number_release_log TO juki_bridge;
GRANT USAGE ON SEQUENCE pref.my_number_release_log_id_seq TO juki_bridge;
GRANT SELECT (juminhyo_code, status) ON fuhyo.fuhyo_current TO juki_bridge;
GRANT INSERT ON fuhyo_tmp.my_number_stash TO juki_bridge;
GRANT USAGE ON SEQUENCE fuhyo_tmp.my_number_stash_id_seq TO juki_bridge;
GRANT EXECUTE ON FUNCTION fuhyo_tmp.purge_expired() TO juki_bridge;  -- the stash's insert trigger calls it

SET ROLE juki_bridge;
-- Returns whether the number was released into the temporary area. Refusals return false rather than
-- raise, so their log row is kept (an exception would roll it back).
CREATE FUNCTION pref_api.release_my_number(p_juminhyo_code text, p_purpose text, p_request_ref text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_keep_for interval;
  v_status text;
  v_number text;
  v_end_kind text;
  v_outcome text := 'refused';
  v_reason text;
BEGIN
  SELECT keep_for INTO v_keep_for FROM pref.my_number_purpose WHERE code = p_purpose AND active;
  IF p_juminhyo_code IS NULL OR p_juminhyo_code !~ '^[0-9]{11}$' THEN
    v_reason := 'bad_code';
  ELSIF v_keep_for IS NULL THEN
    v_reason := 'purpose';
  ELSIF p_request_ref IS NULL OR btrim(p_request_ref) = '' OR length(p_request_ref) > 200 THEN
    v_reason := 'request';
  ELSE
    SELECT status INTO v_status FROM fuhyo.fuhyo_current WHERE juminhyo_code = p_juminhyo_code;
    IF v_status IS NULL THEN
      v_outcome := 'not_found';
      v_reason := 'no_fuhyo_record';
    ELSIF v_status <> 'abroad' THEN
      v_reason := 'not_abroad';
    ELSE
      SELECT my_number, end_kind INTO v_number, v_end_kind
        FROM pref.identity_current WHERE juminhyo_code = p_juminhyo_code;
      IF v_end_kind = 'death' THEN
        v_outcome := 'not_found';  -- R-07: File 2 never receives a dead person's number
        v_reason := 'dead';
        v_number := NULL;
      ELSIF v_number IS NULL THEN
        v_outcome := 'not_found';
        v_reason := 'no_number';
      ELSE
        INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref, expires_at)
        VALUES (p_juminhyo_code, v_number, p_purpose, p_request_ref, now() + v_keep_for);
        v_outcome := 'released';
        v_reason := '';
      END IF;
    END IF;
  END IF;
  INSERT INTO pref.my_number_release_log (called_by, juminhyo_code, purpose, outcome, request_ref, reason)
  VALUES (session_user, left(coalesce(p_juminhyo_code, ''), 32), left(coalesce(p_purpose, ''), 64),
          v_outcome, left(coalesce(p_request_ref, ''), 200), v_reason);
  RETURN v_outcome = 'released';
END
$$;
REVOKE ALL ON FUNCTION pref_api.release_my_number(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pref_api.release_my_number(text, text, text) TO juki_fuhyo;
RESET ROLE;
REVOKE ALL ON SCHEMA pref_api FROM PUBLIC;
GRANT USAGE ON SCHEMA pref_api TO juki_fuhyo;
