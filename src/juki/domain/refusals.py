"""Stable refusal codes of the operator side (terminals, sign-in, rights, search, audit).

The notification catalog (`juki.domain.errors`) is what municipalities see; this one is what
operators see at a terminal, in Japanese, and what the operation log records. Each code is stable:
tests, the log and the documentation (docs/terminals.md) rely on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from juki.domain.errors import ErrorSpec

__all__ = ["REFUSALS", "Refusal"]

_SPECS: Final[tuple[ErrorSpec, ...]] = (
    # --- sign-in (S-01..S-04) ------------------------------------------------------------------
    ErrorSpec("T_AUTH_FAILED", "IDまたはパスワードが正しくありません", "wrong operator ID or password"),
    ErrorSpec(
        "T_AUTH_LOCKED",
        "認証の失敗が続いたため、このIDはロックされています。管理者に連絡してください",
        "the operator ID is locked after repeated failures",
    ),
    ErrorSpec(
        "T_AUTH_THROTTLED",
        "この端末からの認証の失敗が続いたため、このIDでのサインインをしばらく受け付けません。"
        "時間をおいて再度お試しください",
        "this terminal failed too often for this ID and must wait",
    ),
    ErrorSpec(
        "T_PASSWORD_EMPTY",
        "パスワードを入力してください。パスワードをお持ちでない場合は「生体認証でサインイン」を使用してください",
        "no password was typed (not counted as a failed attempt)",
    ),
    ErrorSpec(
        "T_PASSWORD_NOT_ALLOWED",
        "この操作者はパスワードでサインインできません。生体認証（WebAuthn）を使用してください",
        "the operator's role does not allow password sign-in",
    ),
    ErrorSpec(
        "T_WEBAUTHN_FAILED",
        "生体認証に失敗しました",
        "the WebAuthn assertion or attestation did not verify",
    ),
    ErrorSpec(
        "T_WEBAUTHN_UV_REQUIRED",
        "本人確認（生体認証またはPIN）が行われませんでした。もう一度認証してください",
        "the authenticator did not perform user verification",
    ),
    ErrorSpec("T_SESSION_REQUIRED", "サインインしてください", "no signed-in session"),
    ErrorSpec(
        "T_SESSION_LOCKED",
        "一定時間操作がなかったため画面をロックしました。再度認証してください",
        "the session is idle-locked and needs re-authentication",
    ),
    ErrorSpec(
        "T_SESSION_ENDED", "このセッションは終了しました。再度サインインしてください", "the session ended"
    ),
    ErrorSpec(
        "T_ENROLMENT_INVALID",
        "登録用のリンクが無効か、期限が切れています",
        "the one-time enrolment link is invalid, used or expired",
    ),
    ErrorSpec(
        "T_PASSWORD_SAME",
        "新しいパスワードが現在のパスワードと同じです。別のパスワードにしてください",
        "the new password equals the current one",
    ),
    ErrorSpec(
        "T_PASSWORD_WEAK",
        "パスワードは12文字以上で、操作者IDと異なるものにしてください",
        "the new password is too short or equals the login",
    ),
    # --- operators and terminals (registration by an administrator) ----------------------------
    ErrorSpec(
        "T_LOGIN_INVALID",
        "操作者IDは英小文字・数字・「._-」の64文字以内で指定してください",
        "the operator login is malformed",
    ),
    ErrorSpec("T_OPERATOR_EXISTS", "この操作者IDは既に登録されています", "the login is already registered"),
    ErrorSpec("T_OPERATOR_UNKNOWN", "該当する操作者が登録されていません", "no such operator"),
    ErrorSpec("T_TERMINAL_EXISTS", "この端末名は既に登録されています", "the terminal name is already taken"),
    ErrorSpec(
        "T_NAME_INVALID", "名称は1〜64文字で指定してください", "a name or display name is empty or too long"
    ),
    ErrorSpec(
        "T_BOOTSTRAP_DONE",
        "システム管理者は既に登録されています（初期登録は一度だけ行えます）",
        "an administrator already exists: the first-administrator bootstrap runs once",
    ),
    ErrorSpec(
        "T_BOOTSTRAP_CLOSED",
        "2人目のシステム管理者の初期登録は終了しています。権限は申請と承認で付与してください",
        "two administrator grants have existed: the bootstrap path to a second administrator is closed",
    ),
    # --- terminals -----------------------------------------------------------------------------
    ErrorSpec(
        "T_TERMINAL_UNKNOWN",
        "この端末は登録されていません。管理者に端末の登録を依頼してください",
        "the request does not come from a registered terminal",
    ),
    # --- rights (S-07..S-12) -------------------------------------------------------------------
    ErrorSpec(
        "T_FORBIDDEN", "この操作を行う権限がありません", "the operator holds no right for this function"
    ),
    ErrorSpec("T_ROLE_UNKNOWN", "該当する役割がありません", "no such role in the permission matrix"),
    ErrorSpec("T_REASON_REQUIRED", "理由を入力してください", "an application or revocation needs a reason"),
    ErrorSpec("T_RIGHTS_NOT_FOUND", "該当する申請または権限がありません", "no such application or grant"),
    ErrorSpec(
        "T_RIGHTS_STATE",
        "この申請・権限は既に処理されているため、この操作はできません",
        "the application was already decided, the grant already revoked, or the role already held",
    ),
    ErrorSpec(
        "T_RIGHTS_SELF_APPROVAL",
        "自分自身に関する申請・自分が提出した申請は承認できません。別の管理者が承認してください",
        "an administrator may not decide an application they filed or that concerns themselves",
    ),
    ErrorSpec(
        "T_RIGHTS_LAST_ADMIN",
        "最後のシステム管理者の権限は取り消せません",
        "revoking the last administrator grant would leave nobody to approve rights",
    ),
    ErrorSpec(
        "T_RIGHTS_CONFLICT",
        "この役割は、対象の操作者が持つ（または申請中の）役割と同時に持つことができません（職務の分離）",
        "the role conflicts with one the operator holds or applied for (role_conflicts.toml, refuse mode)",
    ),
    ErrorSpec(
        "T_CSRF", "画面の有効期限が切れました。もう一度操作してください", "missing or wrong CSRF token"
    ),
    # --- search (F1-6, F2-6, S-25) -------------------------------------------------------------
    ErrorSpec(
        "T_SEARCH_CONDITIONS",
        "検索条件が不足しています",
        "the minimum search conditions (S-25) are not met",
    ),
    ErrorSpec(
        "T_SEARCH_TOO_MANY",
        "該当者が多すぎます。条件を追加して絞り込んでください",
        "too many results: narrow the conditions",
    ),
    ErrorSpec("T_SEARCH_INPUT", "検索条件の形式が正しくありません", "a search condition is malformed"),
    ErrorSpec("T_RECORD_NOT_FOUND", "該当する記録がありません", "no such record"),
    # --- query to J-LIS (F1-5, F2-5, S-25) -----------------------------------------------------
    ErrorSpec(
        "T_JLIS_CONDITIONS",
        "照会条件が不足しています",
        "the J-LIS minimum query conditions are not met (E_QUERY_CONDITIONS)",
    ),
    ErrorSpec(
        "T_JLIS_TOO_MANY",
        "該当者が多すぎます。条件を追加して絞り込んでください",
        "too many matches at J-LIS: narrow the conditions (E_TOO_MANY)",
    ),
    ErrorSpec("T_JLIS_INPUT", "照会条件の形式が正しくありません", "a query key is malformed or not allowed"),
    ErrorSpec(
        "T_JLIS_NOT_CONFIGURED",
        "照会先のサーバへの接続が設定されていません。システム管理者に連絡してください",
        "the national server's URL or this server's client certificate is not configured",
    ),
    ErrorSpec(
        "T_JLIS_UNAVAILABLE",
        "照会先のサーバから応答がありません。時間をおいて再度照会してください",
        "the national server did not answer (connection, timeout, 5xx)",
    ),
    ErrorSpec(
        "T_JLIS_REFUSED",
        "照会先のサーバとの相互認証に失敗しました。システム管理者に連絡してください",
        "mutual authentication with the national server failed, or it refused the query",
    ),
    # --- consistency check results (F1-7, F2-7) ------------------------------------------------
    ErrorSpec("T_RECON_RUN_NOT_FOUND", "該当する整合性確認の実行がありません", "no such reconciliation run"),
    # --- kept search results (F1-6, F2-6; issue 10) --------------------------------------------
    ErrorSpec(
        "T_RESULT_SET_EXPIRED",
        "この検索結果は表示できません（サインアウト、期限切れ、または別の操作者の結果です）。もう一度検索してください",
        "the kept result set is unknown, expired or belongs to another session",
    ),
    # --- operation-log review (S-17, S-18) --------------------------------------------------------
    ErrorSpec(
        "T_AUDIT_EXPORT_TOO_MANY",
        "出力する件数が多すぎます。期間や条件を絞ってください",
        "the filtered log is too large to export at once",
    ),
    ErrorSpec(
        "T_AUDIT_SETTINGS",
        "注意すべき操作の設定ファイルに誤りがあります。システム管理者に連絡してください",
        "the unusual-pattern settings file (JUKI_AUDIT_PATTERNS) is invalid",
    ),
    # --- statistics (F1-8, REC-10) -------------------------------------------------------------
    ErrorSpec("T_STATS_DATE", "統計の基準日が正しくありません", "the statistics' as-of date is not valid"),
    ErrorSpec(
        "T_STATS_FORMAT",
        "出力形式は CSV（UTF-8）、CSV（Shift_JIS）、XLSX のいずれかを指定してください",
        "unknown export format of the statistics",
    ),
    # --- residents' rights: disclosure, provision status, correction, inquiries (F1-3/4, F2-3/4) --
    ErrorSpec(
        "T_DISCLOSURE_INPUT",
        "開示請求の記載事項が不足しているか、形式が正しくありません",
        "a request field is missing or malformed",
    ),
    ErrorSpec(
        "T_DISCLOSURE_NO_MATCH",
        "請求書に記載された本人確認情報に一致する記録がありません",
        "no record matches what the requester gave",
    ),
    ErrorSpec(
        "T_DISCLOSURE_AMBIGUOUS",
        "請求書に記載された本人確認情報では一人に特定できません（住民票コード等の記載を求めてください）",
        "several records match: the person cannot be identified",
    ),
    ErrorSpec(
        "T_DISCLOSURE_IDENTITY",
        "提示された書類では請求者が本人であることを確認できません（不開示）",
        "the counter could not verify the requester's identity",
    ),
    ErrorSpec(
        "T_DISCLOSURE_REPRESENTATION",
        "提示された書類では法定代理人等として請求する権限を確認できません（不開示）",
        "the counter could not verify the representative's authority",
    ),
    ErrorSpec("T_DISCLOSURE_NOT_FOUND", "該当する開示請求がありません", "no such disclosure request"),
    # --- the 外字 registry (DOMAIN §7; four eyes, S-12) ------------------------------------------------
    ErrorSpec("T_GAIJI_INPUT", "外字の登録内容が正しくありません", "a 外字 registry entry is malformed"),
    ErrorSpec("T_GAIJI_NOT_FOUND", "該当する外字の変更案がありません", "no such 外字 change proposal"),
    ErrorSpec(
        "T_GAIJI_STATE",
        "この外字の変更案は承認できる状態ではありません",
        "the proposal was decided already, or the registry changed since it was proposed",
    ),
    ErrorSpec(
        "T_GAIJI_SELF_APPROVAL",
        "自分が申請した外字の変更は承認できません。別の管理者が承認してください",
        "an administrator may not approve a 外字 change they proposed",
    ),
    ErrorSpec(
        "T_DISCLOSURE_STATE",
        "この開示請求はその処理ができる状態ではありません",
        "the request is not in a state for this step",
    ),
    ErrorSpec(
        "T_PROVISION_STATUS_FILE",
        "附票本人確認情報には提供状況の開示がありません（S-55 は本人確認情報のみ）",
        "provision-status disclosure exists for File 1 only",
    ),
    ErrorSpec(
        "T_CORRECTION_INPUT",
        "訂正等の申出の記載事項が不足しているか、形式が正しくありません",
        "a case field is missing or malformed",
    ),
    ErrorSpec("T_CORRECTION_NOT_FOUND", "該当する訂正等の申出がありません", "no such correction case"),
    ErrorSpec(
        "T_CORRECTION_STATE",
        "この申出はその処理ができる状態ではありません",
        "the case is not in a state for this step",
    ),
    ErrorSpec(
        "T_CORRECTION_NOTIFICATION",
        "市町村の回答が示す訂正の通知が、この住民について受理されていません",
        "the correction notification the municipality named was not accepted for this person",
    ),
    ErrorSpec(
        "T_INQUIRY_INPUT",
        "問合せ記録の記載事項が不足しているか、形式が正しくありません",
        "an inquiry-log field is missing or malformed",
    ),
    # --- provision catalog (F1-2, F2-2, A-15; docs/provision.md) -------------------------------
    ErrorSpec(
        "T_CATALOG_INVALID",
        "提供カタログの内容に誤りがあります",
        "the proposed provision catalog breaks a rule (the detail names the entry)",
    ),
    ErrorSpec("T_CATALOG_NOT_FOUND", "該当する提供カタログの変更案がありません", "no such catalog proposal"),
    ErrorSpec(
        "T_CATALOG_STATE",
        "この変更案は既に決裁済みか、基にした版が最新ではありません。最新の版から変更案を作り直してください",
        "the proposal was already decided, or another version was approved since it was proposed",
    ),
    # --- single provision (F1-2, F2-2, S-27) ---------------------------------------------------
    ErrorSpec(
        "T_PROVISION_INPUT",
        "依頼の内容が正しくありません",
        "the provision form names no requester, task, key type or method the page offers",
    ),
    # --- bulk provision (F1-2b, S-26, S-29, S-30) ---------------------------------------------
    ErrorSpec(
        "T_BULK_TERMINAL",
        "一括提供（照会要求ファイルの提出・媒体への出力）は代表端末または一括提供が許可された業務端末でのみ行えます",
        "bulk provision only at a representative or bulk-enabled business terminal (S-29)",
    ),
    ErrorSpec(
        "T_BULK_FILE",
        "照会要求ファイルを受け付けられません",
        "the request file was refused as a whole (the E_BULK_* code is in the detail)",
    ),
    ErrorSpec(
        "T_BULK_SELF_APPROVAL",
        "自分が提出した一括提供の依頼を自分で承認することはできません",
        "the head approves another operator's submission, not their own",
    ),
    ErrorSpec(
        "T_BULK_STATE",
        "この依頼は現在の状態ではその操作を行えません",
        "the job is not in a state that allows this action",
    ),
    ErrorSpec(
        "T_BULK_JOB_NOT_FOUND", "該当する一括提供の依頼がありません", "no such bulk job of your requester"
    ),
    ErrorSpec(
        "T_MEDIA",
        "電磁的記録媒体へ出力できません",
        "the medium cannot be written to (the E_MEDIA_* code is in the detail)",
    ),
)

REFUSALS: Final[Mapping[str, ErrorSpec]] = MappingProxyType({s.code: s for s in _SPECS})


class Refusal(Exception):
    """An operator-side refusal with a stable code; `detail` adds the specific reason (Japanese)."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.spec = REFUSALS[code]
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {self.spec.message_en}" + (f" ({detail})" if detail else ""))

    @property
    def message_ja(self) -> str:
        return self.spec.message_ja + (f"（{self.detail}）" if self.detail else "")
