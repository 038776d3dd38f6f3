"""The shape of File 1 and File 2 records, shared by every layer.

REQUIREMENTS §1.1 lists File 1's 28 items (D1-01..28) and §1.2 File 2's 18 items (D2-01..18).
This module fixes, once, which of them a municipality *notifies* (the rest are set by the server),
the column names used in the database, in notifications and in the bulk-load CSV files, and
the project's interpretation of the items the source document leaves undefined (A-01, A-02).

Column names follow the glossary of ARCHITECTURE.md §1.
"""

from __future__ import annotations

from enum import StrEnum


class FileKind(StrEnum):
    """Which file a record or notification belongs to."""

    PREF = "pref"  # File 1: 本人確認情報 (都道府県サーバ)
    FUHYO = "fuhyo"  # File 2: 附票本人確認情報 (附票都道府県サーバ)


class Sex(StrEnum):
    """性別 as a code (A-01 leaves the code table open; 1/2 follow 住民票 practice and ISO 5218)."""

    MALE = "1"
    FEMALE = "2"


class RecordStatus(StrEnum):
    """Whether a File 1 record is current (現存) or ended (消除者 / 死亡)."""

    PRESENT = "present"
    ENDED = "ended"


class EndKind(StrEnum):
    """Why a record ended. 消除者 excludes death (L498–499) but both are kept 150 years (A-05)."""

    REMOVED = "removed"  # 消除 (転出, 職権消除 …)
    DEATH = "death"  # 死亡
    CODE_CHANGED = "code_changed"  # superseded by a new 住民票コード (変更請求); linked both ways


class FuhyoStatus(StrEnum):
    """附票本人確認情報状態区分 (D2-15). Interpretation: domestic, abroad (国外転出者), or ended (消除)."""

    DOMESTIC = "domestic"
    ABROAD = "abroad"
    ENDED = "ended"


# ---------------------------------------------------------------------------------------------
# File 1 (本人確認情報)
# ---------------------------------------------------------------------------------------------

#: Items a municipality notifies for File 1 (inside a notification's "record" object).
#: 外字数 (D1-03/08/26) and 清音化かな氏名 (D1-13) are *derived* by the server from the text using the
#: project's declared 外字 repertoire and kana rules, so a notification cannot contradict them.
PREF_NOTIFIED_ITEMS: tuple[str, ...] = (
    "name_kanji",  # D1-02 漢字氏名
    "name_kana",  # D1-04 ふりがな氏名 (family and given name separated by one space)
    "birth_date",  # D1-05 生年月日 (JukiDate text: ISO, partial, 不詳, 和暦 …)
    "sex",  # D1-06 性別 ("1" / "2")
    "address",  # D1-07 住所 (kept exactly as sent)
    "municipality_code",  # D1-14 市町村コード (6 digits; a ward's code in a designated city)
    "aza_code",  # D1-15 大字・字コード (7 digits, or empty when the municipality has none)
    "my_number",  # D1-09 個人番号 (12 digits)
    "former_surname_kanji",  # D1-25 旧氏 漢字 (empty when none)
    "former_surname_kana",  # D1-27 旧氏 ふりがな (empty when none)
)

#: Columns of the File 1 bulk-load CSV (`juki synth` writes it, `juki load` reads it).
#: One row per person (current version) in pref_current.csv and one per superseded version in
#: pref_history.csv, which adds `version` (1 = oldest) as its last column.
PREF_CSV_COLUMNS: tuple[str, ...] = (
    "juminhyo_code",  # D1-01
    *PREF_NOTIFIED_ITEMS,
    "change_reason",  # D1-10 (ChangeReason value)
    "change_date",  # D1-11 (JukiDate text)
    "status",  # RecordStatus
    "end_kind",  # EndKind or empty
    "ended_on",  # JukiDate text or empty
    "notified_on",  # D1-19 通知を受けた年月日 (ISO date)
)
PREF_HISTORY_CSV_COLUMNS: tuple[str, ...] = (*PREF_CSV_COLUMNS, "version")

# ---------------------------------------------------------------------------------------------
# File 2 (附票本人確認情報)
# ---------------------------------------------------------------------------------------------

#: Items a municipality (the 附票管理市町村, i.e. the 本籍地) notifies for File 2.
FUHYO_NOTIFIED_ITEMS: tuple[str, ...] = (
    "name_kanji",  # D2-02 氏名 漢字
    "name_kana",  # D2-04 氏名 ふりがな
    "birth_date",  # D2-05 生年月日
    "sex",  # D2-06 性別
    "address_municipality_code",  # D2-07 住所 市町村コード (empty while abroad)
    "address",  # D2-08 住所 漢字 (for a 国外転出者: the country / foreign address as recorded)
    "last_address",  # D2-10 最終住所 漢字 (last domestic address; empty unless abroad)
)

#: Columns of fuhyo_current.csv / fuhyo_history.csv (history adds `version`).
FUHYO_CSV_COLUMNS: tuple[str, ...] = (
    "juminhyo_code",  # D2-01
    *FUHYO_NOTIFIED_ITEMS,
    "fuhyo_municipality_code",  # D2-14 附票管理市町村コード (the notifying municipality)
    "old_juminhyo_code",  # D2-13 旧住民票コード (empty unless the code changed)
    "change_reason",  # the reason of the last notification (File 2 stores its 通知区分, D2-18)
    "change_date",  # D2-12 異動年月日
    "status",  # D2-15 FuhyoStatus
    "notified_on",  # ISO date the notification was received
)
FUHYO_HISTORY_CSV_COLUMNS: tuple[str, ...] = (*FUHYO_CSV_COLUMNS, "version")

# ---------------------------------------------------------------------------------------------
# Notifications (JSON Lines, one object per line) — the municipal CS → server message
# ---------------------------------------------------------------------------------------------
#
# {
#   "file": "pref" | "fuhyo",
#   "municipality_code": "141011",            # sender (certificate names it on the network)
#   "notification_id": "141011-0000000001",   # unique per municipality; idempotency key with it
#   "reason": "relocation",                   # ChangeReason value (juki.domain.reasons)
#   "change_date": "2026-11-01",              # 異動年月日, JukiDate text
#   "juminhyo_code": "12345678901",           # the person concerned
#   "new_juminhyo_code": "…",                 # only for 住民票コード change reasons
#   "record": { <NOTIFIED_ITEMS> }            # full record after the change; may be omitted for
# }                                           # reasons that end a record (消除)
#: Top-level fields every notification carries, in the order they are reported when missing.
REQUIRED_TOP_LEVEL_KEYS: tuple[str, ...] = (
    "file",
    "municipality_code",
    "notification_id",
    "reason",
    "change_date",
    "juminhyo_code",
)
NOTIFICATION_TOP_LEVEL_KEYS: frozenset[str] = frozenset(
    (*REQUIRED_TOP_LEVEL_KEYS, "new_juminhyo_code", "record")
)


def notified_items(file: FileKind) -> tuple[str, ...]:
    """The items a municipality may notify for ``file`` (S-38: nothing else is accepted)."""
    return PREF_NOTIFIED_ITEMS if file is FileKind.PREF else FUHYO_NOTIFIED_ITEMS
