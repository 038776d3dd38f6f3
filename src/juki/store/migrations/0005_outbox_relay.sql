-- 0005: what the outbox relay needs to let several workers deliver at once (issue 3, item 3).
-- A worker claims rows in a short transaction (FOR UPDATE SKIP LOCKED) by setting a lease; it sends
-- outside any transaction and then records the outcome. A crashed worker's lease simply expires.
-- Each file's outbox stays in its own schema and is changed as its own role (architecture-notes §1).

SET ROLE juki_pref;
ALTER TABLE pref.outbox
  ADD COLUMN claimed_by    text,          -- the relay worker holding the lease (host:pid:n)
  ADD COLUMN claimed_until timestamptz;   -- the lease: after this time another worker may take the row
-- Per-person order: a row is claimable only when no earlier row of the same person is pending.
CREATE INDEX outbox_pending_person ON pref.outbox (juminhyo_code, id) WHERE status = 'pending';
CREATE INDEX outbox_dead ON pref.outbox (id) WHERE status = 'dead';
RESET ROLE;

SET ROLE juki_fuhyo;
ALTER TABLE fuhyo.outbox
  ADD COLUMN claimed_by    text,
  ADD COLUMN claimed_until timestamptz;
CREATE INDEX outbox_pending_person ON fuhyo.outbox (juminhyo_code, id) WHERE status = 'pending';
CREATE INDEX outbox_dead ON fuhyo.outbox (id) WHERE status = 'dead';
RESET ROLE;
