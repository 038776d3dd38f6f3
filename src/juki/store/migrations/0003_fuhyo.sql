-- 0003: File 2 (附票本人確認情報), REQUIREMENTS §1.2 D2-01..18, owned by its own role.
CREATE SCHEMA fuhyo AUTHORIZATION juki_fuhyo;
REVOKE ALL ON SCHEMA fuhyo FROM PUBLIC;

SET ROLE juki_fuhyo;

-- Internal ordering of File 2 changes (File 2 has no 更新順番号 item, D2-N1; this is bookkeeping).
CREATE SEQUENCE fuhyo.update_seq AS bigint;

CREATE TABLE fuhyo.fuhyo_current (
  juminhyo_code             text PRIMARY KEY CHECK (juminhyo_code ~ '^[0-9]{11}$'),  -- D2-01
  name_kanji                text NOT NULL,            -- D2-02 氏名 漢字
  name_gaiji_count          smallint NOT NULL DEFAULT 0,  -- D2-03 氏名 外字数
  name_kana                 text NOT NULL,            -- D2-04 氏名 ふりがな
  birth_date                text NOT NULL,            -- D2-05 生年月日 (JukiDate canonical)
  sex                       text NOT NULL CHECK (sex IN ('1', '2')),  -- D2-06 性別
  address_municipality_code text NOT NULL DEFAULT '', -- D2-07 住所 市町村コード ('' while abroad)
  address                   text NOT NULL,            -- D2-08 住所 漢字
  address_gaiji_count       smallint NOT NULL DEFAULT 0,  -- D2-09 住所 外字数
  last_address              text NOT NULL DEFAULT '', -- D2-10 最終住所 漢字
  last_address_gaiji_count  smallint NOT NULL DEFAULT 0,  -- D2-11 最終住所 外字数
  change_date               text NOT NULL,            -- D2-12 異動年月日
  old_juminhyo_code         text NOT NULL DEFAULT '', -- D2-13 旧住民票コード
  fuhyo_municipality_code   text NOT NULL CHECK (fuhyo_municipality_code ~ '^[0-9]{6}$'),  -- D2-14
  status                    text NOT NULL CHECK (status IN ('domestic', 'abroad', 'ended')),  -- D2-15
  gaiji_flag                boolean NOT NULL DEFAULT false,  -- D2-16 外字フラグ
  gaiji_pattern             text NOT NULL DEFAULT '', -- D2-17 外字パターン ("U+XXXX …" of the 外字 used)
  notification_kind         text NOT NULL,            -- D2-18 通知区分 (記載 / 消除 / 修正)
  -- bookkeeping (not items of File 2)
  change_reason             text NOT NULL,            -- reason of the last notification
  notified_on               date NOT NULL,
  end_kind                  text CHECK (end_kind IN ('removed', 'death', 'code_changed')),
  successor_code            text,
  update_seq                bigint NOT NULL,
  version                   integer NOT NULL DEFAULT 1,
  updated_at                timestamptz NOT NULL DEFAULT now(),
  seion_kana                text COLLATE "C" NOT NULL DEFAULT '',
  seion_family              text COLLATE "C" NOT NULL DEFAULT '',
  seion_given               text COLLATE "C" NOT NULL DEFAULT '',
  address_key               text COLLATE "C" NOT NULL DEFAULT '',
  birth_key                 integer NOT NULL DEFAULT 0,
  CHECK ((status = 'ended') = (end_kind IS NOT NULL))
);

CREATE TABLE fuhyo.fuhyo_history (LIKE fuhyo.fuhyo_current INCLUDING DEFAULTS);
ALTER TABLE fuhyo.fuhyo_history
  ADD COLUMN superseded_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN superseded_by_seq bigint,
  ADD COLUMN superseded_by_inbox bigint,
  ADD PRIMARY KEY (juminhyo_code, version);

CREATE TABLE fuhyo.notification_inbox (
  id                bigserial PRIMARY KEY,
  received_at       timestamptz NOT NULL DEFAULT now(),
  source            text NOT NULL,
  line_no           integer,
  municipality_code text,
  notification_id   text,
  juminhyo_code     text,
  reason            text,
  status            text NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
  error_code        text,
  error_message     text,
  warnings          text[] NOT NULL DEFAULT '{}',
  payload           jsonb,
  raw               bytea,
  payload_hash      bytea,
  update_seq        bigint,
  CHECK ((status = 'rejected') = (error_code IS NOT NULL))
);
CREATE UNIQUE INDEX notification_inbox_idempotency
  ON fuhyo.notification_inbox (municipality_code, notification_id) WHERE status = 'accepted';
CREATE INDEX notification_inbox_person ON fuhyo.notification_inbox (juminhyo_code);

-- Notices to the 附票全国サーバ.
CREATE TABLE fuhyo.outbox (
  id               bigserial PRIMARY KEY,
  created_at       timestamptz NOT NULL DEFAULT now(),
  destination      text NOT NULL DEFAULT 'fuhyo_national',
  juminhyo_code    text NOT NULL,
  update_seq       bigint NOT NULL,
  idempotency_key  text NOT NULL UNIQUE,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  last_error       text
);
CREATE INDEX outbox_pending ON fuhyo.outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_person ON fuhyo.outbox (juminhyo_code, update_seq);

CREATE INDEX fuhyo_seion ON fuhyo.fuhyo_current (seion_kana);
CREATE INDEX fuhyo_seion_given ON fuhyo.fuhyo_current (seion_given);
CREATE INDEX fuhyo_address_key ON fuhyo.fuhyo_current (address_key);
CREATE INDEX fuhyo_birth ON fuhyo.fuhyo_current (birth_key);
CREATE INDEX fuhyo_municipality ON fuhyo.fuhyo_current (fuhyo_municipality_code);

RESET ROLE;
