-- 0034: administration on screen (issue 10 items 10, 11).
--
-- * one_time_tokens gets the purpose 'bootstrap_admin': the single-use, time-limited grant that
--   `juki admin bootstrap` issues for exactly one second administrator. With one administrator
--   nobody can approve a second one (four eyes, S-12), so the first setup needs this one door; the
--   service closes it for good once two administrator grants have ever existed.
-- * sessions.return_path: the page that was open when the session locked (manual 離席 or idle), kept
--   server side so unlocking returns there without the path ever travelling in a URL. Only a plain
--   internal path (no scheme, no host, no query) fits the CHECK: no open redirect can be stored.
-- * sessions.notice: told once on the session's first page (a right revoked since the last session).
-- * audit_api.append_system accepts the channel 'bootstrap' (actor_kind 'system:bootstrap', the OS
--   user who ran the console command in claimed_login).
SET ROLE juki_term_owner;

ALTER TABLE term.one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE term.one_time_tokens ADD CONSTRAINT one_time_tokens_purpose_check
  CHECK (purpose IN ('enrol_operator', 'bind_terminal', 'bootstrap_admin'));

ALTER TABLE term.sessions ADD COLUMN return_path text
  CHECK (return_path ~ '^/([A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*)?$' AND length(return_path) <= 200);
-- What the operator must be told on the first page of this session (a right revoked since their
-- previous session, with the administrator's reason); cleared once shown.
ALTER TABLE term.sessions ADD COLUMN notice text CHECK (length(notice) <= 2000);

RESET ROLE;

SET ROLE juki_audit;

CREATE OR REPLACE FUNCTION audit_api.append_system(
  p_system text, p_claimed_login text, p_function text, p_file text, p_outcome text, p_target text,
  p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_system IS NULL OR p_system NOT IN ('console', 'bench', 'bootstrap') THEN
    RAISE EXCEPTION 'audit_api.append_system: unknown system %', p_system
      USING ERRCODE = 'JKS02';
  END IF;
  RETURN audit.insert_row(NULL, NULL, NULL, NULL, NULL, p_claimed_login, 'system:' || p_system,
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;

RESET ROLE;
