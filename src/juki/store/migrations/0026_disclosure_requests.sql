-- 0026: the register of disclosure requests (F1-3, F2-3, S-55; LEGAL.md §3, §4) and the 外字 registry
-- (DOMAIN §7).
--
-- One register per file, in the file's own schema and owned by its owner role (architecture notes 1
-- and 8): a request names what the requester gave to identify themselves (4情報 and/or 住民票コード —
-- never a 個人番号, N-H8: the table has no such column and a CHECK refuses 12-digit codes) and,
-- once matched, the 住民票コード of the one person found. A request for both files is one row in each
-- register under the same request number. The file's login role gets DML by default privileges (0012).
--
-- status: received (受付) → matched (照合: one person) → issued (交付: the form was printed) or refused
-- (不開示: no match, several candidates, or the counter's decision). Every step is also an
-- operation-log row; disclosure_request_event keeps the steps for the counter to see.
-- retain_until (保存期限): the operations issue purges by a retention table (services/disclosure:
-- purge_expired(conn, today)).

SET ROLE juki_pref_owner;

CREATE TABLE pref.disclosure_request (
  id                  bigserial PRIMARY KEY,
  request_no          text NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('disclosure', 'provision_status')),
  received_on         date NOT NULL,
  office              text NOT NULL CHECK (office <> ''),
  channel             text NOT NULL CHECK (channel IN ('counter', 'post', 'electronic')),
  requester_kind      text NOT NULL CHECK (requester_kind IN ('self', 'legal_representative', 'agent')),
  identity_document   text NOT NULL CHECK (identity_document <> ''),
  given_name          text NOT NULL DEFAULT '',
  given_birth_date    text NOT NULL DEFAULT '',
  given_sex           text NOT NULL DEFAULT '',
  given_address       text NOT NULL DEFAULT '',
  given_juminhyo_code text NOT NULL DEFAULT '' CHECK (given_juminhyo_code ~ '^([0-9]{11})?$'),
  status              text NOT NULL DEFAULT 'received'
                      CHECK (status IN ('received', 'matched', 'issued', 'refused')),
  matched_code        text CHECK (matched_code ~ '^[0-9]{11}$'),
  refusal_code        text,
  issue_number        text UNIQUE,
  issued_at           timestamptz,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  retain_until        date NOT NULL,
  UNIQUE (request_no, kind),
  CHECK ((status IN ('matched', 'issued')) = (matched_code IS NOT NULL)),
  CHECK ((status = 'issued') = (issue_number IS NOT NULL))
);
CREATE INDEX disclosure_request_status ON pref.disclosure_request (status, received_on);
CREATE INDEX disclosure_request_retain ON pref.disclosure_request (retain_until);
CREATE INDEX disclosure_request_matched ON pref.disclosure_request (matched_code);

CREATE TABLE pref.disclosure_request_event (
  id          bigserial PRIMARY KEY,
  request_id  bigint NOT NULL REFERENCES pref.disclosure_request (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  status      text NOT NULL,
  operator    text NOT NULL,
  note        text NOT NULL DEFAULT ''
);
CREATE INDEX disclosure_request_event_request ON pref.disclosure_request_event (request_id, at);


RESET ROLE;
SET ROLE juki_fuhyo_owner;

CREATE TABLE fuhyo.disclosure_request (
  id                  bigserial PRIMARY KEY,
  request_no          text NOT NULL,
  kind                text NOT NULL CHECK (kind = 'disclosure'),  -- no provision-status disclosure for File 2 (A-10)
  received_on         date NOT NULL,
  office              text NOT NULL CHECK (office <> ''),
  channel             text NOT NULL CHECK (channel IN ('counter', 'post', 'electronic')),
  requester_kind      text NOT NULL CHECK (requester_kind IN ('self', 'legal_representative', 'agent')),
  identity_document   text NOT NULL CHECK (identity_document <> ''),
  given_name          text NOT NULL DEFAULT '',
  given_birth_date    text NOT NULL DEFAULT '',
  given_sex           text NOT NULL DEFAULT '',
  given_address       text NOT NULL DEFAULT '',
  given_juminhyo_code text NOT NULL DEFAULT '' CHECK (given_juminhyo_code ~ '^([0-9]{11})?$'),
  status              text NOT NULL DEFAULT 'received'
                      CHECK (status IN ('received', 'matched', 'issued', 'refused')),
  matched_code        text CHECK (matched_code ~ '^[0-9]{11}$'),
  refusal_code        text,
  issue_number        text UNIQUE,
  issued_at           timestamptz,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  retain_until        date NOT NULL,
  UNIQUE (request_no, kind),
  CHECK ((status IN ('matched', 'issued')) = (matched_code IS NOT NULL)),
  CHECK ((status = 'issued') = (issue_number IS NOT NULL))
);
CREATE INDEX disclosure_request_status ON fuhyo.disclosure_request (status, received_on);
CREATE INDEX disclosure_request_retain ON fuhyo.disclosure_request (retain_until);
CREATE INDEX disclosure_request_matched ON fuhyo.disclosure_request (matched_code);

CREATE TABLE fuhyo.disclosure_request_event (
  id          bigserial PRIMARY KEY,
  request_id  bigint NOT NULL REFERENCES fuhyo.disclosure_request (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  status      text NOT NULL,
  operator    text NOT NULL,
  note        text NOT NULL DEFAULT ''
);
CREATE INDEX disclosure_request_event_request ON fuhyo.disclosure_request_event (request_id, at);

RESET ROLE;
SET ROLE juki_term_owner;

-- The 外字 registry (DOMAIN §7): what glyph a private-use code point (a municipality's 外字) stands for,
-- as its MJ文字図形名 and the Unicode sequence (base + Moji_Joho IVS, or a plain code point) that selects
-- that glyph in IPAmj明朝, so printed forms show it. glyph_version counts glyph changes; a change bumps
-- the 外字変更連番 of File 1's records that use the code point (services/disclosure/gaiji_registry.py).
-- Not personal data and used for both files: it lives in term (juki_term prints; the file roles get
-- nothing on it, S-35), owned by juki_term_owner.
CREATE TABLE term.gaiji_registry (
  code_point     integer PRIMARY KEY
                 CHECK (code_point BETWEEN 57344 AND 63743 OR code_point >= 983040),  -- U+E000–F8FF, planes 15–16
  mj_name        text NOT NULL CHECK (mj_name ~ '^MJ[0-9]{6}$'),
  sequence       text NOT NULL CHECK (sequence <> ''),
  glyph_version  integer NOT NULL DEFAULT 1 CHECK (glyph_version >= 1),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  updated_by     text NOT NULL
);
RESET ROLE;
