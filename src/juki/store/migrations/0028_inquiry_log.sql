-- 0028: the inquiry log (問合せ記録, REC-7, S-60): every inquiry to the prefecture about 住基ネット —
-- at the counter, by phone, by mail or post — with its category, a summary, the answer and who gave it,
-- searchable for the yearly review (S-56..S-58). Personal data only where the answer needed it: the
-- optional person_code (a 住民票コード) is the only personal column, and reading an entry that has one
-- is an operation-log row like any other view of personal data. Not tied to a file: it lives in term,
-- owned by juki_term_owner (juki_term gets DML by the default privileges of 0012).

SET ROLE juki_term_owner;

CREATE TABLE term.inquiry_log (
  id            bigserial PRIMARY KEY,
  received_at   timestamptz NOT NULL,
  channel       text NOT NULL CHECK (channel IN ('counter', 'phone', 'mail', 'post')),
  category      text NOT NULL CHECK (category IN
                  ('disclosure', 'correction', 'provision_status', 'use', 'security', 'system', 'other')),
  summary       text NOT NULL CHECK (summary <> '' AND length(summary) <= 2000),
  answer        text NOT NULL CHECK (length(answer) <= 4000),
  answered_by   text NOT NULL,          -- the operator who answered (from the session, never typed)
  file          text NOT NULL DEFAULT '-' CHECK (file IN ('pref', 'fuhyo', '-')),
  person_code   text CHECK (person_code ~ '^[0-9]{11}$'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  retain_until  date NOT NULL
);
CREATE INDEX inquiry_log_received ON term.inquiry_log (received_at);
CREATE INDEX inquiry_log_category ON term.inquiry_log (category, received_at);
CREATE INDEX inquiry_log_retain ON term.inquiry_log (retain_until);

RESET ROLE;

-- The correction inquiry API (F1-4, F2-4) shows a municipality what the prefecture holds for the person
-- in question and records its answer: both are operation-log rows of the municipal channel, which has
-- no operator session. append_system learns the channel 'cs-api' (the municipality's code goes in
-- claimed_login as "cs:<code>", taken from its verified certificate); the other systems are unchanged.
SET ROLE juki_audit;
CREATE OR REPLACE FUNCTION audit_api.append_system(
  p_system text, p_claimed_login text, p_function text, p_file text, p_outcome text, p_target text,
  p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_system IS NULL OR p_system NOT IN ('console', 'bench', 'cs-api') THEN
    RAISE EXCEPTION 'audit_api.append_system: unknown system %', p_system
      USING ERRCODE = 'JKS02';
  END IF;
  IF p_system = 'cs-api' AND (p_claimed_login IS NULL OR p_claimed_login !~ '^cs:[0-9]{6}$') THEN
    RAISE EXCEPTION 'audit_api.append_system: cs-api rows name the municipality as cs:<code>'
      USING ERRCODE = 'JKS02';
  END IF;
  RETURN audit.insert_row(NULL, NULL, NULL, NULL, NULL, p_claimed_login, 'system:' || p_system,
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;
RESET ROLE;
