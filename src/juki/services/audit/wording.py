"""A log row's detail in Japanese sentences, for the review page and its CSV export (S-17).

The detail is recorded as JSON with English keys (stable, hashed into the chain); an auditor reads
it as Japanese text. `describe` maps each known event and key to a phrase; a key nobody taught it
is still shown, labelled with its name ("その他（key）: …"), never dropped and never as raw JSON, so
a new detail cannot hide from the review.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from juki.domain.items import SEX_LABELS
from juki.domain.refusals import REFUSALS
from juki.services.access import permissions

__all__ = ["EVENT_WORDS", "describe", "describe_text"]

#: What happened, by the detail's "event" (and the function names the guard writes as events).
EVENT_WORDS: Final[Mapping[str, str]] = {
    "search": "4情報検索",
    "view_record": "記録の閲覧",
    "search_form": "検索画面の表示",
    "sign_in": "サインイン",
    "sign_out": "サインアウト",
    "idle_lock": "無操作による画面ロック",
    "manual_lock": "画面のロック",
    "unlock": "画面ロックの解除",
    "enrol_webauthn": "生体認証の登録",
    "enrol_password": "パスワードの登録",
    "operator_create": "操作者の登録",
    "operator_enrolment_link": "登録用リンクの発行",
    "operator_unlock": "操作者のロック解除",
    "operator_disable": "操作者の無効化",
    "terminal_register": "端末の登録",
    "terminal_binding_token": "端末設定用リンクの発行",
    "terminal_bind": "端末の設定",
    "terminal_retire": "端末の廃止",
    "rights_apply": "権限の申請",
    "rights_approve": "権限の承認",
    "rights_reject": "権限の却下",
    "rights_revoke": "権限の取消し",
    "rights_bootstrap": "初期管理者への権限付与",
    "rights_inventory": "権限の棚卸し",
    "jlis_query": "全国サーバへの照会",
    "jlis_query_form": "照会画面の表示",
    "reconciliation_runs": "整合性確認の実行一覧の表示",
    "reconciliation_differences": "整合性確認の差異の表示",
    "log_review": "操作ログの点検",
    "log_review_form": "操作ログ点検画面の表示",
    "log_list": "操作ログの一覧表示",
    "log_sample": "操作ログの無作為抽出",
    "log_patterns": "注意すべき操作の確認",
    "log_export": "操作ログのCSV出力",
    "gaiji_list": "外字登録の一覧表示",
    "gaiji_propose": "外字の登録・変更の申請",
    "gaiji_approve": "外字の登録・変更の承認",
    "gaiji_reject": "外字の登録・変更の却下",
    "disclosure_refuse": "開示請求の不開示（窓口の判断）",
    "disclosure_refusal_letter": "不開示決定通知書の発行",
    "disclosure_refusal_letter_reprint": "不開示決定通知書の再印刷",
}

_NAME_MATCH: Final = {"exact": "完全一致", "prefix": "前方一致"}
_NAME_PART: Final = {"full": "氏名", "family": "氏", "given": "名"}
_METHOD: Final = {"webauthn": "生体認証", "password": "パスワード"}
_TERMINAL_KIND: Final = {"representative": "代表端末", "business": "業務端末"}
_QUERY_BY: Final = {"juminhyo_code": "住民票コード", "my_number": "個人番号", "basic4": "4情報"}
_REVIEW_ACTION: Final = {
    "list": "一覧",
    "sample": "無作為抽出",
    "patterns": "注意すべき操作",
    "export": "CSV出力",
}
_SORT: Final = {"newest": "新しい順", "oldest": "古い順", "operator": "操作者順", "function": "機能順"}
#: Keys of a review's filters, as the review page names its fields.
_FILTER_WORDS: Final = {
    "operator": "操作者ID",
    "terminal": "端末名",
    "function": "機能",
    "outcome": "結果",
    "target": "住民票コード",
    "since": "開始日",
    "until": "終了日",
    "since_at": "開始日時",
    "until_at": "終了日時",
    "hours": "時間帯",
}
#: How many codes of `shown` a page row lists before "ほか N 人" (the CSV lists all).
SHOWN_ON_PAGE: Final = 10


def _plain(value: Any) -> str:
    """Any JSON value as plain text: lists joined, objects as "key=value", never JSON syntax."""
    if value is None:
        return "なし"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return "、".join(_plain(v) for v in value) if value else "なし"
    if isinstance(value, dict):
        return "、".join(f"{k}={_plain(v)}" for k, v in value.items()) if value else "なし"
    return str(value)


def _conditions(value: Any) -> str:
    if not isinstance(value, dict):
        return f"条件: {_plain(value)}"
    parts: list[str] = []
    if "name" in value or "name_kana" in value:
        name = value.get("name", value.get("name_kana"))
        how = "・".join(
            w
            for w in (
                _NAME_PART.get(str(value.get("name_part", "")), ""),
                _NAME_MATCH.get(str(value.get("name_match", "")), ""),
            )
            if w
        )
        parts.append(f"氏名「{name}」" + (f"（{how}）" if how else ""))
    if "birth_date" in value:
        parts.append(f"生年月日 {value['birth_date']}")
    if "sex" in value:
        parts.append(f"性別 {SEX_LABELS.get(str(value['sex']), str(value['sex']))}")
    if "address" in value:
        parts.append(f"住所「{value['address']}」")
    if value.get("include_ended"):
        parts.append("消除者を含む")
    known = {"name", "name_kana", "name_match", "name_part", "birth_date", "sex", "address", "include_ended"}
    known |= {"file"}  # the row's file column says it already
    parts += [f"{k}={_plain(v)}" for k, v in value.items() if k not in known]
    return "検索条件: " + ("、".join(parts) if parts else "なし")


def _shown(value: Any, full: bool) -> str:
    codes = [str(c) for c in value] if isinstance(value, list) else [_plain(value)]
    if not codes:
        return "表示した住民: なし"
    listed = codes if full or len(codes) <= SHOWN_ON_PAGE else codes[:SHOWN_ON_PAGE]
    rest = f" ほか {len(codes) - len(listed)} 人" if len(listed) < len(codes) else ""
    return f"表示した住民（{len(codes)} 人）の住民票コード: {'、'.join(listed)}{rest}"


def _refusal(code: Any) -> str:
    spec = REFUSALS.get(str(code))
    return f"拒否: {code}" + (f" {spec.message_ja}" if spec else "")


def _role(value: Any) -> str:
    roles = permissions.matrix().roles
    return roles[value].label if isinstance(value, str) and value in roles else _plain(value)


def _roles(value: Any) -> str:
    return "ロール: " + ("、".join(_role(r) for r in value) if isinstance(value, list) and value else "なし")


def _filters(value: Any) -> str:
    if not isinstance(value, dict) or not value:
        return "条件: 指定なし"
    return "条件: " + "、".join(f"{_FILTER_WORDS.get(k, k)} {_plain(v)}" for k, v in value.items())


def _count(label: str, unit: str = "件") -> Callable[[Any], str]:
    return lambda v: f"{label} {_plain(v)} {unit}"


#: key → phrase of its value. "event" and "shown" are handled apart (first, and with `full`).
_KEYS: Final[Mapping[str, Callable[[Any], str]]] = {
    "conditions": _conditions,
    "result_count": lambda v: "該当件数: 上限を超えたため表示なし" if v is None else f"該当 {v} 件",
    "versions": lambda v: f"履歴を含め {v} 版を表示",
    "cap": _count("上限"),
    "refusal": _refusal,
    "cause": lambda v: f"原因: {v}",
    "reason": lambda v: f"理由: {_plain(v)}",
    "note": lambda v: f"備考: {_plain(v)}",
    "error": lambda v: f"予期しないエラー（{v}）",
    "operator": lambda v: f"操作者番号 {v}",
    "method": lambda v: f"認証方式: {_METHOD.get(str(v), str(v))}",
    "roles": _roles,
    "role": lambda v: f"ロール: {_role(v)}",
    "idle_lock_seconds": lambda v: f"無操作 {v} 秒でロック",
    "terminal": lambda v: f"端末: {v}",
    "kind": lambda v: f"端末の種別: {_TERMINAL_KIND.get(str(v), str(v))}",
    "bulk_enabled": lambda v: "一括出力: " + ("可" if v else "不可"),
    "rebound": lambda v: "再設定" if v else "初回の設定",
    "sessions_ended": _count("終了したセッション"),
    "application": lambda v: f"申請番号 {v}",
    "grant": lambda v: f"付与番号 {v}",
    "aaguid": lambda v: f"認証器の AAGUID {v}",
    "by": lambda v: f"照会の方法: {_QUERY_BY.get(str(v), str(v))}",
    "communication_record": lambda v: f"通信記録番号 {v}",
    "jlis_code": lambda v: f"全国サーバの応答コード {v}",
    "run_id": lambda v: f"整合性確認の実行番号 {v}",
    "municipality_code": lambda v: f"市町村コード {v}",
    "after": lambda v: f"表示開始位置 {_plain(v)}",
    "action": lambda v: f"操作: {_REVIEW_ACTION.get(str(v), str(v))}",
    "filters": _filters,
    "n": _count("抽出件数"),
    "seed": lambda v: f"抽出の種 {v}",
    "page": lambda v: f"{v} ページ目",
    "sort": lambda v: f"並び順: {_SORT.get(str(v), str(v))}",
    "format": lambda v: f"形式: {str(v).upper()}",
    "rows": _count("出力"),
    "settings": lambda v: f"判定の設定 {v}",
}


#: Keys told first, in this order; the others follow in the order they are stored.
_FIRST: Final = ("event", "action", "by", "conditions", "filters", "result_count", "versions", "shown")


def describe(detail: Mapping[str, Any] | None, *, full: bool = False) -> list[str]:
    """The detail as Japanese phrases, the event first; `full` lists every shown person (the CSV)."""
    if not detail:
        return []
    phrases: list[str] = []
    event = detail.get("event")
    if event is not None:
        phrases.append(EVENT_WORDS.get(str(event), f"操作（{event}）"))
    # jsonb stores keys shortest first; read them in the order a person tells what happened.
    keys = sorted(detail, key=lambda k: _FIRST.index(k) if k in _FIRST else len(_FIRST))
    for key in keys:
        value = detail[key]
        if key == "event":
            continue
        if key == "shown":
            phrases.append(_shown(value, full))
        elif key in _KEYS:
            phrases.append(_KEYS[key](value))
        else:
            phrases.append(f"その他（{key}）: {_plain(value)}")
    return phrases


def describe_text(detail: Mapping[str, Any] | None, *, full: bool = False) -> str:
    """`describe` as one line of text."""
    return "。".join(describe(detail, full=full))
