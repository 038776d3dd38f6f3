"""Japanese labels for what the pages show: items of File 1 / File 2, codes, dates.

The record view lists every stored item of a version; the operator reads them by their names in the
data specification (D1-xx / D2-xx), not by column names. An item without a label here is shown
with its column name rather than hidden, so a new column can never silently disappear from view.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from juki.domain.dates import DateParseError, JukiDate, format_wareki
from juki.domain.reasons import ChangeReason
from juki.services import rights
from juki.services.actor import FileScope, Function, Outcome

FILE_LABELS: Final[dict[str, str]] = {
    FileScope.PREF.value: "本人確認情報（都道府県サーバ）",
    FileScope.FUHYO.value: "附票本人確認情報（附票都道府県サーバ）",
    FileScope.NONE.value: "—",
}

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

FUNCTION_LABELS: Final[dict[str, str]] = {
    Function.SEARCH.value: "4情報検索",
    Function.VIEW_RECORD.value: "記録の閲覧",
    Function.OUTPUT.value: "出力",
    Function.LOG_REVIEW.value: "操作ログの点検",
    Function.RIGHTS_ADMIN.value: "権限の承認・取消",
    Function.RIGHTS_APPLY.value: "権限の申請",
    Function.RIGHTS_INVENTORY.value: "権限の棚卸し",
    Function.OPERATOR_ADMIN.value: "操作者の管理",
    Function.TERMINAL_ADMIN.value: "端末の管理",
    Function.SIGN_IN.value: "認証",
}
OUTCOME_LABELS: Final[dict[str, str]] = {
    Outcome.ALLOW.value: "実行",
    Outcome.DENY.value: "拒否（権限なし）",
    Outcome.REJECTED.value: "拒否（入力）",
    Outcome.FAILURE.value: "認証失敗",
    Outcome.ERROR.value: "エラー",
}


PATTERN_LABELS: Final[dict[str, str]] = {
    "high_volume": "件数が多い",
    "off_hours": "業務時間外",
    "repeated_target": "同一対象の繰り返し参照",
    "repeated_deny": "権限外操作の繰り返し",
    "repeated_failure": "認証失敗の繰り返し",
}


def detail_text(detail: Any) -> str:
    """A log row's detail (jsonb) as compact JSON, Japanese kept readable."""
    if detail is None:
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


def item_label(column: str) -> str:
    return ITEM_LABELS.get(column, column)


def date_label(value: Any) -> str:
    """A JukiDate canonical text as 和暦 with the 西暦 in brackets ("昭和60年3月4日（1985-03-04）")."""
    if value is None or value == "":
        return ""
    text = str(value)
    try:
        return f"{format_wareki(JukiDate.parse_canonical(text))}（{text}）"
    except DateParseError:
        return text


def reason_label(value: Any) -> str:
    try:
        return ChangeReason(str(value)).label
    except ValueError:
        return str(value)


#: Times are shown in Japan time, the time the review's period and working hours are judged in.
JST: Final = timezone(timedelta(hours=9))


def timestamp_label(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def item_value(column: str, value: Any) -> str:
    """How one stored item is shown in the record view."""
    if value is None:
        return ""
    if column in ("birth_date", "change_date", "ended_on"):
        return date_label(value)
    if column == "sex":
        return SEX_LABELS.get(str(value), str(value))
    if column == "change_reason":
        return reason_label(value)
    if column == "status":
        return STATUS_LABELS.get(str(value), str(value))
    if column == "end_kind":
        return END_KIND_LABELS.get(str(value), str(value))
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if isinstance(value, datetime):
        return timestamp_label(value)
    return str(value)


def role_label(role: Any) -> str:
    """A role's Japanese label from the permission matrix (the name itself if unknown)."""
    roles = rights.matrix().roles
    return roles[role].label if role in roles else str(role)


def register_filters(env: Any) -> None:
    """Make the labels available to the templates as filters."""
    env.filters.update(
        role_label=role_label,
        item_label=item_label,
        item_value=item_value,
        date_label=date_label,
        reason_label=reason_label,
        timestamp=timestamp_label,
        sex_label=lambda v: SEX_LABELS.get(str(v), str(v)),
        status_label=lambda v: STATUS_LABELS.get(str(v), str(v)),
        file_label=lambda v: FILE_LABELS.get(str(v), str(v)),
        function_label=lambda v: FUNCTION_LABELS.get(str(v), str(v)),
        outcome_label=lambda v: OUTCOME_LABELS.get(str(v), str(v)),
        pattern_label=lambda v: PATTERN_LABELS.get(str(v), str(v)),
        detail_text=detail_text,
    )
