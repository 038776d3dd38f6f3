-- 0011: the relay's claim walks the pending rows in delivery order and stops after a batch.
-- With only (next_attempt_at) indexed, every claim read and sorted *all* pending rows and ran the
-- per-person check for each (O(pending) per claim: the relay's main database cost under load).
-- An index in the claim's ORDER BY lets the planner stop after batch_size rows.
SET ROLE juki_pref;
CREATE INDEX outbox_pending_due ON pref.outbox (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX pref.outbox_pending;
RESET ROLE;

SET ROLE juki_fuhyo;
CREATE INDEX outbox_pending_due ON fuhyo.outbox (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX fuhyo.outbox_pending;
RESET ROLE;
