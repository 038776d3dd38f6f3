"""The items of File 1 (D1-01..28) and File 2 (D2-01..18), their Japanese names, and the item sets
provided from each file (D1-PS, D2-PS).

The data specification names each item (別添２); operators, printed forms and exported files read
them by those names, never by database column names. Every output (terminal pages, PDFs, CSVs)
takes its labels from here, below the layers that render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Item:
    """One item of a file's data specification."""

    id: str  # "D1-02"
    column: str  # where it is stored
    label: str  # its name in the data specification


PREF_ITEMS: Final[tuple[Item, ...]] = (
    Item("D1-01", "juminhyo_code", "住民票コード"),
    Item("D1-02", "name_kanji", "漢字氏名"),
    Item("D1-03", "name_gaiji_count", "外字数（氏名）"),
    Item("D1-04", "name_kana", "ふりがな氏名"),
    Item("D1-05", "birth_date", "生年月日"),
    Item("D1-06", "sex", "性別"),
    Item("D1-07", "address", "住所"),
    Item("D1-08", "address_gaiji_count", "外字数（住所）"),
    Item("D1-09", "my_number", "個人番号"),
    Item("D1-10", "change_reason", "異動事由"),
    Item("D1-11", "change_date", "異動年月日"),
    Item("D1-12", "retention_flag", "保存期間フラグ"),
    Item("D1-13", "seion_kana", "清音化かな氏名"),
    Item("D1-14", "municipality_code", "市町村コード"),
    Item("D1-15", "aza_code", "大字・字コード"),
    Item("D1-16", "operator_id", "操作者ID"),
    Item("D1-17", "terminal_id", "操作端末ID"),
    Item("D1-18", "updated_at", "タイムスタンプ"),
    Item("D1-19", "notified_on", "通知を受けた年月日"),
    Item("D1-20", "gaiji_flag", "外字フラグ"),
    Item("D1-21", "deleted_flag", "削除フラグ"),
    Item("D1-22", "update_seq", "更新順番号"),
    Item("D1-23", "name_gaiji_seq", "氏名外字変更連番"),
    Item("D1-24", "address_gaiji_seq", "住所外字変更連番"),
    Item("D1-25", "former_surname_kanji", "旧氏　漢字"),
    Item("D1-26", "former_surname_gaiji_count", "旧氏　外字数"),
    Item("D1-27", "former_surname_kana", "旧氏　ふりがな"),
    Item("D1-28", "former_surname_gaiji_seq", "旧氏　外字変更連番"),
)

FUHYO_ITEMS: Final[tuple[Item, ...]] = (
    Item("D2-01", "juminhyo_code", "住民票コード"),
    Item("D2-02", "name_kanji", "氏名　漢字"),
    Item("D2-03", "name_gaiji_count", "氏名　外字数"),
    Item("D2-04", "name_kana", "氏名　ふりがな"),
    Item("D2-05", "birth_date", "生年月日"),
    Item("D2-06", "sex", "性別"),
    Item("D2-07", "address_municipality_code", "住所　市町村コード"),
    Item("D2-08", "address", "住所　漢字"),
    Item("D2-09", "address_gaiji_count", "住所　外字数"),
    Item("D2-10", "last_address", "最終住所　漢字"),
    Item("D2-11", "last_address_gaiji_count", "最終住所　外字数"),
    Item("D2-12", "change_date", "異動年月日"),
    Item("D2-13", "old_juminhyo_code", "旧住民票コード"),
    Item("D2-14", "fuhyo_municipality_code", "附票管理市町村コード"),
    Item("D2-15", "status", "附票本人確認情報状態区分"),
    Item("D2-16", "gaiji_flag", "外字フラグ"),
    Item("D2-17", "gaiji_pattern", "外字パターン"),
    Item("D2-18", "notification_kind", "通知区分"),
)

#: D1-PS: what every recipient of File 1 data gets (機構, other organs, the resident, departments).
PREF_PROVIDED: Final[tuple[str, ...]] = (
    "juminhyo_code",
    "name_kanji",
    "birth_date",
    "sex",
    "address",
    "my_number",
    "change_reason",
    "change_date",
)
#: D2-PS: what every recipient of File 2 data gets; the 個人番号 only through the add-on (F2-2).
FUHYO_PROVIDED: Final[tuple[str, ...]] = ("juminhyo_code", "name_kanji", "address", "birth_date", "sex")

#: Column → Japanese label for everything a record view may show: the items of both files (in
#: the wording operators use at the counter) and the bookkeeping columns juki adds.
ITEM_LABELS: Final[dict[str, str]] = {
    "juminhyo_code": "住民票コード",
    "name_kanji": "氏名",
    "name_gaiji_count": "外字数（氏名）",
    "name_kana": "ふりがな",
    "birth_date": "生年月日",
    "sex": "性別",
    "address": "住所",
    "address_gaiji_count": "外字数（住所）",
    "address_municipality_code": "住所の市町村コード",
    "last_address": "最終住所",
    "last_address_gaiji_count": "外字数（最終住所）",
    "my_number": "個人番号",
    "change_reason": "異動事由",
    "change_date": "異動年月日",
    "retention_flag": "保存期間フラグ",
    "municipality_code": "市町村コード",
    "fuhyo_municipality_code": "附票管理市町村コード",
    "aza_code": "大字・字コード",
    "operator_id": "操作者ID（通知元）",
    "terminal_id": "操作端末ID（通知元）",
    "updated_at": "タイムスタンプ",
    "notified_on": "通知を受けた年月日",
    "gaiji_flag": "外字フラグ",
    "gaiji_pattern": "外字パターン",
    "deleted_flag": "削除フラグ",
    "update_seq": "更新順番号",
    "name_gaiji_seq": "氏名外字変更連番",
    "address_gaiji_seq": "住所外字変更連番",
    "former_surname_kanji": "旧氏",
    "former_surname_gaiji_count": "外字数（旧氏）",
    "former_surname_kana": "旧氏 ふりがな",
    "former_surname_gaiji_seq": "旧氏外字変更連番",
    "seion_kana": "清音化かな氏名（検索用）",
    "notification_kind": "通知区分",
    "status": "状態",
    "end_kind": "消除の種別",
    "ended_on": "消除年月日",
    "retain_until": "保存期限",
    "old_juminhyo_code": "旧住民票コード",
    "successor_code": "新住民票コード",
    "version": "版",
    "superseded_by_seq": "更新した通知の更新順番号",
    "superseded_by_inbox": "更新した通知の受付番号",
}

STATUS_LABELS: Final[dict[str, str]] = {
    "present": "住民",
    "ended": "消除者",
    "domestic": "国内",
    "abroad": "国外転出者",
}
END_KIND_LABELS: Final[dict[str, str]] = {
    "removed": "消除",
    "death": "死亡",
    "code_changed": "住民票コード変更",
}
SEX_LABELS: Final[dict[str, str]] = {"1": "男", "2": "女"}


def item_label(column: str) -> str:
    """The Japanese label of a stored column (the column name itself if it has none)."""
    return ITEM_LABELS.get(column, column)


@dataclass(frozen=True)
class ItemGroup:
    """A heading of the record page and the columns under it, in the order a clerk reads them."""

    title: str
    columns: tuple[str, ...]


#: How a record page groups the items (both files: a column a file lacks is skipped). Columns in no
#: group — the derived keys (清音化かな), 外字 counts and flags, bookkeeping of the notification — are
#: shown only when the clerk opens 「詳細項目」, never hidden for good (a new column cannot vanish).
RECORD_GROUPS: Final[tuple[ItemGroup, ...]] = (
    ItemGroup("基本4情報", ("name_kanji", "name_kana", "birth_date", "sex", "address", "last_address")),
    ItemGroup("番号", ("juminhyo_code", "my_number", "old_juminhyo_code", "successor_code")),
    ItemGroup(
        "異動", ("status", "change_reason", "change_date", "end_kind", "ended_on", "notification_kind")
    ),
    ItemGroup(
        "市町村",
        ("municipality_code", "address_municipality_code", "fuhyo_municipality_code", "aza_code"),
    ),
    ItemGroup("旧氏", ("former_surname_kanji", "former_surname_kana")),
    ItemGroup("記録の管理", ("version", "updated_at", "notified_on", "update_seq", "retain_until")),
)

#: Columns whose value is kana: labelled ふりがな over hiragana and カナ over katakana.
_KANA_COLUMNS: Final = frozenset({"name_kana", "former_surname_kana"})


def is_hiragana_text(value: str) -> bool:
    """Whether ``value`` is hiragana (spaces and the long-vowel mark allowed), not katakana."""
    letters = [c for c in value if not c.isspace() and c != "ー"]
    return bool(letters) and all("\u3041" <= c <= "\u309f" for c in letters)


def item_label_for(column: str, value: object) -> str:
    """The label of ``column`` for this value: a kana item says カナ when its value is katakana
    (stored 氏名 ふりがな is katakana in both files), ふりがな only over hiragana."""
    label = item_label(column)
    if column in _KANA_COLUMNS and isinstance(value, str) and value and not is_hiragana_text(value):
        return label.replace("ふりがな", "カナ")
    return label
