"""Residents' rights: the vocabulary of disclosure requests (F1-3, F2-3), provision-status disclosure
(S-55), correction requests (F1-4, F2-4) and the inquiry log (REC-7, S-60). LEGAL.md §3, §4.

Pure data, in one place, so the register, the counter pages, the printed forms and the simulator
(SIM-6) name the same things the same way. The retention periods and the deadline are the project's
choices (the sources set none): each is one constant here until the operations issue's retention
table takes them over.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Final


class RequestKind(StrEnum):
    DISCLOSURE = "disclosure"  # 本人確認情報（等）の開示（住基法第30条の32）
    PROVISION_STATUS = "provision_status"  # 提供状況の開示（S-55, File 1 only）


class RequestStatus(StrEnum):
    RECEIVED = "received"  # 受付
    MATCHED = "matched"  # 照合済（一人に特定）
    ISSUED = "issued"  # 交付済
    REFUSED = "refused"  # 不開示


class Channel(StrEnum):
    COUNTER = "counter"
    POST = "post"
    ELECTRONIC = "electronic"


class RequesterKind(StrEnum):
    SELF = "self"
    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代理人（未成年者・成年被後見人）
    AGENT = "agent"  # 保佐人・補助人等（代理権の範囲内）


class CorrectionKind(StrEnum):
    CORRECTION = "correction"  # 訂正
    ADDITION = "addition"  # 追加
    DELETION = "deletion"  # 削除


class CaseStatus(StrEnum):
    REGISTERED = "registered"  # 申出受付
    INVESTIGATING = "investigating"  # 調査中（市町村へ照会済）
    ANSWERED = "answered"  # 市町村から回答あり
    CLOSED = "closed"  # 申出者へ回答済


class CaseResult(StrEnum):
    NO_CHANGE = "no_change"  # 記録に誤りはない
    MUNICIPALITY_CORRECTS = "municipality_corrects"  # 市町村が訂正し、F1-1 の通知で届く


class InquiryChannel(StrEnum):
    COUNTER = "counter"
    PHONE = "phone"
    MAIL = "mail"
    POST = "post"


class InquiryCategory(StrEnum):
    DISCLOSURE = "disclosure"
    CORRECTION = "correction"
    PROVISION_STATUS = "provision_status"
    USE = "use"  # 利用・提供について
    SECURITY = "security"  # 安全管理・漏えいの懸念
    SYSTEM = "system"  # 住基ネットの仕組み
    OTHER = "other"


# Where a request is lodged, the issuer, the prefecture as a legal person and the staff department
# named in S-55's table depend on the prefecture: juki.domain.offices (issue 14), not constants here.

#: How identity was verified — the document's *type*, never its number (LEGAL.md §3).
IDENTITY_DOCUMENTS: Final = (
    "個人番号カード",
    "運転免許証",
    "旅券（パスポート）",
    "在留カード・特別永住者証明書",
    "健康保険の資格確認書等＋公的書類（2点）",
    "郵送：写しの提出（住所地あて回答）",
    "代理権の確認書類（戸籍謄本・登記事項証明書）＋上記のいずれか",
)

REQUEST_STATUS_LABELS: Final = {
    RequestStatus.RECEIVED: "受付",
    RequestStatus.MATCHED: "照合済",
    RequestStatus.ISSUED: "交付済",
    RequestStatus.REFUSED: "不開示",
}
REQUEST_KIND_LABELS: Final = {
    RequestKind.DISCLOSURE: "本人確認情報の開示",
    RequestKind.PROVISION_STATUS: "提供状況の開示",
}
CHANNEL_LABELS: Final = {Channel.COUNTER: "窓口", Channel.POST: "郵送", Channel.ELECTRONIC: "電子申請"}
REQUESTER_LABELS: Final = {
    RequesterKind.SELF: "本人",
    RequesterKind.LEGAL_REPRESENTATIVE: "法定代理人",
    RequesterKind.AGENT: "保佐人・補助人等",
}
CORRECTION_KIND_LABELS: Final = {
    CorrectionKind.CORRECTION: "訂正",
    CorrectionKind.ADDITION: "追加",
    CorrectionKind.DELETION: "削除",
}
CASE_STATUS_LABELS: Final = {
    CaseStatus.REGISTERED: "申出受付",
    CaseStatus.INVESTIGATING: "調査中",
    CaseStatus.ANSWERED: "市町村回答済",
    CaseStatus.CLOSED: "申出者へ回答済",
}
CASE_RESULT_LABELS: Final = {
    CaseResult.NO_CHANGE: "記録に誤りは認められませんでした",
    CaseResult.MUNICIPALITY_CORRECTS: "市町村が記録を訂正しました",
}
INQUIRY_CHANNEL_LABELS: Final = {
    InquiryChannel.COUNTER: "窓口",
    InquiryChannel.PHONE: "電話",
    InquiryChannel.MAIL: "電子メール",
    InquiryChannel.POST: "郵便",
}
INQUIRY_CATEGORY_LABELS: Final = {
    InquiryCategory.DISCLOSURE: "開示請求",
    InquiryCategory.CORRECTION: "訂正等の申出",
    InquiryCategory.PROVISION_STATUS: "提供状況",
    InquiryCategory.USE: "利用・提供",
    InquiryCategory.SECURITY: "安全管理",
    InquiryCategory.SYSTEM: "制度・仕組み",
    InquiryCategory.OTHER: "その他",
}

#: 保存期限 (the project's choice; the operations issue's retention table replaces these).
REQUEST_RETENTION_YEARS: Final = 5
CASE_RETENTION_YEARS: Final = 5
INQUIRY_RETENTION_YEARS: Final = 3
#: A correction case should be answered within this many days of the 申出 (overdue list).
CORRECTION_DUE_DAYS: Final = 30
#: Provision records are kept 7 years (S-21/REC-1); the provision-status form covers that window.
PROVISION_RECORD_YEARS: Final = 7


def years_after(day: date, years: int) -> date:
    """``day`` plus ``years`` years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def correction_due(received_on: date) -> date:
    return received_on + timedelta(days=CORRECTION_DUE_DAYS)


# --- the 不開示決定通知書 (issue 12 gap 1) ------------------------------------------------------------

#: Why the counter itself may decide 不開示 (besides the match's no match / several candidates): the
#: written request's own conditions (LEGAL.md §3: identity by one photo document or two others; a
#: representative proves the representation). Codes of domain/refusals.py.
COUNTER_REFUSALS: Final = ("T_DISCLOSURE_IDENTITY", "T_DISCLOSURE_REPRESENTATION")

#: The reason as the requester reads it on the letter, per refusal code. Plain Japanese, and about the
#: request only: an ambiguous match says that the request did not single out one person, never how
#: many or who matched (architecture note 93).
REFUSAL_LETTER_REASONS: Final = {
    "T_DISCLOSURE_NO_MATCH": (
        "請求書に記載された氏名、生年月日、住所等と一致する記録がありませんでした。"
        "記載の誤りがないかご確認のうえ、住民票コードを記載するなどして、改めて請求することができます。"
    ),
    "T_DISCLOSURE_AMBIGUOUS": (
        "請求書に記載された事項だけでは、開示の対象となる記録を一つに特定することができませんでした。"
        "住民票コードを記載するなどして、改めて請求することができます。"
    ),
    "T_DISCLOSURE_IDENTITY": (
        "請求者が本人であることを、提示された書類により確認することができませんでした。"
        "本人確認書類（写真付きのもの1点、又はその他のもの2点）を添えて、改めて請求することができます。"
    ),
    "T_DISCLOSURE_REPRESENTATION": (
        "請求者が法定代理人等として請求する権限を有することを、提示された書類により確認することが"
        "できませんでした。戸籍謄本、登記事項証明書等を添えて、改めて請求することができます。"
    ),
}

#: How to object to the decision (教示). LEGAL.md summarises how a request is made and answered but says
#: nothing about objections; the text below is the project's reading of the general laws (行政不服審査法
#: 第2条・第4条第1号・第18条・第82条: a 処分 of the governor, who has no superior agency, is objected to
#: by 審査請求 to the governor within 3 months; 行政事件訴訟法第8条・第11条・第14条: 取消訴訟 against the
#: prefecture within 6 months). The prefecture confirms or replaces it from its own rules before use:
#: the marker is printed on the letter until then (architecture note 93).
OBJECTION_PLACEHOLDER: Final = "【県で確認のうえ確定：教示文（仕様の出典に定めがなく、一般法による案）】"
OBJECTION_NOTICE: Final = (
    "（1）この決定に不服がある場合は、この決定があったことを知った日の翌日から起算して3か月以内に、"
    "{authority}に対して審査請求をすることができます（行政不服審査法第2条、第4条第1号及び第18条）。",
    "（2）この決定の取消しを求める訴えは、この決定があったことを知った日の翌日から起算して6か月以内に、"
    "{prefecture}を被告として（訴訟において{prefecture}を代表する者は{authority}となります。）"
    "提起することができます（行政事件訴訟法第8条、第11条及び第14条）。"
    "ただし、（1）の審査請求をした場合には、その審査請求に対する裁決があったことを知った日の翌日から起算して"
    "6か月以内に提起することができます。",
    "（3）決定の日（審査請求をした場合は裁決の日）から1年を経過すると、審査請求及び訴えの提起は"
    "できなくなります（正当な理由があるときを除きます）。",
)
