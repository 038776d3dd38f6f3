-- 0032: "who looked at this resident" (REQUIREMENTS S-15..S-18; issue 10 item 8).
--
-- A log row names the persons it touched in two places, both inside the hashed content:
-- * target: the one person acted on (a record view: its 住民票コード);
-- * detail -> 'shown': every person whose data the operation showed (a 4情報 search's hits, a
--   J-LIS query's matches), as a JSON array of 住民票コード — codes only, never names or dates.
-- The review's target filter (services/audit/review.LogFilter.target, entries_for_target) asks
-- `target = $1 OR detail -> 'shown' ? $1`; op_log_target (0009) serves the first half, this GIN
-- index the second, so the question is two index look-ups at any size of log.
--
-- Why an expression index rather than a side table: the codes stay in the one row the chain
-- hashes, so nobody can add or remove a person from what a search returned without breaking
-- `juki audit verify`; a side table would be a second, unhashed copy. The log stays append-only:
-- this adds an index and changes no row, no function and no grant.
SET ROLE juki_audit;

-- Not partial: the planner could not prove `detail ? 'shown'` from the filter's condition.
CREATE INDEX op_log_shown ON audit.op_log USING gin ((detail -> 'shown'));

RESET ROLE;
