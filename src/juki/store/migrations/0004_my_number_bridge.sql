-- 0004: the only path from File 2 to File 1 (S-35, S-36, S-37, REQUIREMENTS F2-2).
-- The fuhyo role has no privilege on schema pref. It may EXECUTE exactly one SECURITY DEFINER
-- function, in a schema of its own, that returns only the 個人番号 of one 住民票コード, only for a
-- 番号法 purpose in the catalog, and records every call (released, not found, refused).
-- The number goes to fuhyo_tmp, never to File 2 tables, with an expiry on every row (R-05..R-07).

SET ROLE juki_pref;

-- 番号法 purposes for which File 2 may obtain a 国外転出者's 個人番号 (data; filled by the operator).
CREATE TABLE pref.my_number_purpose (
  code        text PRIMARY KEY,
  description text NOT NULL,
  active      boolean NOT NULL DEFAULT true
);
INSERT INTO pref.my_number_purpose (code, description) VALUES
  ('bango-overseas', '番号法に基づく国外転出者に係る事務（番号法別表に定める事務）');

CREATE TABLE pref.my_number_release_log (
  id            bigserial PRIMARY KEY,
  called_at     timestamptz NOT NULL DEFAULT now(),
  called_by     text NOT NULL,                 -- the database role that called
  juminhyo_code text NOT NULL,
  purpose       text NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('released', 'not_found', 'refused'))
);
RESET ROLE;

CREATE SCHEMA pref_api AUTHORIZATION juki_pref;
REVOKE ALL ON SCHEMA pref_api FROM PUBLIC;

SET ROLE juki_pref;
-- Returns NULL when refused (unknown or inactive purpose, malformed code) or when the code is not
-- found or belongs to a dead person (File 2 keeps no dead persons' 個人番号, R-07). The outcome is
-- always recorded. NULL instead of an exception keeps the refusal's log row (an exception would roll
-- it back); the caller checks the purpose against its own legal-basis catalog before calling.
CREATE FUNCTION pref_api.my_number_for(p_juminhyo_code text, p_purpose text)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_number text;
  v_outcome text;
BEGIN
  IF p_juminhyo_code IS NULL OR p_juminhyo_code !~ '^[0-9]{11}$'
     OR NOT EXISTS (SELECT 1 FROM pref.my_number_purpose WHERE code = p_purpose AND active) THEN
    v_outcome := 'refused';
  ELSE
    SELECT my_number INTO v_number
      FROM pref.identity_current
     WHERE juminhyo_code = p_juminhyo_code
       AND end_kind IS DISTINCT FROM 'death';
    v_outcome := CASE WHEN v_number IS NULL THEN 'not_found' ELSE 'released' END;
  END IF;
  INSERT INTO pref.my_number_release_log (called_by, juminhyo_code, purpose, outcome)
  VALUES (session_user, coalesce(p_juminhyo_code, ''), coalesce(p_purpose, ''), v_outcome);
  RETURN v_number;
END;
$$;
REVOKE ALL ON FUNCTION pref_api.my_number_for(text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA pref_api TO juki_fuhyo;
GRANT EXECUTE ON FUNCTION pref_api.my_number_for(text, text) TO juki_fuhyo;
RESET ROLE;

-- The temporary area (S-36): its own schema, owned by the fuhyo role, never joined to File 2.
CREATE SCHEMA fuhyo_tmp AUTHORIZATION juki_fuhyo;
REVOKE ALL ON SCHEMA fuhyo_tmp FROM PUBLIC;
SET ROLE juki_fuhyo;
CREATE TABLE fuhyo_tmp.my_number_stash (
  id             bigserial PRIMARY KEY,
  juminhyo_code  text NOT NULL,
  my_number      text NOT NULL CHECK (my_number ~ '^[0-9]{12}$'),
  purpose        text NOT NULL,
  request_ref    text NOT NULL,                -- the provision request it serves
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  -- R-05: kept only temporarily, under one year in any case.
  CHECK (expires_at > created_at AND expires_at <= created_at + interval '1 year')
);
CREATE INDEX my_number_stash_expiry ON fuhyo_tmp.my_number_stash (expires_at);

-- Purges expired rows; returns how many. Called by `juki purge` and, so that expiry never depends
-- on a scheduler being up, after every insert into the stash.
CREATE FUNCTION fuhyo_tmp.purge_expired() RETURNS integer
LANGUAGE sql
AS $$
  WITH gone AS (DELETE FROM fuhyo_tmp.my_number_stash WHERE expires_at <= now() RETURNING 1)
  SELECT count(*)::integer FROM gone;
$$;
CREATE FUNCTION fuhyo_tmp.purge_after_insert() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM fuhyo_tmp.purge_expired();
  RETURN NULL;
END;
$$;
CREATE TRIGGER my_number_stash_purge AFTER INSERT ON fuhyo_tmp.my_number_stash
  FOR EACH STATEMENT EXECUTE FUNCTION fuhyo_tmp.purge_after_insert();
-- Readers see only unexpired numbers even between purges.
CREATE VIEW fuhyo_tmp.my_number_live AS
  SELECT id, juminhyo_code, my_number, purpose, request_ref, created_at, expires_at
    FROM fuhyo_tmp.my_number_stash WHERE expires_at > now();
RESET ROLE;
