-- 0030: search result sets kept server side (issue 10 item 1; F1-6, F2-6, S-16, ARCHITECTURE §4).
--
-- Why this shape:
-- * A search is POSTed and answered with a redirect to GET /search/{file}/results/{id}, so the
--   browser's Back and the record page's 「検索結果へ戻る」 return to the list without a new search,
--   and still no personal data is in a URL: the id is 128 random bits and means nothing by itself.
-- * The set lives in the searched file's own schema, owned by its owner role, like the
--   reconciliation results (architecture note 8): it holds 住民票コード and the conditions typed,
--   which juki_term (sign-in, rights) must never hold. A fuhyo connection cannot read pref's sets.
-- * Only the 住民票コード in display order and the conditions are kept; every display re-reads the
--   rows through the rights-checked service (services/search/result_sets.py) and logs the view.
-- * A set belongs to one session (session_id, as the operation log names it) and expires with it:
--   the service answers only the session that made it, and every new set purges the file's sets
--   past expires_at (a working day; a session that ends earlier can no longer reach its sets).
SET ROLE juki_pref_owner;
CREATE TABLE pref.search_result_sets (
  id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22,64}$'),
  session_id   text NOT NULL,
  operator_id  bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  conditions   jsonb NOT NULL,
  notes        jsonb NOT NULL DEFAULT '{}',
  codes        text[] NOT NULL,
  shown        boolean NOT NULL DEFAULT false,
  CHECK (expires_at > created_at AND expires_at <= created_at + interval '24 hours')
);
CREATE INDEX search_result_sets_expiry ON pref.search_result_sets (expires_at);
RESET ROLE;

SET ROLE juki_fuhyo_owner;
CREATE TABLE fuhyo.search_result_sets (
  id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22,64}$'),
  session_id   text NOT NULL,
  operator_id  bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  conditions   jsonb NOT NULL,
  notes        jsonb NOT NULL DEFAULT '{}',
  codes        text[] NOT NULL,
  shown        boolean NOT NULL DEFAULT false,
  CHECK (expires_at > created_at AND expires_at <= created_at + interval '24 hours')
);
CREATE INDEX search_result_sets_expiry ON fuhyo.search_result_sets (expires_at);
RESET ROLE;
