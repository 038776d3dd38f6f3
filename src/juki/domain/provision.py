"""The vocabulary of provision and transfer (REQUIREMENTS F1-2, F1-2b, F2-2; LEGAL.md §1–2).

Single provision (the terminal), bulk provision (request files, media, line linkage) and the
resident's "who was given my data" (S-55) all speak of the same things: the kind of key a
requester gives, the method the answer leaves by, the legal path of the task, and the outcome of
one person-answer. The outcome codes are stable: they are stored in the provision records (REC-1,
seven years), shown to operators and written into result files, so they never change meaning.
docs/provision.md lists them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class KeyType(StrEnum):
    """What the requester identifies the person by (A-17: the passages differ; the task decides)."""

    RESIDENT_CODE = "resident_code"  # 住民票コード
    MY_NUMBER = "my_number"  # 個人番号 (File 1 only: File 2 holds none)
    BASIC4 = "basic4"  # 4情報 (氏名・生年月日・性別・住所 in the combination S-25 requires)

    @property
    def label(self) -> str:
        return KEY_TYPE_LABELS[self]


KEY_TYPE_LABELS: Final[dict[KeyType, str]] = {
    KeyType.RESIDENT_CODE: "住民票コード",
    KeyType.MY_NUMBER: "個人番号",
    KeyType.BASIC4: "4情報",
}


class Method(StrEnum):
    """How the answer leaves (A-16: the layout ticks several; the catalog ties them to each task)."""

    SCREEN = "screen"  # shown on the requester's own terminal
    PAPER = "paper"  # printed form (File 1 only: File 2's layout does not tick paper)
    MEDIA = "media"  # 電磁的記録媒体 (S-29: representative or bulk-enabled terminal)
    FLASH = "flash"  # フラッシュメモリ
    LINE = "line"  # 回線連携 (住基ネット / the shared folder of F1-2b)

    @property
    def label(self) -> str:
        return METHOD_LABELS[self]


METHOD_LABELS: Final[dict[Method, str]] = {
    Method.SCREEN: "画面",
    Method.PAPER: "帳票",
    Method.MEDIA: "電磁的記録媒体",
    Method.FLASH: "フラッシュメモリ",
    Method.LINE: "回線連携（住基ネット）",
}


class RequesterKind(StrEnum):
    """提供 to another executive organ (第30条の15第2項) or 移転 to a department of the governor (第1項)."""

    ORGAN = "organ"
    DEPARTMENT = "department"

    @property
    def label(self) -> str:
        return "提供（他の執行機関）" if self is RequesterKind.ORGAN else "移転（他部署）"


class LegalPath(StrEnum):
    """The path in 住基法第30条の15 (File 1) / 第30条の44の6 (File 2) a task rests on (LEGAL.md §1).

    own_use_* are the governor's own use (①; a department's 移転), provision_* the provision to
    another executive organ (②).
    """

    OWN_USE_1 = "own_use_1"  # ①1号 別表第五
    OWN_USE_2 = "own_use_2"  # ①2号 条例で定める事務
    OWN_USE_3 = "own_use_3"  # ①3号 本人の同意
    OWN_USE_4 = "own_use_4"  # ①4号 統計資料の作成
    PROVISION_1 = "provision_1"  # ②1号 別表第六
    PROVISION_2 = "provision_2"  # ②2号 条例で定める執行機関・事務

    @property
    def kind(self) -> RequesterKind:
        """Who may use the path: an organ (②) or a department (①)."""
        return RequesterKind.ORGAN if self.value.startswith("provision") else RequesterKind.DEPARTMENT

    def label(self, article: str, organ_paragraph: int) -> str:
        """The path as cited under the file's article: ("第30条の15", 2) for File 1,
        ("第30条の44の6", 3) for File 2, whose provision to organs is its third paragraph."""
        paragraph, number, what = _LEGAL_PATHS[self]
        paragraph = organ_paragraph if paragraph == 2 else paragraph
        return f"住基法{article}第{paragraph}項第{number}号（{what}）"


_LEGAL_PATHS: Final[dict[LegalPath, tuple[int, int, str]]] = {
    LegalPath.OWN_USE_1: (1, 1, "別表第五に掲げる事務"),
    LegalPath.OWN_USE_2: (1, 2, "条例で定める事務"),
    LegalPath.OWN_USE_3: (1, 3, "本人の同意"),
    LegalPath.OWN_USE_4: (1, 4, "統計資料の作成"),
    LegalPath.PROVISION_1: (2, 1, "別表第六に掲げる執行機関・事務"),
    LegalPath.PROVISION_2: (2, 2, "条例で定める執行機関・事務"),
}


class ResultCode(StrEnum):
    """The outcome of one person-answer, single or bulk (REC-1, S-21, S-22, S-27).

    Only P_MATCH gives anything; every other code is a refusal "where processing ran" and is
    recorded all the same (S-22). Never a list to choose from: several candidates is P_AMBIGUOUS.
    """

    MATCH = "P_MATCH"
    NOT_FOUND = "P_NOT_FOUND"
    AMBIGUOUS = "P_AMBIGUOUS"
    KEY_NOT_ALLOWED = "P_KEY_NOT_ALLOWED"
    METHOD_NOT_ALLOWED = "P_METHOD_NOT_ALLOWED"
    NOT_PERMITTED = "P_NOT_PERMITTED"
    INVALID = "P_INVALID"
    NO_MY_NUMBER = "P_NO_MY_NUMBER"
    UNAVAILABLE = "P_UNAVAILABLE"

    @property
    def provided(self) -> bool:
        return self is ResultCode.MATCH

    @property
    def label(self) -> str:
        return RESULT_LABELS[self][0]

    @property
    def message_ja(self) -> str:
        return RESULT_LABELS[self][1]


RESULT_LABELS: Final[dict[ResultCode, tuple[str, str]]] = {
    ResultCode.MATCH: ("一致", "条件に一致する1名の情報を提供しました"),
    ResultCode.NOT_FOUND: ("該当なし", "条件に一致する者がいないため、提供できません"),
    ResultCode.AMBIGUOUS: (
        "複数該当",
        "条件に一致する者が複数いるため、提供できません。対象者を特定できる条件で依頼してください",
    ),
    ResultCode.KEY_NOT_ALLOWED: (
        "検索キー不許可",
        "この事務では、この検索キーによる提供は認められていません",
    ),
    ResultCode.METHOD_NOT_ALLOWED: ("提供方法不許可", "この事務では、この提供方法は認められていません"),
    ResultCode.NOT_PERMITTED: (
        "不許可",
        "この依頼元・事務・ファイル・期間による提供は認められていません",
    ),
    ResultCode.INVALID: ("入力不備", "検索キーの形式が正しくないか、必要な条件が不足しています"),
    ResultCode.NO_MY_NUMBER: (
        "個人番号付加不可",
        "個人番号の付加は、認められた事務の国外転出者についてのみ行えます",
    ),
    ResultCode.UNAVAILABLE: (
        "照会先応答なし",
        "照会先のサーバから応答がないため、提供できません。時間をおいて再度依頼してください",
    ),
}

#: 住民票コード is never provided or transferred (LEGAL.md §1: "住民票コードを除く").
NEVER_PROVIDED: Final = frozenset({"juminhyo_code"})

#: R-08: provision records are kept seven years.
RECORD_RETENTION_YEARS: Final = 7
