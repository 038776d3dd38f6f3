-- 0001: the two server roles and File 1 (本人確認情報), REQUIREMENTS §1.1 D1-01..28.
-- Roles are cluster-wide and may already exist (several databases, or a re-run): create if missing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'juki_pref') THEN
    CREATE ROLE juki_pref LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'juki_fuhyo') THEN
    CREATE ROLE juki_fuhyo LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

-- Nobody gets anything by default: not even the public schema.
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA pref AUTHORIZATION juki_pref;
REVOKE ALL ON SCHEMA pref FROM PUBLIC;

SET ROLE juki_pref;

-- 更新順番号 (D1-22): one increasing sequence for the whole file.
CREATE SEQUENCE pref.update_seq AS bigint;

CREATE TABLE pref.identity_current (
  juminhyo_code        text PRIMARY KEY CHECK (juminhyo_code ~ '^[0-9]{11}$'),  -- D1-01 住民票コード
  name_kanji           text NOT NULL,                 -- D1-02 漢字氏名 (exactly as received, IVS kept)
  name_gaiji_count     smallint NOT NULL DEFAULT 0,   -- D1-03 外字数（氏名）
  name_kana            text NOT NULL,                 -- D1-04 ふりがな氏名
  birth_date           text NOT NULL,                 -- D1-05 生年月日 (JukiDate canonical text)
  sex                  text NOT NULL CHECK (sex IN ('1', '2')),  -- D1-06 性別
  address              text NOT NULL,                 -- D1-07 住所 (exactly as received)
  address_gaiji_count  smallint NOT NULL DEFAULT 0,   -- D1-08 外字数（住所）
  my_number            text CHECK (my_number ~ '^[0-9]{12}$'),  -- D1-09 個人番号
  change_reason        text NOT NULL,                 -- D1-10 異動事由 (ChangeReason value)
  change_date          text NOT NULL,                 -- D1-11 異動年月日 (JukiDate canonical text)
  retention_flag       boolean NOT NULL DEFAULT false,  -- D1-12 保存期間フラグ: the 150-year rule governs it
  seion_kana           text COLLATE "C" NOT NULL,     -- D1-13 清音化かな氏名 (search key)
  municipality_code    text NOT NULL CHECK (municipality_code ~ '^[0-9]{6}$'),  -- D1-14 市町村コード
  aza_code             text NOT NULL DEFAULT '',      -- D1-15 大字・字コード
  operator_id          text NOT NULL,                 -- D1-16 操作者ＩＤ (the notifying channel)
  terminal_id          text NOT NULL,                 -- D1-17 操作端末ＩＤ
  updated_at           timestamptz NOT NULL DEFAULT now(),  -- D1-18 タイムスタンプ
  notified_on          date NOT NULL,                 -- D1-19 通知を受けた年月日
  gaiji_flag           boolean NOT NULL DEFAULT false,  -- D1-20 外字フラグ
  deleted_flag         boolean NOT NULL DEFAULT false,  -- D1-21 削除フラグ: the record was ended (消除/死亡)
  update_seq           bigint NOT NULL,               -- D1-22 更新順番号
  name_gaiji_seq       integer NOT NULL DEFAULT 0,    -- D1-23 氏名外字変更連番
  address_gaiji_seq    integer NOT NULL DEFAULT 0,    -- D1-24 住所外字変更連番
  former_surname_kanji text NOT NULL DEFAULT '',      -- D1-25 旧氏 漢字
  former_surname_gaiji_count smallint NOT NULL DEFAULT 0,  -- D1-26 旧氏 外字数
  former_surname_kana  text NOT NULL DEFAULT '',      -- D1-27 旧氏 ふりがな
  former_surname_gaiji_seq integer NOT NULL DEFAULT 0,  -- D1-28 旧氏 外字変更連番
  -- state of the record
  status               text NOT NULL CHECK (status IN ('present', 'ended')),
  end_kind             text CHECK (end_kind IN ('removed', 'death', 'code_changed')),
  ended_on             text,                          -- JukiDate canonical text of the end
  retain_until         date,                          -- R-02/R-03: purge after this (150 years)
  old_juminhyo_code    text,                          -- predecessor code (住民票コード変更)
  successor_code       text,                          -- successor code, on the ended old record
  version              integer NOT NULL DEFAULT 1,    -- versions of this person (history holds the rest)
  -- derived search keys (never shown; rebuilt from the items)
  seion_family         text COLLATE "C" NOT NULL DEFAULT '',
  seion_given          text COLLATE "C" NOT NULL DEFAULT '',
  address_key          text COLLATE "C" NOT NULL DEFAULT '',
  birth_key            integer NOT NULL DEFAULT 0,    -- JukiDate.sort_key
  CHECK ((status = 'ended') = (end_kind IS NOT NULL))
);

-- Full snapshots of every superseded version (R-02: kept 150 years).
CREATE TABLE pref.identity_history (LIKE pref.identity_current INCLUDING DEFAULTS);
ALTER TABLE pref.identity_history
  ADD COLUMN superseded_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN superseded_by_seq bigint,               -- 更新順番号 of the change that ended this version
  ADD COLUMN superseded_by_inbox bigint,             -- the notification that ended this version
  ADD PRIMARY KEY (juminhyo_code, version);

-- Every notification received, accepted or not (nothing is ever silently dropped).
CREATE TABLE pref.notification_inbox (
  id                bigserial PRIMARY KEY,
  received_at       timestamptz NOT NULL DEFAULT now(),
  source            text NOT NULL,                   -- channel: 'cs:<code>' or 'file:<name>'
  line_no           integer,                         -- position in the submitted batch or file
  municipality_code text,
  notification_id   text,
  juminhyo_code     text,
  reason            text,
  status            text NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
  error_code        text,
  error_message     text,
  warnings          text[] NOT NULL DEFAULT '{}',
  payload           jsonb,                           -- the notification as parsed JSON
  raw               bytea,                           -- the bytes, when they were not valid JSON/UTF-8
  payload_hash      bytea,                           -- SHA-256 of the canonical payload (duplicates)
  update_seq        bigint,                          -- 更新順番号 given when accepted
  CHECK ((status = 'rejected') = (error_code IS NOT NULL))
);
-- Idempotency: one accepted notification per (municipality, notification id).
CREATE UNIQUE INDEX notification_inbox_idempotency
  ON pref.notification_inbox (municipality_code, notification_id) WHERE status = 'accepted';
CREATE INDEX notification_inbox_person ON pref.notification_inbox (juminhyo_code);

-- Notices to the 全国サーバ, written in the same transaction as the change (sent by the relay).
-- Kept in File 1's own schema: they carry 個人番号, which the fuhyo role must never read.
CREATE TABLE pref.outbox (
  id               bigserial PRIMARY KEY,
  created_at       timestamptz NOT NULL DEFAULT now(),
  destination      text NOT NULL DEFAULT 'national',
  juminhyo_code    text NOT NULL,
  update_seq       bigint NOT NULL,
  idempotency_key  text NOT NULL UNIQUE,
  payload          jsonb NOT NULL,                   -- D1-PS: the 8 items J-LIS receives
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  last_error       text
);
CREATE INDEX outbox_pending ON pref.outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_person ON pref.outbox (juminhyo_code, update_seq);

RESET ROLE;
