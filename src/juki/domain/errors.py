"""Stable rejection codes and the exception that carries one (docs/error-codes.md).

Every notification a municipality sends ends as accepted, duplicate or rejected *with a stable code*
(ARCHITECTURE §3–4: nothing is silently dropped). The code is what machines and tests rely on; the
Japanese message is what an operator reads; the English message serves logs and foreign maintainers.
Keeping all of them in one catalog means a code cannot be raised without a message, and the catalog
can be compared with the draft document by a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["CATALOG", "ErrorSpec", "Rejection"]


@dataclass(frozen=True)
class ErrorSpec:
    """One stable code with its operator message (Japanese) and its English counterpart."""

    code: str
    message_ja: str
    message_en: str


_SPECS: Final[tuple[ErrorSpec, ...]] = (
    # --- parse / item format -------------------------------------------------------------------
    ErrorSpec("E_ENCODING", "文字コードがUTF-8ではありません", "the line is not valid UTF-8"),
    ErrorSpec("E_JSON", "JSONとして解釈できません", "the line is not valid JSON"),
    ErrorSpec(
        "E_LINE_TOO_LONG",
        "1件の通知が大きすぎます（64KiBまで）",
        "the notification line is larger than 64 KiB",
    ),
    ErrorSpec(
        "E_JSON_DUPLICATE_KEY",
        "JSONの同じオブジェクトに同じ項目名が2回以上あります",
        "a JSON object names the same key more than once",
    ),
    ErrorSpec(
        "E_JSON_NUL",
        "文字列にNUL文字（\\u0000）が含まれています",
        "a JSON string contains the NUL character (\\u0000)",
    ),
    ErrorSpec(
        "E_JSON_TOO_DEEP",
        "JSONの入れ子が深すぎます（16段まで）",
        "the JSON value is nested more than 16 levels deep",
    ),
    ErrorSpec(
        "E_NOT_OBJECT", "通知がJSONオブジェクトではありません", "the notification is not a JSON object"
    ),
    ErrorSpec("E_FIELD_MISSING", "必須の項目がありません", "a required top-level field is missing"),
    ErrorSpec("E_FIELD_UNKNOWN", "未定義の項目があります", "an unknown top-level field is present"),
    ErrorSpec(
        "E_FIELD_TYPE",
        "項目の型が正しくありません",
        "a top-level field has the wrong JSON type",
    ),
    ErrorSpec(
        "E_SENDER_MISMATCH",
        "通知の市町村コードが、送信元の市町村（クライアント証明書）と一致しません",
        "the notification's municipality is not the one named by the client certificate",
    ),
    ErrorSpec(
        "E_FILE_KIND",
        "ファイル種別が正しくありません（pref または fuhyo、かつ送信先と一致すること）",
        "file is not pref/fuhyo or does not match the endpoint",
    ),
    ErrorSpec(
        "E_NOTIFICATION_ID",
        "通知IDは1〜64文字の半角英数記号で指定してください",
        "notification_id must be 1-64 visible ASCII characters",
    ),
    ErrorSpec("E_REASON_UNKNOWN", "異動事由が定義されていません", "unknown change reason"),
    ErrorSpec(
        "E_REASON_NOT_FOR_FILE",
        "この異動事由はこのファイルには通知できません",
        "the change reason does not apply to this file",
    ),
    ErrorSpec(
        "E_LG_CODE_INVALID",
        "地方公共団体コードの形式または検査数字が正しくありません",
        "local-government code has a bad format or check digit",
    ),
    ErrorSpec(
        "E_LG_CODE_NOT_IN_PREF",
        "この都道府県内の住民基本台帳事務を行う市町村（行政区）のコードではありません",
        "not a municipality (or ward) of the configured prefecture that keeps a resident register",
    ),
    ErrorSpec(
        "E_LG_CODE_NOT_VALID_ON_DATE",
        "市町村コードが異動年月日には存在しません（廃止済み、または新設前のコードです）",
        "the municipality code did not exist on the change date (abolished, or not yet created)",
    ),
    ErrorSpec(
        "E_JUMINHYO_CODE_FORMAT",
        "住民票コードは半角数字11桁で指定してください",
        "juminhyo code must be 11 ASCII digits",
    ),
    ErrorSpec(
        "E_JUMINHYO_CODE_CHECK_DIGIT",
        "住民票コードの検査用数字が一致しません",
        "juminhyo code check digit does not match",
    ),
    ErrorSpec(
        "W_JUMINHYO_CODE_CHECK_DIGIT",
        "住民票コードの検査用数字が一致しません（警告として受け付けました）",
        "juminhyo code check digit does not match (accepted with a warning)",
    ),
    ErrorSpec(
        "E_MY_NUMBER_INVALID",
        "個人番号の形式または検査用数字が正しくありません",
        "individual number has a bad format or check digit",
    ),
    ErrorSpec("E_DATE_FORMAT", "日付の形式が正しくありません", "date has an unrecognised format"),
    ErrorSpec("E_DATE_RANGE", "日付が範囲外です", "date is out of range"),
    ErrorSpec("E_DATE_ERA_RANGE", "元号の期間外の和暦日付です", "date lies outside its era"),
    ErrorSpec("E_SEX_INVALID", "性別は 1（男）または 2（女）で指定してください", "sex must be '1' or '2'"),
    ErrorSpec("E_KANA_INVALID", "ふりがなにかな以外の文字が含まれています", "kana item contains non-kana"),
    ErrorSpec("E_ITEM_MISSING", "必須の記録項目がありません", "a required record item is missing"),
    ErrorSpec(
        "E_ITEM_NOT_NOTIFIABLE",
        "法令上市町村から通知されない項目が含まれています",
        "the record holds an item municipalities do not notify",
    ),
    ErrorSpec("E_ITEM_TYPE", "記録項目は文字列で指定してください", "record items must be strings"),
    ErrorSpec(
        "E_TEXT_INVALID",
        "文字列が空、長すぎる、または制御文字を含んでいます",
        "text is empty where required, too long, or contains control characters",
    ),
    ErrorSpec(
        "E_REENTRY_IDENTITY",
        "消除された住民票コードへの記載で、生年月日または性別が消除前の記録と異なります（別人への付け替えはできません）",
        "an entry on an ended 住民票コード changes birth date or sex: a code never passes to another person",
    ),
    ErrorSpec(
        "E_ADDRESS_MUNICIPALITY",
        "住所が市町村コードの市区町村にありません",
        "the address does not lie in the municipality its code names",
    ),
    ErrorSpec(
        "E_TEXT_INVISIBLE",
        "見えない文字・書式制御文字（ゼロ幅文字、双方向制御文字、未割り当ての符号位置など）が含まれています",
        "text contains an invisible or bidirectional formatting character, or an unassigned code point",
    ),
    ErrorSpec(
        "E_AZA_CODE_FORMAT",
        "大字・字コードは半角数字7桁（または空）で指定してください",
        "aza code must be 7 ASCII digits or empty",
    ),
    ErrorSpec(
        "E_RECORD_REQUIRED",
        "この異動事由には記録（record）が必要です",
        "this change reason needs a record",
    ),
    # --- logical checks (S-39, F1-1 (d), F2-1, DOMAIN §4) ------------------------------------------
    ErrorSpec(
        "E_ENTRY_PERSON_PRESENT",
        "現存する者に対して記載（転入等）の通知がありました",
        "an entry reason was notified for a person who is currently present",
    ),
    ErrorSpec(
        "E_PERSON_NOT_FOUND",
        "該当する住民票コードの者が存在しません",
        "no person with this juminhyo code",
    ),
    ErrorSpec(
        "E_ALREADY_ENDED",
        "既に消除されている者に対する通知です",
        "the person has already been removed",
    ),
    ErrorSpec(
        "E_DECEASED",
        "死亡により消除された者に対する通知です（異動の取消し（増）を除く）",
        "the person is deceased; only cancel_increase is accepted",
    ),
    ErrorSpec(
        "E_RELOCATION_NON_ADDRESS",
        "転居を異動事由として住所以外の項目を更新しようとしました",
        "a relocation tries to change items other than the address",
    ),
    ErrorSpec(
        "E_ITEMS_NOT_CHANGEABLE",
        "この異動事由では変更できない項目が変更されています",
        "the change reason changes items it may not change",
    ),
    ErrorSpec(
        "E_MY_NUMBER_CHANGE_REASON",
        "個人番号の変更は個人番号に係る異動事由でのみ行えます",
        "the individual number changes without an individual-number reason",
    ),
    ErrorSpec(
        "E_MY_NUMBER_UNCHANGED",
        "個人番号に係る異動事由ですが個人番号が変わっていません",
        "an individual-number reason that does not change the number",
    ),
    ErrorSpec(
        "E_MY_NUMBER_IN_USE",
        "この個人番号は既に他の者に付番されています",
        "the individual number already belongs to another person",
    ),
    ErrorSpec(
        "E_NEW_CODE_MISSING",
        "新住民票コードは住民票コードの変更に係る異動事由にのみ、必ず指定してください",
        "new_juminhyo_code must be given exactly for juminhyo-code change reasons",
    ),
    ErrorSpec(
        "E_JUMINHYO_CODE_SAME",
        "新住民票コードが現在の住民票コードと同じです",
        "the new juminhyo code equals the old one",
    ),
    ErrorSpec(
        "E_JUMINHYO_CODE_IN_USE",
        "新住民票コードは既に使用されています（住民票コードは再使用できません）",
        "the new juminhyo code already exists (codes are never reused)",
    ),
    ErrorSpec(
        "E_JUMINHYO_CODE_SUPERSEDED",
        "この住民票コードは変更済みです。新しい住民票コードで通知してください",
        "this juminhyo code was replaced by a new one; notify under the new code",
    ),
    ErrorSpec(
        "E_OTHER_MUNICIPALITY",
        "他の市町村に記録されている者、または他の市町村への記載です",
        "the person is registered in (or the record assigns them to) another municipality",
    ),
    ErrorSpec(
        "E_RELOCATION_OTHER_CITY",
        "転居は同一市（指定都市の区の間を含む）の中でのみ行えます",
        "a relocation may not cross into another city",
    ),
    ErrorSpec(
        "E_CHANGE_DATE_FUTURE",
        "異動年月日が通知を受けた日より後です",
        "the change date is after the date received",
    ),
    ErrorSpec(
        "E_CHANGE_DATE_BEFORE_BIRTH",
        "異動年月日が生年月日より前です",
        "the change date is before the date of birth",
    ),
    ErrorSpec(
        "E_BIRTH_DATE_MISMATCH",
        "出生の異動年月日が生年月日と一致しません",
        "a birth's change date differs from the date of birth",
    ),
    ErrorSpec(
        "E_FORMER_SURNAME_STATE",
        "旧氏の状態と異動事由が一致しません（記載済みへの記載、未記載の変更・削除、漢字とふりがなの不一致）",
        "former-surname reason does not fit the current state, or kanji and kana disagree",
    ),
    ErrorSpec(
        "E_NO_CHANGE", "修正の異動事由ですが変更がありません", "a correction reason that changes nothing"
    ),
    ErrorSpec(
        "E_ABROAD_STATE",
        "国外転出者の状態と異動事由または住所の形が一致しません",
        "the reason or the address shape does not fit the person's abroad/domestic state",
    ),
    # --- ledger ---------------------------------------------------------------------------------------
    ErrorSpec(
        "E_DUPLICATE_CONFLICT",
        "同じ通知IDで内容の異なる通知が既に受け付けられています",
        "the notification id was already accepted with different content",
    ),
    # --- intake and reconciliation HTTP APIs (the whole request, before any notification) -------
    ErrorSpec(
        "E_PEER_UNAUTHENTICATED",
        "クライアント証明書で認証されていません",
        "the request presented no authenticated client certificate",
    ),
    ErrorSpec(
        "E_PEER_ROLE",
        "この証明書の役割ではこの接続先を利用できません",
        "the client certificate's role may not use this endpoint",
    ),
    ErrorSpec(
        "E_PEER_PREFECTURE",
        "この市町村CSの証明書は、この都道府県の市町村のものではありません（自県の都道府県サーバへ送ってください）",
        "the municipal CS certificate names a municipality of another prefecture than this server's",
    ),
    ErrorSpec("E_CONTENT_TYPE", "本文の形式（Content-Type）が正しくありません", "unsupported Content-Type"),
    ErrorSpec("E_BATCH_EMPTY", "通知が1件も含まれていません", "the batch holds no notification"),
    ErrorSpec("E_BATCH_TOO_LARGE", "一括送信の大きさが上限を超えています", "the batch body is too large"),
    ErrorSpec("E_BATCH_TOO_MANY", "一括送信の件数が上限を超えています", "the batch holds too many items"),
    ErrorSpec(
        "E_DB_UNAVAILABLE",
        "データベースに一時的に接続できません（切替中など）。同じ内容で再送してください",
        "the database is unavailable for the moment (e.g. a failover); resend the same request",
    ),
    # --- bulk load (per CSV row; the row goes to the rejects file) ------------------------------
    ErrorSpec("E_LOAD_COLUMNS", "列の数が足りません", "the CSV row has too few columns"),
    ErrorSpec(
        "E_LOAD_CSV",
        "CSVの行として読めません（閉じていない引用符、項目内の改行、NUL文字など）",
        "the line is not one CSV record (unterminated quote, line break in a field, NUL character)",
    ),
    ErrorSpec(
        "E_LOAD_STATUS",
        "状態区分と消除の区分が正しくないか、組み合わせが正しくありません",
        "the status or end kind is unknown, or they do not fit together",
    ),
    # --- reconciliation (照合, F1-7 / F2-7) --------------------------------------------------------
    ErrorSpec(
        "E_RECON_HEADER",
        "見出し行がない、または見出しの列が正しくありません",
        "no header row, or not exactly the expected columns",
    ),
    ErrorSpec(
        "E_RECON_TRUNCATED",
        "アップロードが途中で終わっています",
        "the upload was cut off mid-row, or the connection dropped",
    ),
    ErrorSpec(
        "E_RECON_ROW", "CSVとして読めない行があります", "a row cannot be read (columns, quoting, code)"
    ),
    ErrorSpec("E_RECON_ENCODING", "UTF-8 ではない文字があります", "the upload is not UTF-8"),
    ErrorSpec(
        "E_RECON_DUPLICATE",
        "同じ住民票コードが2回以上あります",
        "the same juminhyo code appears twice",
    ),
    ErrorSpec(
        "E_RECON_MUNICIPALITY",
        "この都道府県の市町村（または指定都市）の地方公共団体コードではありません",
        "not a municipality (or designated city) of the configured prefecture",
    ),
    ErrorSpec(
        "E_RECON_INTERRUPTED",
        "照合が中断されました（照合は完了していません）",
        "the server failed while comparing (database error, cancel)",
    ),
    ErrorSpec(
        "E_RECON_ABANDONED",
        "照合を実行していたセッションが終了しました（照合は完了していません）",
        "the session running the reconciliation disappeared (crash, kill)",
    ),
    ErrorSpec("E_RECON_NOT_FOUND", "指定された照合はありません", "no such reconciliation run"),
    ErrorSpec(
        "E_RECON_FORBIDDEN",
        "他の市町村の照合結果は参照できません",
        "the run belongs to another municipality",
    ),
    # --- J-LIS queries (照会, F1-3 / F2-3): raised here or answered by the national servers -------
    ErrorSpec(
        "E_QUERY_KEY",
        "照会の条件の組み合わせが正しくありません",
        "the query keys are missing, combined wrongly or not allowed for this file",
    ),
    ErrorSpec("E_QUERY_VALUE", "照会の条件の値が正しくありません", "a query value is malformed"),
    ErrorSpec(
        "E_QUERY_CONDITIONS",
        "4情報による照会には、氏名（かな）に加えて生年月日または住所の指定が必要です",
        "a basic-4 query needs the kana name plus the birth date or the address",
    ),
    ErrorSpec(
        "E_TOO_MANY",
        "該当が上限の件数を超えました。検索条件を絞り込んでください",
        "more matches than the cap; narrow the conditions",
    ),
    ErrorSpec("E_NOT_FOUND", "該当する本人確認情報はありません", "no matching record"),
    ErrorSpec("E_BAD_ANSWER", "J-LIS の応答の形式が不正です", "the national server's answer is malformed"),
    ErrorSpec(
        "E_CLIENT",
        "照会の途中で都道府県サーバ側の処理が失敗しました",
        "the query failed on this side (logged in the query log)",
    ),
    ErrorSpec("E_CONNECT", "全国サーバに接続できません", "the national server cannot be reached"),
    ErrorSpec("E_TIMEOUT", "全国サーバが応答しません", "the national server did not answer in time"),
    ErrorSpec("E_TLS", "全国サーバとの相互認証に失敗しました", "mutual TLS with the national server failed"),
    ErrorSpec(
        "E_SERVER_ROLE",
        "接続先の証明書が期待する役割のサーバのものではありません",
        "the server certificate does not name the role this client must talk to",
    ),
    ErrorSpec(
        "E_UNAVAILABLE",
        "全国サーバは一時的に利用できません",
        "the national server is temporarily unavailable",
    ),
    # --- the national servers' answers to notices (the 全国サーバ simulator, peers/national.py) ---
    ErrorSpec(
        "E_IDEMPOTENCY_KEY",
        "Idempotency-Key ヘッダーがない、または長すぎます",
        "the Idempotency-Key header is missing or too long",
    ),
    ErrorSpec(
        "E_IDEMPOTENCY_MISMATCH",
        "Idempotency-Key は別の内容の通知で使われています",
        "the Idempotency-Key was used for a notice with other content",
    ),
    ErrorSpec(
        "E_WRONG_FILE", "この全国サーバが受け付けるファイルの通知ではありません", "notice for the other file"
    ),
    ErrorSpec("E_BAD_NOTICE", "通知の項目が不正です", "a notice item (code, update_seq) is malformed"),
    ErrorSpec(
        "E_MY_NUMBER_NOT_ALLOWED",
        "附票全国サーバへの通知に個人番号を含めることはできません",
        "a notice to the fuhyo national server carries an individual number",
    ),
    ErrorSpec("E_BAD_REQUEST", "要求の形式が不正です", "the request does not match the API"),
    ErrorSpec("E_INTERNAL", "内部エラーが発生しました", "internal error"),
    # --- bulk provision (一括提供, F1-2b / F2-2): the request file, line linkage, media ------------
    ErrorSpec(
        "E_BULK_ENCODING",
        "照会要求ファイルの文字コードが UTF-8 でも Shift_JIS（CP932）でもありません",
        "the request file is neither UTF-8 nor Shift_JIS (CP932)",
    ),
    ErrorSpec(
        "E_BULK_HEADER", "照会要求ファイルの見出し行が正しくありません", "the request file's header is wrong"
    ),
    ErrorSpec(
        "E_BULK_EMPTY", "照会要求ファイルに照会対象の行がありません", "the request file has no data row"
    ),
    ErrorSpec(
        "E_BULK_TOO_LARGE",
        "照会要求ファイルが大きすぎます。分けて依頼してください",
        "the request file is too large",
    ),
    ErrorSpec(
        "E_BULK_TRUNCATED",
        "照会要求ファイルの送信が途中で切れました",
        "the request file's upload was cut off",
    ),
    ErrorSpec(
        "E_BULK_REQUESTER",
        "この証明書・操作者の依頼元とは別の依頼元の照会要求は受け付けません",
        "the request names another requester than the certificate or the operator belongs to",
    ),
    ErrorSpec(
        "E_BULK_TASK",
        "依頼元・事務が提供の根拠（カタログ）にありません",
        "the requester and task are not in the provision catalog",
    ),
    ErrorSpec(
        "E_BULK_JOB_NOT_FOUND", "該当する一括提供の依頼がありません", "no such bulk job (of this requester)"
    ),
    ErrorSpec(
        "E_BULK_NOT_READY",
        "照会結果ファイルはまだありません（承認待ち、却下またはエラー）",
        "the job has no result file (waiting for approval, rejected or failed)",
    ),
    ErrorSpec(
        "E_BULK_LOST",
        "照会要求の行がサーバの再起動で失われました。照会要求ファイルを再度提出してください",
        "the job's request rows were lost in a server crash (unlogged staging); resubmit the file",
    ),
    ErrorSpec(
        "E_MEDIA_NOT_APPROVED",
        "登録された使用可能な電磁的記録媒体ではありません",
        "the medium is not registered as approved (disposed, lost, suspended or unknown)",
    ),
    ErrorSpec(
        "E_MEDIA_LABEL",
        "媒体の識別ファイルが登録された媒体と一致しません",
        "the mounted medium's label file does not match the register",
    ),
    ErrorSpec(
        "E_MEDIA_RECIPIENT",
        "依頼元の暗号化の宛先（age 公開鍵）が登録されていません",
        "the requester has no age recipient to encrypt to",
    ),
    # --- correction inquiries to the 市町村CS (F1-4, F2-4; interfaces/inquiry_api.py) ------------
    ErrorSpec(
        "E_INQUIRY_NOT_FOUND", "該当する照会がありません", "no open inquiry of that id to this municipality"
    ),
    ErrorSpec("E_INQUIRY_STATE", "この照会には既に回答があります", "the inquiry was already answered"),
    ErrorSpec("E_INQUIRY_ANSWER", "回答の内容が正しくありません", "the answer is malformed"),
    ErrorSpec(
        "E_INQUIRY_NOTIFICATION",
        "訂正したとする通知が、この住民について受理されていません。先に訂正の通知を送ってください",
        "the correction notification named was not accepted for this person from this municipality",
    ),
    # --- scheduled jobs, backups, restore (services/operations; docs/operations.md) ------------
    ErrorSpec("E_JOB_UNKNOWN", "その名前の定期処理はありません", "no scheduled job has this name"),
    ErrorSpec("E_JOB_FAILED", "定期処理が失敗しました", "the scheduled job failed"),
    ErrorSpec(
        "E_RECON_REQUEST_OVERDUE",
        "期限までに整合性確認の回答（照合データの送信）がない市町村があります",
        "a municipality did not answer a regular reconciliation request by its due date",
    ),
    ErrorSpec(
        "E_BACKUP_NO_RECIPIENT",
        "バックアップの暗号化の受信者（age 公開鍵）がありません（juki backup keygen）",
        "no age recipient to encrypt the backup to (juki backup keygen)",
    ),
    ErrorSpec("E_BACKUP_DUMP", "データベースのバックアップ取得に失敗しました", "pg_dump failed"),
    ErrorSpec(
        "E_RESTORE_DECRYPT",
        "バックアップを復号できません（鍵が違うか、ファイルが壊れています）",
        "the backup cannot be decrypted (wrong identity or damaged file)",
    ),
    ErrorSpec(
        "E_RESTORE_CIPHERTEXT",
        "バックアップファイルのハッシュが台帳と一致しません",
        "the backup file's SHA-256 differs from the register",
    ),
    ErrorSpec("E_RESTORE_FAILED", "バックアップの復元に失敗しました", "pg_restore failed"),
    ErrorSpec(
        "E_RESTORE_MISMATCH",
        "復元したデータの件数またはハッシュがバックアップ時と一致しません",
        "row counts or table hashes of the restored data differ from the manifest",
    ),
    ErrorSpec(
        "E_RESTORE_AUDIT",
        "復元した操作ログの検証に失敗しました（juki audit verify）",
        "the restored operation log does not verify",
    ),
    # Readiness of a running installation (`/readyz` on the administration port; services/operations).
    ErrorSpec("E_READY_DATABASE", "データベースに接続できません", "the database cannot be reached"),
    ErrorSpec(
        "E_READY_MIGRATIONS",
        "データベースのスキーマがこのプログラムの版と一致しません（juki migrate が必要です）",
        "the database schema does not match this program's migrations (run juki migrate)",
    ),
    ErrorSpec(
        "E_READY_CERTIFICATE",
        "証明書がないか、有効期限が切れています",
        "a certificate is missing or past its expiry",
    ),
    ErrorSpec(
        "E_READY_CRL",
        "失効リスト（CRL）がないか、次回更新日時を過ぎています",
        "the CRL is missing or past its nextUpdate",
    ),
    # The prefecture's offices printed on forms (juki.domain.offices, issue 14): configuration.
    ErrorSpec(
        "E_OFFICES_NOT_CONFIGURED",
        "この都道府県の発行者・窓口・問い合わせ先が設定されていないため、帳票を発行できません。"
        "JUKI_OFFICES_FILE に都道府県の窓口を設定してください",
        "no offices (issuer, counters, contact) are configured for the prefecture: no form is issued"
        " until JUKI_OFFICES_FILE supplies them",
    ),
    # `juki pki import`: certificates from the prefecture's own CA (services/access/pki_import.py).
    ErrorSpec("E_PKI_IMPORT_FILE", "ファイルを読めません", "a file cannot be read or is not PEM"),
    ErrorSpec(
        "E_PKI_IMPORT_CHAIN",
        "証明書が指定の CA で署名されていません",
        "the certificate is not signed by the CA",
    ),
    ErrorSpec(
        "E_PKI_IMPORT_VALIDITY", "証明書が有効期間内ではありません", "the certificate is outside its validity"
    ),
    ErrorSpec(
        "E_PKI_IMPORT_SUBJECT",
        "証明書のサブジェクトが juki の役割を示していません（O=juki, OU=役割, CN=名前）",
        "the certificate's subject names no juki role (O=juki, OU=role, CN=name)",
    ),
    ErrorSpec(
        "E_PKI_IMPORT_KEY_USAGE",
        "証明書の用途（keyUsage / extendedKeyUsage / basicConstraints）が役割に合いません",
        "the certificate's key usage does not fit its role",
    ),
    ErrorSpec(
        "E_PKI_IMPORT_KEY_MISMATCH",
        "秘密鍵が証明書の鍵ではありません",
        "the private key is not the certificate's key",
    ),
    ErrorSpec(
        "E_PKI_IMPORT_CRL",
        "CRL がないか、CA の署名がないか、次回更新日時を過ぎています",
        "the CRL is missing, not signed by the CA, or past its nextUpdate",
    ),
    ErrorSpec(
        "E_PKI_IMPORT_CA", "PKI ディレクトリには別の CA があります", "the PKI directory holds another CA"
    ),
)

#: Every stable code, keyed by code. Read-only: codes are added here and in the draft together.
CATALOG: Final[Mapping[str, ErrorSpec]] = MappingProxyType({s.code: s for s in _SPECS})


class Rejection(Exception):
    """A notification (or request) refused with a stable code.

    Raised by the pure domain rules and turned into a per-item result by the services. The constructor
    takes only the code and an optional detail so that messages always come from :data:`CATALOG`; an
    unknown code is a programming error and raises ``KeyError`` at once rather than reaching a client.
    """

    code: str
    message: str
    message_en: str
    detail: str | None

    def __init__(self, code: str, detail: str | None = None) -> None:
        spec = CATALOG[code]
        self.code = code
        self.detail = detail
        self.message = f"{spec.message_ja}（{detail}）" if detail else spec.message_ja
        self.message_en = f"{spec.message_en} ({detail})" if detail else spec.message_en
        super().__init__(f"{code}: {self.message}")

    def to_dict(self) -> dict[str, str | None]:
        """The JSON form used in per-item results: stable code, Japanese message, detail."""
        return {"code": self.code, "message": self.message, "detail": self.detail}
