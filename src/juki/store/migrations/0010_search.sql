-- 0010: indexes of the 4情報 search (REQUIREMENTS F1-6, F2-6; services/search.py, docs/terminals.md).
--
-- Every search index ends with (birth_key, <address municipality code>): the name key (or the birth
-- date) is the seek, the birth range and the municipality of an address condition are then checked
-- inside the index, so a common name (7,000 persons of one kanji name in the synthetic 10M) costs an
-- index scan, not thousands of heap reads. The municipality code stands for the address: the
-- service turns an address that starts with a Kanagawa municipality into "code = ANY(codes)"
-- (estimated well by the planner, unlike a prefix LIKE on multibyte text) plus the address-key prefix
-- as a filter. File 1 uses municipality_code, File 2 address_municipality_code.
--
-- * The single-column (seion_kana), (seion_given) and (birth_key) indexes of 0002/0003 become
--   composites with the same leading column: every search they served (J-LIS queries, equality or
--   prefix on the key, birth ranges) uses the leading column as before.
-- * Kanji names: compared exactly or by prefix with spaces and variation selectors (IVS) left out of
--   both sides and nothing else changed (no NFC/NFKC: U+FA19 神 stays itself). The key is an
--   expression; services.search._KANJI_KEY_SQL must stay identical to it, or the planner will not
--   use the index. COLLATE "C" makes a prefix LIKE usable on any locale.
-- * No index on the kanji given name: a given-name search needs a birth date and an address (S-25
--   rule 4), served by (birth_key, municipality); the regular-expression index cost about 30 s per
--   file of the 10M bulk load, which has to finish inside 15 minutes.
--
-- The bulk loader (store/copy.py deferred_indexes) reads index definitions from the catalog, so these
-- are dropped and rebuilt with the others.
SET ROLE juki_pref;
DROP INDEX pref.identity_seion;
DROP INDEX pref.identity_seion_given;
DROP INDEX pref.identity_birth;
CREATE INDEX identity_seion_birth ON pref.identity_current (seion_kana, birth_key, municipality_code);
CREATE INDEX identity_seion_given_birth ON pref.identity_current (seion_given, birth_key, municipality_code);
CREATE INDEX identity_birth_municipality ON pref.identity_current (birth_key, municipality_code);
CREATE INDEX identity_name_kanji_key ON pref.identity_current
  ((regexp_replace(name_kanji, '[\t \u00A0\u3000\uFE00-\uFE0F\U000E0100-\U000E01EF]', '', 'g') COLLATE "C"),
   birth_key, municipality_code);
RESET ROLE;

SET ROLE juki_fuhyo;
DROP INDEX fuhyo.fuhyo_seion;
DROP INDEX fuhyo.fuhyo_seion_given;
DROP INDEX fuhyo.fuhyo_birth;
CREATE INDEX fuhyo_seion_birth ON fuhyo.fuhyo_current (seion_kana, birth_key, address_municipality_code);
CREATE INDEX fuhyo_seion_given_birth ON fuhyo.fuhyo_current (seion_given, birth_key, address_municipality_code);
CREATE INDEX fuhyo_birth_municipality ON fuhyo.fuhyo_current (birth_key, address_municipality_code);
CREATE INDEX fuhyo_name_kanji_key ON fuhyo.fuhyo_current
  ((regexp_replace(name_kanji, '[\t \u00A0\u3000\uFE00-\uFE0F\U000E0100-\U000E01EF]', '', 'g') COLLATE "C"),
   birth_key, address_municipality_code);
RESET ROLE;
