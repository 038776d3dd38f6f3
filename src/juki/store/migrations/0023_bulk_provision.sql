-- 0023: bulk provision (一括提供, REQUIREMENTS F1-2b, F2-2; S-23, S-26, S-29, S-30, S-33, REC-3, REC-6).
--
-- Each file keeps its bulk jobs in its own schema, owned by its owner role, like the reconciliation
-- runs (architecture-notes §8): a File 1 request row may carry a 個人番号 the fuhyo role must never read.
--
-- * bulk_job          one row per request file: who sent it (an operator at a terminal, or a line-linkage
--                     agent's certificate), for which requester and task, its state
--                     (received → awaiting_approval → done / rejected / error), the S-26 decision and the
--                     result file's name, SHA-256 and row count.
-- * bulk_request_row  the request's rows with their search keys as the one 4情報 matcher derives them
--                     (services/search/matcher.py). Personal data: deleted when the job ends (processed,
--                     rejected or failed); it exists only while a job waits for its approval or runs.
--                     UNLOGGED: a million rows are written and deleted per job without WAL; a crash
--                     empties the table, and a job whose rows are gone ends as E_BULK_LOST (resubmit)
--                     instead of answering from half its rows.
-- * bulk_exchange     REC-3 / S-23: every line-linkage exchange (request in, result out), every download at
--                     a terminal and every output to a medium — file name, SHA-256, rows, medium, operator,
--                     terminal, peer, time. Append-only for the server role.
--
-- The electronic-media register (電磁的記録媒体管理簿, REC-6, S-30) is not personal data and lives beside the
-- provision catalog (schema provision, owned by juki_term_owner, 0020): juki_term keeps it, each file's
-- server role may read it (an output checks the medium) but not change it. So with each requester's age
-- recipient. (Not in term: the file roles must see nothing of term, tests/store/test_term_separation.py.) Which requester an operator acts for is the binding of their
-- role ("bulk_requester@<code>", permissions.toml), never a column an operator could choose.

SET ROLE juki_term_owner;
CREATE TABLE provision.media (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label         text NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 64),   -- the label on the medium
  kind          text NOT NULL CHECK (kind IN ('usb', 'optical', 'disk', 'other')),
  serial        text NOT NULL UNIQUE CHECK (serial ~ '^[A-Za-z0-9._-]{4,64}$'),  -- written on it at registration
  holder        text NOT NULL CHECK (length(holder) BETWEEN 1 AND 128),         -- 保管者 (who keeps it)
  status        text NOT NULL DEFAULT 'approved' CHECK (status IN ('approved', 'suspended', 'disposed', 'lost')),
  registered_at timestamptz NOT NULL DEFAULT now(),
  registered_by text NOT NULL,
  disposed_at   timestamptz,
  disposed_by   text,
  note          text NOT NULL DEFAULT '',
  CHECK ((status IN ('disposed', 'lost')) = (disposed_at IS NOT NULL))
);

-- The age recipient (public key) each requester's media outputs are encrypted to (S-30: a lost medium
-- leaks nothing). Public keys only: the requester keeps the identity; no private key is ever stored.
CREATE TABLE provision.requester_recipient (
  requester_code text PRIMARY KEY CHECK (requester_code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  age_recipient  text NOT NULL CHECK (age_recipient ~ '^age1[02-9ac-hj-np-z]{58}$'),
  set_at         timestamptz NOT NULL DEFAULT now(),
  set_by         text NOT NULL
);
RESET ROLE;
-- juki_term keeps the register (the console's `juki provision media …`); the file roles only read it.
GRANT SELECT, INSERT, UPDATE ON provision.media, provision.requester_recipient TO juki_term;
GRANT SELECT ON provision.media, provision.requester_recipient TO juki_pref, juki_fuhyo;

-- File 1 and File 2: the same three tables, each in its file's schema.
DO $$
DECLARE
  s text;
  number_column text;
BEGIN
  FOREACH s IN ARRAY ARRAY['pref', 'fuhyo'] LOOP
    EXECUTE format('SET ROLE juki_%s_owner', s);
    -- Only File 1 holds 個人番号: File 2's schema has no my_number column anywhere (S-36).
    number_column := CASE WHEN s = 'pref' THEN 'my_number text,' ELSE '' END;
    EXECUTE format($t$
      CREATE TABLE %1$I.bulk_job (
        id               bigserial PRIMARY KEY,
        requester_code   text NOT NULL,
        task_code        text NOT NULL,
        method           text NOT NULL CHECK (method IN ('media', 'line')),
        channel          text NOT NULL CHECK (channel IN ('terminal', 'line')),
        file_name        text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
        request_sha256   text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
        encoding         text NOT NULL CHECK (encoding IN ('utf-8', 'cp932')),
        rows             integer NOT NULL CHECK (rows >= 0),
        rows_invalid     integer NOT NULL CHECK (rows_invalid >= 0),
        state            text NOT NULL CHECK (state IN ('received', 'awaiting_approval', 'done', 'rejected', 'error')),
        submitted_at     timestamptz NOT NULL DEFAULT now(),
        operator_id      bigint,          -- terminal upload: the signed-in operator (from the session)
        operator_login   text,
        terminal_id      bigint,
        terminal_name    text,
        peer_name        text,            -- line linkage: the agent certificate's CN and serial
        peer_serial      text,
        approval_required boolean NOT NULL,
        decision         text CHECK (decision IN ('approved', 'rejected')),
        decided_by_id    bigint,
        decided_by_login text,
        decided_at       timestamptz,
        decision_note    text,
        processed_at     timestamptz,
        result_name      text,
        result_sha256    text,
        result_rows      integer,
        counts           jsonb,
        error_code       text,
        error_message    text,
        CHECK ((channel = 'terminal') = (operator_id IS NOT NULL)),
        CHECK ((channel = 'line') = (peer_name IS NOT NULL)),
        CHECK ((decision IS NULL) = (decided_at IS NULL)),
        CHECK (state <> 'error' OR error_code IS NOT NULL)
      )$t$, s);
    EXECUTE format('CREATE INDEX bulk_job_requester ON %I.bulk_job (requester_code, id)', s);
    EXECUTE format('CREATE INDEX bulk_job_waiting ON %I.bulk_job (id) WHERE state = ''awaiting_approval''', s);
    EXECUTE format($t$
      CREATE UNLOGGED TABLE %1$I.bulk_request_row (
        job_id       bigint NOT NULL REFERENCES %1$I.bulk_job (id),
        row_no       integer NOT NULL,      -- the data row's number in the file (1 = first after the header)
        request_ref  text NOT NULL,         -- the requester's own reference, echoed in the result
        key_type     text,                  -- resident_code / my_number / basic4 (NULL: unreadable)
        juminhyo_code text,
        %2$s
        seion        text COLLATE "C",      -- 清音化かな of the whole name (basic4)
        birth_lo     integer,
        birth_hi     integer,
        sex          text,
        address_patterns text[] COLLATE "C",  -- LIKE patterns of the address prefix (basic4)
        refusal      text,                  -- a result code decided before matching (P_INVALID …)
        detail       text,
        PRIMARY KEY (job_id, row_no)
      )$t$, s, number_column);
    EXECUTE format($t$
      CREATE TABLE %1$I.bulk_exchange (
        id             bigserial PRIMARY KEY,
        job_id         bigint NOT NULL REFERENCES %1$I.bulk_job (id),
        kind           text NOT NULL CHECK (kind IN ('line_request', 'line_result', 'terminal_request', 'download', 'media')),
        file_name      text NOT NULL,
        sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        rows           integer NOT NULL,
        medium_id      bigint,
        operator_id    bigint,
        operator_login text,
        terminal_id    bigint,
        terminal_name  text,
        peer_name      text,
        peer_serial    text,
        at             timestamptz NOT NULL DEFAULT now(),
        CHECK ((kind = 'media') = (medium_id IS NOT NULL)),
        CHECK (operator_id IS NOT NULL OR peer_name IS NOT NULL)
      )$t$, s);
    EXECUTE format('CREATE INDEX bulk_exchange_job ON %I.bulk_exchange (job_id, id)', s);
    RESET ROLE;
    -- The record of exchanges is append-only for the server role (S-23: no role rewrites what left).
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.bulk_exchange FROM juki_%s', s, s);
  END LOOP;
END $$;

-- The line-linkage agent (S-33) acts for its requester without an operator session: its exchanges are
-- logged as the system 'line', the agent certificate's name as the claimed login (as the console's
-- --as). Same function as 0018 otherwise.
SET ROLE juki_audit;
CREATE OR REPLACE FUNCTION audit_api.append_system(
  p_system text, p_claimed_login text, p_function text, p_file text, p_outcome text, p_target text,
  p_detail jsonb
) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_system IS NULL OR p_system NOT IN ('console', 'bench', 'line') THEN
    RAISE EXCEPTION 'audit_api.append_system: unknown system %', p_system
      USING ERRCODE = 'JKS02';
  END IF;
  RETURN audit.insert_row(NULL, NULL, NULL, NULL, NULL, p_claimed_login, 'system:' || p_system,
                          p_function, p_file, p_outcome, p_target, p_detail);
END
$$;
RESET ROLE;
