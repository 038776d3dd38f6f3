-- 0008: terminals, operators, credentials, sessions and the rights ledger (docs/terminals.md;
-- REQUIREMENTS S-01..S-04, S-07..S-12).
--
-- Why this shape:
-- * Everything the terminal application needs for sign-in and rights belongs to its own role,
--   juki_term, which owns no personal data and is granted nothing on pref / fuhyo (S-35..S-37 hold
--   for the terminals too: a search connects as juki_pref or juki_fuhyo).
-- * No secret is stored in a usable form: terminal secrets, session secrets and one-time tokens are
--   long random values of which only the SHA-256 is kept (a leaked table does not let anybody in);
--   passwords are Argon2id hashes.
-- * The rights ledger (S-08, S-09, S-11) is append-only: rights_ledger has a trigger refusing UPDATE,
--   DELETE and TRUNCATE, and the decisions are their own rows. The grants table carries the current
--   state (one live grant per operator and role) for fast checks; every change of it has its
--   ledger row written in the same transaction.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'juki_term') THEN
    CREATE ROLE juki_term LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

CREATE SCHEMA term AUTHORIZATION juki_term;
REVOKE ALL ON SCHEMA term FROM PUBLIC;

SET ROLE juki_term;

-- 代表端末 / 業務端末. A browser becomes a terminal by redeeming a one-time binding token; it then
-- holds a long random secret in a cookie, of which only the hash is kept here.
CREATE TABLE term.terminals (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name           text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  kind           text NOT NULL CHECK (kind IN ('representative', 'business')),
  bulk_enabled   boolean NOT NULL DEFAULT false,     -- output to media allowed here (S-29)
  registered_at  timestamptz NOT NULL DEFAULT now(),
  registered_by  text NOT NULL,
  secret_hash    bytea UNIQUE CHECK (octet_length(secret_hash) = 32),  -- NULL until bound
  bound_at       timestamptz,
  retired_at     timestamptz,
  retired_by     text
);

CREATE TABLE term.operators (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login                 text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  display_name          text NOT NULL CHECK (display_name <> ''),
  -- WebAuthn user.id: random, so the authenticator never learns the login (WebAuthn §14.6.1).
  webauthn_user_handle  bytea NOT NULL UNIQUE,
  created_at            timestamptz NOT NULL DEFAULT now(),
  created_by            text NOT NULL,
  disabled_at           timestamptz,
  disabled_by           text
);

-- ID + password (S-02), only for roles whose password_allowed is true (data/permissions.toml).
CREATE TABLE term.password_credentials (
  operator_id  bigint PRIMARY KEY REFERENCES term.operators (id),
  hash         text NOT NULL,                        -- Argon2id, PHC string format
  set_at       timestamptz NOT NULL DEFAULT now()
);

-- 生体認証 (S-01): WebAuthn credentials, always registered and used with user verification.
CREATE TABLE term.webauthn_credentials (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  operator_id    bigint NOT NULL REFERENCES term.operators (id),
  credential_id  bytea NOT NULL UNIQUE,
  public_key     bytea NOT NULL,                     -- COSE_Key as registered
  sign_count     bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
  transports     text[] NOT NULL DEFAULT '{}',
  aaguid         text NOT NULL DEFAULT '',
  label          text NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz
);
CREATE INDEX webauthn_credentials_operator ON term.webauthn_credentials (operator_id);

-- Consecutive sign-in failures and the lock they lead to (unlocked by an administrator).
CREATE TABLE term.sign_in_state (
  operator_id           bigint PRIMARY KEY REFERENCES term.operators (id),
  consecutive_failures  integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  last_failure_at       timestamptz,
  last_success_at       timestamptz,
  locked_at             timestamptz
);

-- One-time tokens: operator credential enrolment links and terminal binding tokens. Only the hash
-- is kept; the token itself is shown once, to the administrator who issued it.
CREATE TABLE term.one_time_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  purpose      text NOT NULL CHECK (purpose IN ('enrol_operator', 'bind_terminal')),
  operator_id  bigint REFERENCES term.operators (id),
  terminal_id  bigint REFERENCES term.terminals (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text NOT NULL,
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  CHECK ((purpose = 'enrol_operator') = (operator_id IS NOT NULL)),
  CHECK ((purpose = 'bind_terminal') = (terminal_id IS NOT NULL))
);

-- Sessions: the browser holds a random secret; the row holds its hash. Idle lock (S-04) is
-- locked_at; the end of a session (sign-out, revocation, …) is ended_at with its reason.
CREATE TABLE term.sessions (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  secret_hash       bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
  operator_id       bigint NOT NULL REFERENCES term.operators (id),
  terminal_id       bigint NOT NULL REFERENCES term.terminals (id),
  auth_method       text NOT NULL CHECK (auth_method IN ('password', 'webauthn')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_activity_at  timestamptz NOT NULL DEFAULT now(),
  locked_at         timestamptz,
  ended_at          timestamptz,
  end_reason        text CHECK (end_reason IN ('sign_out', 'rights_revoked', 'operator_disabled',
                                               'terminal_retired', 'lockout')),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sessions_open_operator ON term.sessions (operator_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_open_terminal ON term.sessions (terminal_id) WHERE ended_at IS NULL;

-- WebAuthn challenges, kept server side: single use (used_at), short expiry, bound to the terminal
-- (and for registration to the enrolment token, for unlock to the session).
CREATE TABLE term.webauthn_challenges (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  challenge    bytea NOT NULL UNIQUE,
  purpose      text NOT NULL CHECK (purpose IN ('register', 'authenticate', 'unlock')),
  operator_id  bigint REFERENCES term.operators (id),  -- NULL: the login typed is unknown
  token_id     bigint REFERENCES term.one_time_tokens (id),
  session_id   bigint REFERENCES term.sessions (id),
  terminal_id  bigint REFERENCES term.terminals (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  CHECK ((purpose = 'register') = (token_id IS NOT NULL)),
  CHECK ((purpose = 'unlock') = (session_id IS NOT NULL))
);
CREATE INDEX webauthn_challenges_expires ON term.webauthn_challenges (expires_at);

-- Rights ledger (S-08 application → approval → effective; S-09 revocation; S-11 inventory).
CREATE TABLE term.rights_applications (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  operator_id         bigint NOT NULL REFERENCES term.operators (id),   -- who is to hold the role
  role                text NOT NULL,
  reason              text NOT NULL CHECK (reason <> ''),
  requested_by        bigint NOT NULL REFERENCES term.operators (id),
  applied_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rights_applications_operator ON term.rights_applications (operator_id, role);

CREATE TABLE term.rights_decisions (
  application_id  bigint PRIMARY KEY REFERENCES term.rights_applications (id),
  decision        text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  decided_by      bigint NOT NULL REFERENCES term.operators (id),
  decided_at      timestamptz NOT NULL DEFAULT now(),
  note            text NOT NULL DEFAULT ''
);

CREATE TABLE term.rights_grants (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  operator_id     bigint NOT NULL REFERENCES term.operators (id),
  role            text NOT NULL,
  application_id  bigint UNIQUE REFERENCES term.rights_applications (id),  -- NULL: bootstrap only
  bootstrap       boolean NOT NULL DEFAULT false,
  effective_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at      timestamptz,
  revoked_by      bigint REFERENCES term.operators (id),
  revoke_reason   text,
  CHECK (bootstrap <> (application_id IS NOT NULL)),
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
  CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
-- One live grant per operator and role.
CREATE UNIQUE INDEX rights_grants_live ON term.rights_grants (operator_id, role) WHERE revoked_at IS NULL;

-- Every change, in order, never rewritten.
CREATE TABLE term.rights_ledger (
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  event           text NOT NULL CHECK (event IN ('applied', 'approved', 'rejected', 'revoked',
                                                 'bootstrap_granted')),
  operator_id     bigint NOT NULL REFERENCES term.operators (id),
  role            text NOT NULL,
  application_id  bigint REFERENCES term.rights_applications (id),
  grant_id        bigint REFERENCES term.rights_grants (id),
  by_operator_id  bigint REFERENCES term.operators (id),              -- NULL: bootstrap
  by_login        text NOT NULL,
  reason          text NOT NULL DEFAULT ''
);
CREATE INDEX rights_ledger_operator ON term.rights_ledger (operator_id, seq);

CREATE FUNCTION term.refuse_rewrite() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'term.%: the rights ledger is append-only', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER rights_ledger_append_only BEFORE UPDATE OR DELETE ON term.rights_ledger
  FOR EACH ROW EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER rights_ledger_no_truncate BEFORE TRUNCATE ON term.rights_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER rights_decisions_append_only BEFORE UPDATE OR DELETE ON term.rights_decisions
  FOR EACH ROW EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER rights_decisions_no_truncate BEFORE TRUNCATE ON term.rights_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER rights_applications_append_only BEFORE UPDATE OR DELETE ON term.rights_applications
  FOR EACH ROW EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER rights_applications_no_truncate BEFORE TRUNCATE ON term.rights_applications
  FOR EACH STATEMENT EXECUTE FUNCTION term.refuse_rewrite();

RESET ROLE;

REVOKE ALL ON ALL TABLES IN SCHEMA term FROM PUBLIC;
REVOKE ALL ON FUNCTION term.refuse_rewrite() FROM PUBLIC;
