"""Japanese labels for what the pages show: items of File 1 / File 2, codes, dates.

The record view lists every stored item of a version; the operator reads them by their names in the
data specification (D1-xx / D2-xx), not by column names. An item without a label here is shown
with its column name rather than hidden, so a new column can never silently disappear from view.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

from juki.domain.dates import DateParseError, JukiDate, format_wareki
from juki.domain.items import END_KIND_LABELS, SEX_LABELS, STATUS_LABELS, item_label
from juki.domain.reasons import ChangeReason
from juki.domain.refusals import REFUSALS
from juki.files import all_files
from juki.services.access import permissions
from juki.services.access.actor import NO_FILE, Function, Outcome
from juki.services.audit.wording import describe_text

FILE_LABELS: Final[dict[str, str]] = {spec.value: spec.title for spec in all_files()} | {NO_FILE: "—"}


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
    Function.JLIS_QUERY.value: "全国サーバへの照会",
    Function.RECONCILIATION_REVIEW.value: "整合性確認結果の確認",
    Function.SIGN_IN.value: "認証",
    Function.LOOKUP.value: "住民票コード・個人番号による検索",
    Function.MY_NUMBER_VIEW.value: "個人番号の表示",
    Function.PRINT.value: "照会結果票の印刷",
    Function.STATISTICS.value: "統計",
    Function.DISCLOSURE.value: "開示請求",
    Function.CORRECTION_REQUEST.value: "訂正等の申出",
    Function.INQUIRY_LOG.value: "問合せ記録",
    Function.JOBS_ADMIN.value: "定期処理・バックアップの確認",
    Function.GAIJI_ADMIN.value: "外字の登録・変更",
    "job_run": "定期処理の実行",
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
    "repeated_target": "同じ住民の繰り返し参照（検索・閲覧）",
    "repeated_deny": "権限外操作の繰り返し",
    "repeated_failure": "認証失敗の繰り返し",
    "bulk_browsing": "多数の住民の参照",
    "day_off": "休日の操作",
}


def detail_text(detail: Any) -> str:
    """A log row's detail as Japanese sentences (services/audit/wording.py), never raw JSON."""
    return describe_text(detail if isinstance(detail, dict) else None if detail is None else {"値": detail})


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
    roles = permissions.matrix().roles
    base, binding = permissions.split_role(str(role))
    if base not in roles:
        return str(role)
    # A role bound to a requester names it: "提供・移転 依頼元担当（kyoiku）".
    return roles[base].label if binding is None else f"{roles[base].label}（{binding}）"


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
        refusal_message=lambda v: REFUSALS[str(v)].message_ja if str(v) in REFUSALS else str(v),
    )
