-- 0036: indexes for the statistics (F1-8, REC-10; services/statistics/residents.py).
--
-- The population "as of" a date takes, for each person whose current version began after that
-- date, the history version in effect then. Without an index on the 異動年月日 that needs a second
-- full scan of the current table (EXPLAIN at 1M persons: a parallel seq scan of identity_current,
-- ~0.5 s of three processes, for 0–70k rows); with it, a bitmap index scan of the few rows after
-- the date (0.04 ms for a recent date). The monthly movements read the history rows of twelve
-- months (8 % of the history): a bitmap scan instead of filtering every history row.
--
-- Expression indexes in C collation, because the statistics compare the stored JukiDate text in
-- C collation ('1985-03' < '1985-03-01' < '不詳'), whatever the database's default collation is.
-- They deduplicate well (a date repeats across thousands of persons): ~8 MB per million current
-- rows. Their price is one more B-tree entry per accepted notification in each table.

SET ROLE juki_pref_owner;
CREATE INDEX identity_change_date ON pref.identity_current ((change_date COLLATE "C"));
CREATE INDEX identity_history_change_date ON pref.identity_history ((change_date COLLATE "C"));
RESET ROLE;

SET ROLE juki_fuhyo_owner;
CREATE INDEX fuhyo_change_date ON fuhyo.fuhyo_current ((change_date COLLATE "C"));
CREATE INDEX fuhyo_history_change_date ON fuhyo.fuhyo_history ((change_date COLLATE "C"));
RESET ROLE;
