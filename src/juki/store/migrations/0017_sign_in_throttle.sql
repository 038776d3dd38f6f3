-- 0017: sign-in failures counted per terminal and per ID typed, never per "existing operator"
-- (hardening 12: login IDs could be enumerated, and anyone at one terminal could lock any operator).
--
-- Why this shape:
-- * The ID is the HMAC of the login as typed (normalised), under a server secret made here, so an
--   ID that does not exist is counted, throttled and locked exactly like one that does: the answers
--   cannot tell them apart. The secret also derives the stand-in credential IDs that WebAuthn
--   options list for an unknown ID. It never leaves juki_term.
-- * sign_in_failures counts consecutive failures per (ID, terminal). A terminal that reaches the
--   threshold is throttled for that ID for a while (T_AUTH_THROTTLED) — it does not lock anybody.
-- * sign_in_locks is the ID lock (T_AUTH_LOCKED, lifted by an administrator): reached only when
--   several terminals (Settings.lockout_terminals) each reached the threshold for the same ID.
SET ROLE juki_term_owner;  -- since 0012 the schema belongs to the owner role; juki_term gets DML by default privileges

CREATE TABLE term.sign_in_secret (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  key       bytea NOT NULL CHECK (octet_length(key) = 32)
);
INSERT INTO term.sign_in_secret (key)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

CREATE TABLE term.sign_in_failures (
  login_key        bytea NOT NULL CHECK (octet_length(login_key) = 32),
  terminal_id      bigint NOT NULL REFERENCES term.terminals (id),
  failures         integer NOT NULL CHECK (failures > 0),
  last_failure_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (login_key, terminal_id)
);

CREATE TABLE term.sign_in_locks (
  login_key  bytea PRIMARY KEY CHECK (octet_length(login_key) = 32),
  locked_at  timestamptz NOT NULL DEFAULT now()
);

RESET ROLE;
