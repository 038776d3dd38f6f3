-- 0027: correction, addition and deletion requests (訂正等の申出, F1-4, F2-4; 住基法第30条の35; A-12).
--
-- A case per request, in each file's own schema: 申出 registered (what the person says is wrong, linked
-- to the disclosure) → 調査 (an inquiry to the 市町村CS over the existing mTLS channel) → the
-- municipality's answer (no change needed, or it corrects: the correction then arrives as an ordinary
-- F1-1 notification, whose notification_id the case records) → the answer letter (closed). The server
-- never edits the file from a case (S-38): the table has no item values, only what the person claims.
-- due_on is the deadline the counter tracks (open cases past it are listed as overdue); retain_until
-- is the 保存期限 for the operations issue's purge.

SET ROLE juki_pref_owner;

CREATE TABLE pref.correction_case (
  id                 bigserial PRIMARY KEY,
  case_no            text NOT NULL UNIQUE,
  request_no         text NOT NULL DEFAULT '',       -- the disclosure it follows (F1-4: the person checked the disclosed data)
  juminhyo_code      text NOT NULL CHECK (juminhyo_code ~ '^[0-9]{11}$'),
  municipality_code  text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),  -- whom the prefecture asks
  kind               text NOT NULL CHECK (kind IN ('correction', 'addition', 'deletion')),
  items              text[] NOT NULL CHECK (cardinality(items) > 0),
  claim              text NOT NULL CHECK (claim <> ''),  -- what the person says is wrong, in their words
  requested          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- item → the value the person says is right
  received_on        date NOT NULL,
  due_on             date NOT NULL,
  status             text NOT NULL DEFAULT 'registered'
                     CHECK (status IN ('registered', 'investigating', 'answered', 'closed')),
  inquiry_id         text,                            -- the inquiry sent to the 市町村CS
  inquiry_sent_at    timestamptz,
  result             text CHECK (result IN ('no_change', 'municipality_corrects')),
  municipality_answer text NOT NULL DEFAULT '',
  answered_at        timestamptz,
  correction_notification text,                       -- the F1-1 notification_id that carried the correction
  letter_number      text UNIQUE,
  closed_at          timestamptz,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  retain_until       date NOT NULL,
  CHECK ((status IN ('answered', 'closed')) = (result IS NOT NULL)),
  CHECK ((status = 'closed') = (letter_number IS NOT NULL))
);
CREATE INDEX correction_case_open ON pref.correction_case (due_on) WHERE status <> 'closed';
CREATE INDEX correction_case_person ON pref.correction_case (juminhyo_code);
CREATE INDEX correction_case_retain ON pref.correction_case (retain_until);

RESET ROLE;
SET ROLE juki_fuhyo_owner;

CREATE TABLE fuhyo.correction_case (
  id                 bigserial PRIMARY KEY,
  case_no            text NOT NULL UNIQUE,
  request_no         text NOT NULL DEFAULT '',       -- the disclosure it follows (F1-4: the person checked the disclosed data)
  juminhyo_code      text NOT NULL CHECK (juminhyo_code ~ '^[0-9]{11}$'),
  municipality_code  text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),  -- whom the prefecture asks
  kind               text NOT NULL CHECK (kind IN ('correction', 'addition', 'deletion')),
  items              text[] NOT NULL CHECK (cardinality(items) > 0),
  claim              text NOT NULL CHECK (claim <> ''),  -- what the person says is wrong, in their words
  requested          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- item → the value the person says is right
  received_on        date NOT NULL,
  due_on             date NOT NULL,
  status             text NOT NULL DEFAULT 'registered'
                     CHECK (status IN ('registered', 'investigating', 'answered', 'closed')),
  inquiry_id         text,                            -- the inquiry sent to the 市町村CS
  inquiry_sent_at    timestamptz,
  result             text CHECK (result IN ('no_change', 'municipality_corrects')),
  municipality_answer text NOT NULL DEFAULT '',
  answered_at        timestamptz,
  correction_notification text,                       -- the F1-1 notification_id that carried the correction
  letter_number      text UNIQUE,
  closed_at          timestamptz,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  retain_until       date NOT NULL,
  CHECK ((status IN ('answered', 'closed')) = (result IS NOT NULL)),
  CHECK ((status = 'closed') = (letter_number IS NOT NULL))
);
CREATE INDEX correction_case_open ON fuhyo.correction_case (due_on) WHERE status <> 'closed';
CREATE INDEX correction_case_person ON fuhyo.correction_case (juminhyo_code);
CREATE INDEX correction_case_retain ON fuhyo.correction_case (retain_until);

RESET ROLE;
