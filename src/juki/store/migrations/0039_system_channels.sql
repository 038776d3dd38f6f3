-- The operation log's system channels as data (merge of issues 10–13).
--
-- Four migrations written side by side (0023 line linkage, 0028 the municipal inquiry API, 0034 the
-- bootstrap, 0038 the scheduler) each re-created audit_api.append_system with its own list of
-- accepted systems; applied in order, the last one silently refused the other three channels. The
-- accepted channels now live in one table, owned by juki_audit like the log itself, and a new
-- channel is one INSERT in its migration — the function is never re-created to add one.
-- claimed_pattern: a regular expression the row's claimed_login must match (NULL: anything),
-- e.g. the municipal channel names the municipality as cs:<地方公共団体コード> from its certificate.
SET ROLE juki_audit;

CREATE TABLE audit.system_channels (
  name            text PRIMARY KEY CHECK (name ~ '^[a-z][a-z-]*$'),
  claimed_pattern text,
  purpose         text NOT NULL
);

INSERT INTO audit.system_channels (name, claimed_pattern, purpose) VALUES
  ('console',   NULL,              'console commands without an operator session (decision 26)'),
  ('bench',     NULL,              'benchmarks'),
  ('line',      NULL,              'line-linkage agents of requesters (F1-2b, S-33; certificate name)'),
  ('cs-api',    '^cs:[0-9]{6}$',   'the 市町村CS answering correction inquiries (F1-4, F2-4)'),
  ('bootstrap', NULL,              'first setup and the second-administrator link (issue 10)'),
  ('scheduler', NULL,              'scheduled jobs (issue 13)');

CREATE OR REPLACE FUNCTION audit_api.append_system(
  p_system text, p_claimed_login text, p_function text, p_file text, p_outcome text, p_target text,
  p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_pattern text;
  v_known boolean;
BEGIN
  SELECT true, c.claimed_pattern INTO v_known, v_pattern
    FROM audit.system_channels c WHERE c.name = p_system;
  IF p_system IS NULL OR v_known IS NULL THEN
    RAISE EXCEPTION 'audit_api.append_system: unknown system %', p_system
      USING ERRCODE = 'JKS02';
  END IF;
  IF v_pattern IS NOT NULL AND (p_claimed_login IS NULL OR p_claimed_login !~ v_pattern) THEN
    RAISE EXCEPTION 'audit_api.append_system: % rows must name their peer as %', p_system, v_pattern
      USING ERRCODE = 'JKS02';
  END IF;
  RETURN audit.insert_row(NULL, NULL, NULL, NULL, NULL, p_claimed_login, 'system:' || p_system,
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;

RESET ROLE;
