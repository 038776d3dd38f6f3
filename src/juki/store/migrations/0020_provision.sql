-- 0020: provision and transfer — the legal-basis catalog and the provision records (REQUIREMENTS F1-2,
-- F2-2, S-21, S-22, S-28, R-08, REC-1, A-15; docs/provision.md).
--
-- * The catalog (who may receive which items for which task, by which key and method) is data in the
--   schema `provision`, owned by juki_term_owner like the rights ledger it resembles. A change is a whole
--   new version: a proposal by one administrator, a decision by another (four eyes). Both tables are
--   append-only (term.refuse_rewrite). The version in force is the most recently approved proposal.
--   juki_term writes proposals and decisions; the file roles only read.
-- * Version 1 is the example catalog shipped in juki/data/provision_catalog.toml, parsed to JSON (a test
--   checks the two agree). Every entry says example = true: a prefecture replaces them with its ordinance.
-- * Provision records live in each file's own schema (pref.provision_record, fuhyo.provision_record),
--   like the outbox and the J-LIS communication records: a File 1 record names a 住民票コード of File 1,
--   and the fuhyo role must see nothing of File 1 (S-35). One row per person-answer, provided or
--   refused where processing ran (S-22), kept seven years (R-08). The server roles may read and append;
--   they can neither change nor delete a row. Only purge_provision_records() deletes, and only what is
--   older than seven years by the server's own clock.

CREATE SCHEMA provision AUTHORIZATION juki_term_owner;
REVOKE ALL ON SCHEMA provision FROM PUBLIC;
SET ROLE juki_term_owner;

CREATE TABLE provision.catalog_proposals (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  content            jsonb NOT NULL,
  reason             text NOT NULL CHECK (reason <> ''),
  base_version       bigint REFERENCES provision.catalog_proposals (id),  -- in force when proposed
  proposed_by        bigint REFERENCES term.operators (id),                -- NULL: the shipped seed
  proposed_by_login  text NOT NULL,
  proposed_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provision.catalog_decisions (
  proposal_id        bigint PRIMARY KEY REFERENCES provision.catalog_proposals (id),
  decision           text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  decided_by         bigint REFERENCES term.operators (id),                -- NULL: the shipped seed
  decided_by_login   text NOT NULL,
  decided_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  note               text NOT NULL DEFAULT ''
);
CREATE INDEX catalog_decisions_approved ON provision.catalog_decisions (decided_at DESC, proposal_id DESC)
  WHERE decision = 'approved';

-- Four eyes in the database too: nobody approves their own proposal (the service refuses first, with a
-- message; this holds even for a caller that skips the service).
CREATE FUNCTION provision.four_eyes() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.decision = 'approved' AND EXISTS (
       SELECT 1 FROM provision.catalog_proposals p
        WHERE p.id = NEW.proposal_id AND p.proposed_by IS NOT NULL
          AND p.proposed_by IS NOT DISTINCT FROM NEW.decided_by) THEN
    RAISE EXCEPTION 'provision.catalog_decisions: a proposal is approved by another administrator'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION provision.four_eyes() FROM PUBLIC;
CREATE TRIGGER catalog_four_eyes BEFORE INSERT ON provision.catalog_decisions
  FOR EACH ROW EXECUTE FUNCTION provision.four_eyes();

CREATE TRIGGER catalog_proposals_append_only BEFORE UPDATE OR DELETE ON provision.catalog_proposals
  FOR EACH ROW EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER catalog_proposals_no_truncate BEFORE TRUNCATE ON provision.catalog_proposals
  FOR EACH STATEMENT EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER catalog_decisions_append_only BEFORE UPDATE OR DELETE ON provision.catalog_decisions
  FOR EACH ROW EXECUTE FUNCTION term.refuse_rewrite();
CREATE TRIGGER catalog_decisions_no_truncate BEFORE TRUNCATE ON provision.catalog_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION term.refuse_rewrite();

-- Version 1: juki/data/provision_catalog.toml as parsed by services/provision/catalog.parse_toml.
INSERT INTO provision.catalog_proposals (content, reason, proposed_by_login) VALUES ($seed$
{
 "requesters": [
  {
   "code": "kyoiku",
   "name": "神奈川県教育委員会",
   "kind": "organ",
   "head": "教育長",
   "example": true
  },
  {
   "code": "koan",
   "name": "神奈川県公安委員会",
   "kind": "organ",
   "head": "警察本部長",
   "example": true
  },
  {
   "code": "shigaku",
   "name": "文化スポーツ観光局 私学振興課",
   "kind": "department",
   "head": "私学振興課長",
   "example": true
  },
  {
   "code": "zeimu",
   "name": "総務局 税務指導課",
   "kind": "department",
   "head": "税務指導課長",
   "example": true
  }
 ],
 "tasks": [
  {
   "requester": "kyoiku",
   "code": "tokubetsu-shien",
   "name": "特別支援学校への就学のため必要な経費の支弁に関する事務",
   "legal_path": "provision_1",
   "citation": "住民基本台帳法第30条の15第2項第1号、別表第六（特別支援学校への就学奨励に関する法律による経費の支弁）",
   "items": {
    "pref": [
     "name_kanji",
     "birth_date",
     "sex",
     "address",
     "my_number",
     "change_reason",
     "change_date"
    ]
   },
   "keys": [
    "basic4",
    "my_number"
   ],
   "methods": [
    "media",
    "paper",
    "screen"
   ],
   "my_number_addon": false,
   "valid_from": "2016-01-01",
   "valid_to": null,
   "example": true
  },
  {
   "requester": "kyoiku",
   "code": "shugaku-shien-kyu",
   "name": "高等学校等就学支援金の支給に関する事務（旧制度分）",
   "legal_path": "provision_1",
   "citation": "住民基本台帳法第30条の15第2項第1号、別表第六（旧制度分・経過措置の終了により失効）",
   "items": {
    "pref": [
     "name_kanji",
     "birth_date",
     "address"
    ]
   },
   "keys": [
    "basic4"
   ],
   "methods": [
    "paper",
    "screen"
   ],
   "my_number_addon": false,
   "valid_from": "2014-04-01",
   "valid_to": "2020-03-31",
   "example": true
  },
  {
   "requester": "koan",
   "code": "unten-menkyo",
   "name": "道路交通法による運転免許に関する事務",
   "legal_path": "provision_1",
   "citation": "住民基本台帳法第30条の15第2項第1号、別表第六（道路交通法による免許に関する事務）",
   "items": {
    "pref": [
     "name_kanji",
     "birth_date",
     "sex",
     "address",
     "change_reason",
     "change_date"
    ],
    "fuhyo": [
     "name_kanji",
     "address",
     "birth_date",
     "sex"
    ]
   },
   "keys": [
    "basic4",
    "resident_code"
   ],
   "methods": [
    "line",
    "media",
    "screen"
   ],
   "my_number_addon": false,
   "valid_from": "2003-08-25",
   "valid_to": null,
   "example": true
  },
  {
   "requester": "shigaku",
   "code": "shigaku-shugaku",
   "name": "私立高等学校等就学支援に関する事務",
   "legal_path": "own_use_2",
   "citation": "住民基本台帳法第30条の15第1項第2号、神奈川県住民基本台帳法施行条例別表第1（施行細則で定める事務）",
   "items": {
    "pref": [
     "name_kanji",
     "birth_date",
     "address",
     "change_reason",
     "change_date"
    ]
   },
   "keys": [
    "basic4",
    "my_number"
   ],
   "methods": [
    "paper",
    "screen"
   ],
   "my_number_addon": false,
   "valid_from": "2010-04-01",
   "valid_to": null,
   "example": true
  },
  {
   "requester": "zeimu",
   "code": "kenzei-kokugai",
   "name": "県税の賦課徴収に関する事務（国外転出者に係るもの）",
   "legal_path": "own_use_1",
   "citation": "住民基本台帳法第30条の44の6第1項第1号、別表第五、行政手続における特定の個人を識別するための番号の利用等に関する法律別表（地方税の賦課徴収）",
   "items": {
    "fuhyo": [
     "name_kanji",
     "address",
     "birth_date",
     "sex"
    ]
   },
   "keys": [
    "basic4",
    "resident_code"
   ],
   "methods": [
    "line",
    "media",
    "screen"
   ],
   "my_number_addon": true,
   "valid_from": "2024-05-27",
   "valid_to": null,
   "example": true
  }
 ]
}
$seed$::jsonb, '出荷時の例（各都道府県の条例に置き換えること）', '(shipped)');
INSERT INTO provision.catalog_decisions (proposal_id, decision, decided_by_login, note)
  VALUES (1, 'approved', '(shipped)', 'juki/data/provision_catalog.toml');
RESET ROLE;

GRANT USAGE ON SCHEMA provision TO juki_term, juki_pref, juki_fuhyo;
GRANT SELECT, INSERT ON provision.catalog_proposals, provision.catalog_decisions TO juki_term;
GRANT SELECT ON provision.catalog_proposals, provision.catalog_decisions TO juki_pref, juki_fuhyo;

-- Provision records, one table per file (the same shape).
DO $do$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['pref', 'fuhyo'] LOOP
    EXECUTE format('SET ROLE juki_%s_owner', f);
    EXECUTE format($t$
      CREATE TABLE %1$I.provision_record (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at              timestamptz NOT NULL DEFAULT now(),
        operator_id     bigint,                 -- term.operators id (the session's operator)
        operator_login  text NOT NULL,
        terminal_id     bigint,
        terminal_name   text NOT NULL,
        requester_code  text NOT NULL,
        requester_name  text NOT NULL,          -- as the catalog named it then (disclosure, S-55)
        requester_kind  text NOT NULL CHECK (requester_kind IN ('organ', 'department', '')),
        task_code       text NOT NULL,
        task_name       text NOT NULL,
        legal_path      text NOT NULL,          -- domain.provision.LegalPath value, '' if unknown
        legal_basis     text NOT NULL,          -- the path as cited, and the task's citation
        catalog_version bigint,
        key_type        text NOT NULL CHECK (key_type IN ('resident_code', 'my_number', 'basic4', '')),
        method          text NOT NULL CHECK (method IN ('screen', 'paper', 'media', 'flash', 'line', '')),
        juminhyo_code   text CHECK (juminhyo_code ~ '^[0-9]{11}$'),  -- the target, where one was identified
        items           text[] NOT NULL DEFAULT '{}',                 -- what was given (empty if refused)
        my_number_added boolean NOT NULL DEFAULT false,               -- F2-2 add-on
        source          text CHECK (source IN ('local', 'national')), -- own file or J-LIS (other prefecture)
        result_code     text NOT NULL CHECK (result_code ~ '^P_[A-Z_]+$'),
        reason          text NOT NULL DEFAULT '',                     -- machine reason of a refusal
        requester_ref   text NOT NULL DEFAULT '' CHECK (length(requester_ref) <= 200),
        bulk_job_id     bigint,                                       -- F1-2b (services/provision/bulk*)
        op_log_seq      bigint,                                       -- audit.op_log row of the operation
        retain_until    date NOT NULL,                                -- R-08: seven years
        CHECK ((result_code = 'P_MATCH') = (cardinality(items) > 0)),
        CHECK (result_code = 'P_MATCH' OR NOT my_number_added)
      )$t$, f);
    EXECUTE format('CREATE INDEX provision_record_person ON %I.provision_record (juminhyo_code, at) '
                   'WHERE juminhyo_code IS NOT NULL', f);
    EXECUTE format('CREATE INDEX provision_record_at ON %I.provision_record (at)', f);
    EXECUTE format('CREATE INDEX provision_record_bulk ON %I.provision_record (bulk_job_id) '
                   'WHERE bulk_job_id IS NOT NULL', f);
    EXECUTE format('CREATE INDEX provision_record_retain ON %I.provision_record (retain_until)', f);
    -- R-08, by the server's clock: a caller may name a later day (a scheduler's "today") but never
    -- purge a row younger than seven years.
    EXECUTE format($fn$
      CREATE FUNCTION %1$I.purge_provision_records(p_today date) RETURNS integer
        LANGUAGE sql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
      AS $body$
        WITH gone AS (
          DELETE FROM %1$I.provision_record
           WHERE retain_until <= least(p_today, current_date) RETURNING 1)
        SELECT count(*)::integer FROM gone
      $body$
    $fn$, f);
    EXECUTE format('REVOKE ALL ON FUNCTION %I.purge_provision_records(date) FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %I.purge_provision_records(date) TO juki_%s', f, f);
    -- Append and read only: the default privileges of 0012 gave DML; a record is never rewritten.
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.provision_record FROM juki_%s', f, f);
    RESET ROLE;
  END LOOP;
END $do$;
