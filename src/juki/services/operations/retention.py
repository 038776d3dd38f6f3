"""The one retention table (issue 13 item 4; REQUIREMENTS R-02..R-09, Q-10, S-51; docs/operations.md).

Every kind of record juki keeps is one `RetentionKind`: what it is, how long it is kept, from which
date that counts, the requirement, and the purge function that removes what is past its period —
named by dotted path, so a kind another package owns (provision records, disclosure requests …)
is registered by adding one row here, without this module importing that package.

A purge function takes ``(conn, today)`` — a connection as the kind's database role and the date the
purge runs as — deletes what expired before ``today`` and returns how many rows it removed. The
date is always passed in, never read from the server clock, so "purged on the right day and not
before" is tested with a moved clock. `purge_all` runs every kind, each in its own transaction, and
reports per kind; one kind failing does not stop the others (its error code is in the report).

Kinds with no purge (``purge=None``) are listed all the same, so the table answers "how long is X
kept" for everything, including what is kept for good.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import psycopg

from juki.store.db import Database, DbRole

#: ``(conn, today) -> rows`` for a kind in a table (conn as ``role``); ``(db, today) -> count`` for a kind
#: kept in files (``role`` None: the backups, whose function also updates the register).
PurgeFunction = Callable[[Any, date], int]

_P: Final = "juki.services.operations.retention_purges"


@dataclass(frozen=True)
class RetentionKind:
    """One row of the retention table."""

    kind: str
    label: str  # Japanese, as the administration page and docs/operations.md show it
    period: str  # Japanese, e.g. "150年"
    counts_from: str  # the date the period counts from
    requirement: str
    role: DbRole | None  # the database role its purge connects as (None: files, not tables)
    purge: str | None  # "module:function" (conn, today) -> rows purged; None: never purged here

    def resolve(self) -> PurgeFunction | None:
        if self.purge is None:
            return None
        module_name, _, attribute = self.purge.partition(":")
        function: PurgeFunction = getattr(importlib.import_module(module_name), attribute)
        return function


RETENTION: list[RetentionKind] = [
    RetentionKind(
        "pref_history",
        "本人確認情報の履歴（修正前の本人確認情報）",
        "150年",
        "その版が新しい版に置き換えられた日",
        "R-02, R-04",
        DbRole.PREF,
        f"{_P}:purge_pref_history",
    ),
    RetentionKind(
        "pref_ended",
        "消除者の本人確認情報（死亡者の個人番号を含む）",
        "150年",
        "消除の日（死亡による消除は死亡の日）",
        "R-02, R-03, R-04",
        DbRole.PREF,
        f"{_P}:purge_pref_ended",
    ),
    RetentionKind(
        "pref_current",
        "現存者の本人確認情報",
        "次の異動通知まで（現在値）",
        "—（更新されると履歴になる）",
        "R-01",
        None,
        None,
    ),
    RetentionKind(
        "fuhyo_history",
        "附票本人確認情報の履歴・消除者",
        "消去しない（保存期間の定めなし、A-03）",
        "—",
        "A-03",
        None,
        None,
    ),
    RetentionKind(
        "temporary_my_number",
        "附票都道府県サーバの一時保存の個人番号",
        "1年未満（保存時に決めた期限まで）",
        "保存した時（期限は保存時に決まる）",
        "R-05, R-06, R-07",
        DbRole.FUHYO,
        f"{_P}:purge_temporary_my_numbers",
    ),
    RetentionKind(
        "pref_jlis_records",
        "全国サーバとの通信記録（照会）",
        "7年",
        "照会の日",
        "REC-4",
        DbRole.PREF,
        f"{_P}:purge_pref_jlis_records",
    ),
    RetentionKind(
        "fuhyo_jlis_records",
        "附票全国サーバとの通信記録（照会）",
        "7年",
        "照会の日",
        "REC-4",
        DbRole.FUHYO,
        f"{_P}:purge_fuhyo_jlis_records",
    ),
    RetentionKind(
        "pref_reconciliation",
        "整合性確認の結果（本人確認情報、個人番号を含みうる）",
        "1年",
        "整合性確認の終了日",
        "S-53, R-05",
        DbRole.PREF,
        f"{_P}:purge_pref_reconciliation",
    ),
    RetentionKind(
        "fuhyo_reconciliation",
        "整合性確認の結果（附票本人確認情報）",
        "1年",
        "整合性確認の終了日",
        "S-53",
        DbRole.FUHYO,
        f"{_P}:purge_fuhyo_reconciliation",
    ),
    RetentionKind(
        "pref_search_results",
        "検索結果一覧（本人確認情報）",
        "12時間",
        "検索の時",
        "S-16",
        DbRole.PREF,
        f"{_P}:purge_pref_search_results",
    ),
    RetentionKind(
        "fuhyo_search_results",
        "検索結果一覧（附票本人確認情報）",
        "12時間",
        "検索の時",
        "S-16",
        DbRole.FUHYO,
        f"{_P}:purge_fuhyo_search_results",
    ),
    RetentionKind(
        "operation_log",
        "操作ログ（データベース上）とチェックポイント",
        "消去しない（ハッシュチェーンは先頭から検証）",
        "—",
        "S-15, S-20",
        None,
        None,
    ),
    RetentionKind(
        "oplog_backups",
        "操作ログのバックアップとチェックポイント",
        "7年（JUKI_OPLOG_KEEP_DAYS）",
        "バックアップの日",
        "R-09, S-19",
        None,
        "juki.services.operations.backup_purge:purge_oplog_backups",
    ),
    RetentionKind(
        "backups",
        "全体バックアップ（暗号化）",
        "30日（JUKI_BACKUP_KEEP_DAYS）",
        "バックアップの日",
        "S-46, R-06, REC-9",
        None,
        "juki.services.operations.backup_purge:purge_full_backups",
    ),
    RetentionKind(
        "job_runs",
        "定期処理の実行記録",
        "消去しない（件数は1日あたり数十行）",
        "—",
        "Q-09",
        None,
        None,
    ),
    RetentionKind(
        "pref_provision_records",
        "提供・移転の記録（本人確認情報、提供しなかった処理を含む）",
        "7年",
        "提供・移転（または不許可）の日",
        "R-08, S-21, S-22",
        DbRole.PREF,
        "juki.services.provision.retention:purge_pref_records",
    ),
    RetentionKind(
        "fuhyo_provision_records",
        "提供・移転の記録（附票本人確認情報、提供しなかった処理を含む）",
        "7年",
        "提供・移転（または不許可）の日",
        "R-08, S-21, S-22",
        DbRole.FUHYO,
        "juki.services.provision.retention:purge_fuhyo_records",
    ),
    RetentionKind(
        "pref_bulk_records",
        "一括提供の依頼と媒体出力・回線連携の記録（本人確認情報、個人の情報を含まない）",
        "7年",
        "依頼の処理（却下・エラー）の日",
        "S-23, REC-3",
        DbRole.PREF,
        "juki.services.provision.retention:purge_pref_bulk",
    ),
    RetentionKind(
        "fuhyo_bulk_records",
        "一括提供の依頼と媒体出力・回線連携の記録（附票本人確認情報、個人の情報を含まない）",
        "7年",
        "依頼の処理（却下・エラー）の日",
        "S-23, REC-3",
        DbRole.FUHYO,
        "juki.services.provision.retention:purge_fuhyo_bulk",
    ),
    RetentionKind(
        "bulk_result_files",
        "一括提供の照会結果ファイル（サーバの出力フォルダ）",
        "30日（JUKI_BULK_RESULT_KEEP_DAYS、1年未満）",
        "照会結果ファイルを作成した日",
        "F1-2b, S-23, R-05, R-06",
        None,
        "juki.services.provision.retention:purge_result_files",
    ),
    RetentionKind(
        "line_folder_files",
        "回線連携フォルダの照会結果ファイルと送信済み照会要求ファイル（依頼元側）",
        "30日（JUKI_BULK_RESULT_KEEP_DAYS、1年未満）",
        "ファイルを書いた日",
        "S-33, R-05, R-06",
        None,
        "juki.services.provision.retention:purge_line_folders",
    ),
    RetentionKind(
        "pref_disclosure_requests",
        "開示請求（本人確認情報・提供状況）とその経過",
        "5年",
        "請求の受付日",
        "F1-3, S-55",
        DbRole.PREF,
        "juki.services.disclosure.retention:purge_pref_requests",
    ),
    RetentionKind(
        "fuhyo_disclosure_requests",
        "開示請求（附票本人確認情報）とその経過",
        "5年",
        "請求の受付日",
        "F2-3",
        DbRole.FUHYO,
        "juki.services.disclosure.retention:purge_fuhyo_requests",
    ),
    RetentionKind(
        "pref_correction_cases",
        "訂正等の申出（本人確認情報、完結したもの）",
        "5年",
        "完結の日（未完結の申出は消去しない）",
        "F1-4",
        DbRole.PREF,
        "juki.services.disclosure.retention:purge_pref_cases",
    ),
    RetentionKind(
        "fuhyo_correction_cases",
        "訂正等の申出（附票本人確認情報、完結したもの）",
        "5年",
        "完結の日（未完結の申出は消去しない）",
        "F2-4",
        DbRole.FUHYO,
        "juki.services.disclosure.retention:purge_fuhyo_cases",
    ),
    RetentionKind(
        "inquiries",
        "問合せ記録",
        "3年",
        "問合せの日",
        "REC-7, S-60",
        DbRole.TERM,
        "juki.services.disclosure.retention:purge_inquiries",
    ),
]


def register(kind: RetentionKind) -> None:
    """Add a kind owned by another package (one call per kind, at import of `retention_kinds`)."""
    if any(k.kind == kind.kind for k in RETENTION):
        raise ValueError(f"retention kind {kind.kind} is already registered")
    RETENTION.append(kind)


def kind_named(name: str) -> RetentionKind:
    for kind in RETENTION:
        if kind.kind == name:
            return kind
    raise KeyError(name)


def purge_kind(db: Database, kind: RetentionKind, today: date) -> int:
    """Purge one kind as of ``today``; returns the rows (or backups) removed."""
    function = kind.resolve()
    if function is None:
        return 0
    if kind.role is None:
        return function(db, today)
    with db.connect(kind.role) as conn:
        removed = function(conn, today)
        conn.commit()
    return removed


def purge_all(db: Database, today: date) -> dict[str, Any]:
    """Run every kind's purge as of ``today``: ``{kind: rows}``, or ``{kind: "E_…"}`` when it failed."""
    report: dict[str, Any] = {}
    for kind in RETENTION:
        if kind.purge is None:
            continue
        try:
            report[kind.kind] = purge_kind(db, kind, today)
        except (psycopg.Error, OSError) as error:
            report[kind.kind] = f"E_JOB_FAILED:{getattr(error, 'sqlstate', None) or type(error).__name__}"
    return report
