-- 0002: File 1 secondary indexes. Kept apart from 0001 so the bulk loader can drop and rebuild
-- exactly this set (see juki.store.bulk), and so upgrading a 0001 database is exercised in tests.
SET ROLE juki_pref;
-- A 個人番号 belongs to one person; the ended record of a changed 住民票コード keeps the same number.
CREATE UNIQUE INDEX identity_my_number ON pref.identity_current (my_number)
  WHERE my_number IS NOT NULL AND end_kind IS DISTINCT FROM 'code_changed';
CREATE INDEX identity_seion ON pref.identity_current (seion_kana);
CREATE INDEX identity_seion_given ON pref.identity_current (seion_given);
CREATE INDEX identity_address_key ON pref.identity_current (address_key);
CREATE INDEX identity_birth ON pref.identity_current (birth_key);
CREATE INDEX identity_municipality ON pref.identity_current (municipality_code);
RESET ROLE;
