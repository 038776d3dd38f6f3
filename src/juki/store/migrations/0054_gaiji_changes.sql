-- 0054: changes of the 外字 registry by four eyes (issue 12 gap 3; DOMAIN §7, REQUIREMENTS S-12).
--
-- The registry (0026, term.gaiji_registry) decides what glyph a municipality's private-use 外字 prints
-- as on every form the prefecture issues — a person's name on an official document — and a changed
-- glyph bumps the 外字変更連番 of File 1's records. Like the provision catalog (0020) and the rights
-- ledger, a change is therefore proposed by one administrator and approved by another: proposals and
-- decisions are append-only rows (juki_term may SELECT and INSERT, never UPDATE or DELETE them), and
-- the registry row itself changes only by an approval (services/disclosure/gaiji_registry.py).
--
-- base_version: the glyph_version of the code point when proposed (0: not yet registered). An approval
-- whose base is no longer current is refused (it would silently undo a change approved since).
SET ROLE juki_term_owner;

CREATE TABLE term.gaiji_changes (
  id                bigserial PRIMARY KEY,
  code_point        integer NOT NULL
                    CHECK (code_point BETWEEN 57344 AND 63743 OR code_point >= 983040),
  mj_name           text NOT NULL CHECK (mj_name ~ '^MJ[0-9]{6}$'),
  sequence          text NOT NULL CHECK (sequence <> '' AND length(sequence) <= 8),
  reason            text NOT NULL CHECK (reason <> '' AND length(reason) <= 500),
  base_version      integer NOT NULL CHECK (base_version >= 0),
  proposed_by_login text NOT NULL,
  proposed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gaiji_changes_code_point ON term.gaiji_changes (code_point, id);

CREATE TABLE term.gaiji_change_decisions (
  change_id         bigint PRIMARY KEY REFERENCES term.gaiji_changes (id),
  decision          text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  decided_by_login  text NOT NULL,
  decided_at        timestamptz NOT NULL DEFAULT now(),
  note              text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
  glyph_version     integer CHECK (glyph_version >= 1),  -- the registry's version an approval made
  items_bumped      integer CHECK (items_bumped >= 0),   -- File 1 外字変更連番 counters it raised
  CHECK ((decision = 'approved') = (glyph_version IS NOT NULL AND items_bumped IS NOT NULL))
);

-- Append-only for the terminal's role: a decision is never rewritten, a proposal never edited.
REVOKE UPDATE, DELETE, TRUNCATE ON term.gaiji_changes, term.gaiji_change_decisions FROM juki_term;

RESET ROLE;
