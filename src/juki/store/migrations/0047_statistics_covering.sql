-- 0047: covering indexes for the statistics population (F1-8, REC-10; issue 13: ≤ 10 s at 10M).
--
-- The population "as of" a date counts every current row in effect on that date (plus, through
-- the history, the persons whose current version began after it). That count read the whole
-- current table: a File 1 row is ~350 bytes (names, address, search keys), so 10M persons are
-- ~3.5 GB of heap for seven short columns. These indexes carry exactly the columns the statistics
-- read, so the count is a (parallel) index-only scan of ~65 bytes per person instead.
--
-- They replace the current-table 異動年月日 indexes of 0036 (same leading key, so the lookup of
-- the persons whose current version began after the date still uses them), so each accepted
-- notification still writes one statistics B-tree entry per table, only a wider one.
--
-- * The key stays (change_date COLLATE "C"): the statistics compare the JukiDate text in C
--   collation whatever the database's default is (see 0036).
-- * change_date is also INCLUDEd as a plain column: PostgreSQL only plans an index-only scan when
--   every column the query reads is in the index as a column; an expression key alone is not enough.
-- * File 2's statistics are only about 国外転出者 (住基法第30条の44の6, FileSpec.statistics_subject),
--   so its index is partial (status = 'abroad'): a few per cent of the rows.

SET ROLE juki_pref_owner;
CREATE INDEX identity_statistics ON pref.identity_current ((change_date COLLATE "C"))
  INCLUDE (change_date, notified_on, status, juminhyo_code, municipality_code, sex, birth_key, change_reason);
DROP INDEX pref.identity_change_date;
RESET ROLE;

SET ROLE juki_fuhyo_owner;
CREATE INDEX fuhyo_statistics ON fuhyo.fuhyo_current ((change_date COLLATE "C"))
  INCLUDE (change_date, notified_on, status, juminhyo_code, fuhyo_municipality_code, sex, birth_key, change_reason)
  WHERE status = 'abroad';
RESET ROLE;
