"""Logical checks of a notification against the person's current state, and the resulting transition.

REQUIREMENTS S-39 asks for logical checks on every update and gives three exact examples:

1. F1-1 (d): 転入 for a person who currently exists → error (E_ENTRY_PERSON_PRESENT, generalised to
   every 記載 reason).
2. F1-1 (d): 転居 that changes an item other than the address → error (E_RELOCATION_NON_ADDRESS).
3. F2-1: 消除 of a person already 消除 → error (E_ALREADY_ENDED).

DOMAIN §4 says to derive the rest from the classification 記載 / 消除 / 修正. The rules derived here,
each with its code and the reason it holds:

* 修正/消除 of an unknown 住民票コード → E_PERSON_NOT_FOUND: there is nothing to change or end.
* 修正 of an ended person → E_ALREADY_ENDED: an ended record is history (kept 150 years) and must not
  change; the municipality has to 記載 the person again first.
* A 記載 for an ended person is accepted (moving back, re-registration) — only a *present* person
  blocks it. For File 2 "present" is domestic or abroad: a 国外転出者 is still in the 附票.
* 異動の取消し（増） cancels an erroneous 消除, so it needs an ended record to bring back →
  E_PERSON_NOT_FOUND when the code is unknown.
* 死亡 is final (DOMAIN §4): anything for a deceased person is E_DECEASED, except 異動の取消し（増）,
  the only lawful way to undo a wrongly registered death. E_DECEASED takes precedence over the
  generic E_ALREADY_ENDED because it tells the operator why.
* A 住民票コード that was replaced (EndKind.CODE_CHANGED) is never used again: any notification to it
  is E_JUMINHYO_CODE_SUPERSEDED (code added to the draft) — accepting a 記載 there would split one
  person into two records with two codes.
* A municipality touches only its own residents (ARCHITECTURE §4) → E_OTHER_MUNICIPALITY:
  File 1: a record's 市町村コード must be the sender (a 記載 registers in the sender only), and a
  修正/消除 needs the person registered in the sender. Exception: 転居 between two wards of one
  designated city is a 転居, not a 転出/転入; the *new* ward sends it, so the person may be registered
  in another ward of the same city; a ward of another city (or any other municipality) is
  E_RELOCATION_OTHER_CITY. File 2: a 修正/消除 needs the sender to be the 附票管理市町村.
* Dates: the 異動年月日 may not be after the day the notification was received (E_CHANGE_DATE_FUTURE)
  — applied when even the *earliest* day the (possibly partial) date could mean is after that day,
  so a 不詳 or partial date is never rejected on a guess; not before the 生年月日
  (E_CHANGE_DATE_BEFORE_BIRTH, only when both are complete calendar dates, since 不詳 and
  non-calendar dates cannot be ordered reliably); for 出生 it is the 生年月日 (E_BIRTH_DATE_MISMATCH).
* Items: a 修正 reason may change only its ``changeable`` items (reasons.py) → E_ITEMS_NOT_CHANGEABLE;
  a 個人番号 difference under any other reason is E_MY_NUMBER_CHANGE_REASON (checked first: it is the
  most protected item and the most specific message); a 個人番号 reason must change it
  (E_MY_NUMBER_UNCHANGED); a correction reason that may change something must change something
  (E_NO_CHANGE) — a no-op would create a history version with no content.
* A 消除 may carry the final record, but it may not change anything (reasons.py gives 消除 no
  changeable items), so a differing record is E_ITEMS_NOT_CHANGEABLE and never silently dropped.
  The same holds for 修正 reasons that change no notified item (世帯・通称, 住民票コード change).
* 個人番号 uniqueness → E_MY_NUMBER_IN_USE: a record may not carry a 個人番号 that is or was held by
  another 住民票コード (the caller supplies the owner, looked up in current records and history).
* A 記載 on an ended 住民票コード (moving back, 異動の取消し（増）) is the same person coming back, never
  another person taking the code over: the 個人番号 stays (E_MY_NUMBER_CHANGE_REASON — only a 個人番号
  reason changes it), and so do 生年月日 and 性別 (E_REENTRY_IDENTITY). The name may differ: it can
  change while the person lives elsewhere.
* 住民票コード change: the new code differs (E_JUMINHYO_CODE_SAME) and is not used anywhere, current,
  ended or history, because codes are never reused (E_JUMINHYO_CODE_IN_USE); nothing else changes.
* 旧氏 (File 1) → E_FORMER_SURNAME_STATE: kanji and kana are both present or both empty;
  旧氏の記載 needs none recorded and gives one; 旧氏の変更 needs one and keeps one; 旧氏の削除 needs one
  and removes it.
* File 2 abroad state → E_ABROAD_STATE: 国外転出 needs a domestic person and yields an abroad-shaped
  record (住所 市町村コード empty, 最終住所 kept); 国外転入等 needs a person abroad and yields a domestic
  one; 国内転出 needs a domestic person; 国内転入 yields a domestic record (from either state); any
  other 修正 keeps the person's state, so becoming or ceasing to be a 国外転出者 happens only by the
  move reasons.

The checks run in a fixed order — person state, municipality, dates, 住民票コード change, reason-specific
state, item changes, 個人番号 owner — so one notification always yields the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from juki.domain import lgcodes
from juki.domain.dates import DateQualifier, JukiDate
from juki.domain.errors import Rejection
from juki.domain.items import ITEM_LABELS
from juki.domain.notification import Notification, is_abroad_shaped
from juki.domain.reasons import (
    JUMINHYO_CODE_REASONS,
    MY_NUMBER_REASONS,
    ChangeReason,
    ReasonClass,
    ReasonRule,
    rule_for,
)
from juki.domain.records import EndKind, FileKind, FuhyoStatus, RecordStatus, notified_items

__all__ = ["PersonState", "Transition", "check_notification", "is_present", "transition"]

_R = ChangeReason

#: First day of each 旬, for the earliest day a partial date can mean.
_TEN_DAY_FIRST: Final = {DateQualifier.EARLY: 1, DateQualifier.MIDDLE: 11, DateQualifier.LATE: 21}
_FORMER_SURNAME_REASONS: Final = frozenset(
    {_R.FORMER_SURNAME_ENTRY, _R.FORMER_SURNAME_CHANGE, _R.FORMER_SURNAME_REMOVAL}
)


@dataclass(frozen=True)
class PersonState:
    """What the ledger holds for one 住民票コード, as far as the checks need it.

    ``status`` is a :class:`RecordStatus` value (File 1) or a :class:`FuhyoStatus` value (File 2);
    ``municipality_code`` is the 市町村コード (File 1) or the 附票管理市町村コード (File 2); ``record``
    has the notified items of the current version with the same types as :attr:`Notification.record`.
    """

    status: str
    end_kind: EndKind | None
    municipality_code: str
    record: Mapping[str, object]


@dataclass(frozen=True)
class Transition:
    """The state after applying an accepted notification (what the ledger writes).

    ``ends_old_code``: the notification changes the 住民票コード; the ledger ends the old code with
    :attr:`EndKind.CODE_CHANGED` and creates the new code with ``status`` and ``record``, linked both ways.
    """

    status: str
    end_kind: EndKind | None
    record: Mapping[str, object]
    ends_old_code: bool


def is_present(file: FileKind, status: str) -> bool:
    """Whether a person with ``status`` is currently in ``file`` (a 国外転出者 is present in File 2)."""
    # A dictionary lookup: called for every row a batch reads, where building the enum showed up in
    # profiles. An unknown status is still an error.
    try:
        return _PRESENT[file][status]
    except KeyError:
        raise ValueError(f"unknown {file.value} status {status!r}") from None


_PRESENT: dict[FileKind, dict[str, bool]] = {
    FileKind.PREF: {s.value: s is RecordStatus.PRESENT for s in RecordStatus},
    FileKind.FUHYO: {s.value: s is not FuhyoStatus.ENDED for s in FuhyoStatus},
}


def _label(items: list[str]) -> str:
    return "、".join(f"{i}（{ITEM_LABELS.get(i, i)}）" for i in items)


# ---------------------------------------------------------------------------------------------
# check_notification
# ---------------------------------------------------------------------------------------------


def check_notification(
    n: Notification,
    current: PersonState | None,
    *,
    received_on: date,
    new_code_exists: bool = False,
    my_number_owner: str | None = None,
) -> None:
    """Raise :class:`Rejection` if ``n`` may not be applied to ``current`` (None: code unknown).

    ``received_on`` is the day the notification was received (D1-19); ``new_code_exists`` whether
    ``n.new_juminhyo_code`` exists anywhere in the file (current, ended or history);
    ``my_number_owner`` the 住民票コード that currently holds the notified 個人番号, if any.
    """
    rule = rule_for(n.reason, n.file)
    _check_person(n, rule, current)
    _check_municipality(n, rule, current)
    _check_dates(n, current, received_on)
    if n.reason in JUMINHYO_CODE_REASONS:
        _check_code_change(n, new_code_exists)
    if n.record is not None:
        _check_reason_state(n, current, n.record)
        if rule.klass is not ReasonClass.ENTRY:
            assert current is not None  # _check_person guarantees it
            _check_changes(n, rule, current, n.record)
        elif current is not None:
            _check_reentry(n, current, n.record)
        owner_conflict = my_number_owner is not None and my_number_owner != n.juminhyo_code
        if n.file is FileKind.PREF and owner_conflict:
            raise Rejection("E_MY_NUMBER_IN_USE")


def _check_person(n: Notification, rule: ReasonRule, current: PersonState | None) -> None:
    present = current is not None and is_present(n.file, current.status)
    if current is not None and not present:
        if current.end_kind is EndKind.CODE_CHANGED:
            raise Rejection("E_JUMINHYO_CODE_SUPERSEDED", n.juminhyo_code)
        if current.end_kind is EndKind.DEATH and n.reason is not _R.CANCEL_INCREASE:
            raise Rejection("E_DECEASED", f"異動事由「{n.reason.label}」")
    if rule.klass is ReasonClass.ENTRY:
        if present:
            raise Rejection("E_ENTRY_PERSON_PRESENT", f"異動事由「{n.reason.label}」")
        if current is None and n.reason is _R.CANCEL_INCREASE:
            raise Rejection("E_PERSON_NOT_FOUND", "異動の取消し（増）には消除された記録が必要です")
        return
    if current is None:
        raise Rejection("E_PERSON_NOT_FOUND", n.juminhyo_code)
    if not present:
        raise Rejection("E_ALREADY_ENDED", f"異動事由「{n.reason.label}」")


def _check_municipality(n: Notification, rule: ReasonRule, current: PersonState | None) -> None:
    sender = n.municipality_code
    if n.file is FileKind.FUHYO:
        # The 附票管理市町村 is the 本籍地; a 記載 makes the sender the manager, nothing to compare.
        if rule.klass is not ReasonClass.ENTRY:
            assert current is not None
            if current.municipality_code != sender:
                raise Rejection("E_OTHER_MUNICIPALITY", f"附票管理市町村 {current.municipality_code}")
        return
    if n.reason is _R.RELOCATION and current is not None and n.record is not None:
        old, new = current.municipality_code, str(n.record["municipality_code"])
        # Codes are unique nationwide, so the table of the code's own prefecture decides; no need
        # to know which prefecture this server serves.
        if new != old and not lgcodes.for_prefecture(old[:2]).same_designated_city(old, new):
            raise Rejection("E_RELOCATION_OTHER_CITY", f"{old} → {new}")
        if new != sender:
            raise Rejection("E_OTHER_MUNICIPALITY", f"転居は転居先の区から通知します（{new}）")
        return
    if rule.klass is not ReasonClass.ENTRY:
        assert current is not None
        if current.municipality_code != sender:
            raise Rejection("E_OTHER_MUNICIPALITY", f"市町村コード {current.municipality_code}")
    if n.record is not None and n.record["municipality_code"] != sender:
        raise Rejection("E_OTHER_MUNICIPALITY", f"記録の市町村コード {n.record['municipality_code']}")


def _earliest_key(d: JukiDate) -> int | None:
    """YYYYMMDD of the earliest day ``d`` can mean; None when wholly unknown."""
    if d.year is None:
        return None
    day = d.day if d.day is not None else _TEN_DAY_FIRST.get(d.qualifier, 1)
    return d.year * 10000 + (d.month or 1) * 100 + day


def _check_dates(n: Notification, current: PersonState | None, received_on: date) -> None:
    cd = n.change_date
    earliest = _earliest_key(cd)
    received_key = received_on.year * 10000 + received_on.month * 100 + received_on.day
    if earliest is not None and earliest > received_key:
        raise Rejection("E_CHANGE_DATE_FUTURE", f"{cd.canonical()}（受付日 {received_on.isoformat()}）")
    source = n.record if n.record is not None else (current.record if current is not None else None)
    birth = source.get("birth_date") if source is not None else None
    if not isinstance(birth, JukiDate):
        return
    if n.reason is _R.BIRTH and birth != cd:
        raise Rejection("E_BIRTH_DATE_MISMATCH", f"異動年月日 {cd.canonical()}、生年月日 {birth.canonical()}")
    cd_date, birth_date = cd.to_date(), birth.to_date()
    if cd_date is not None and birth_date is not None and cd_date < birth_date:
        raise Rejection(
            "E_CHANGE_DATE_BEFORE_BIRTH", f"異動年月日 {cd.canonical()}、生年月日 {birth.canonical()}"
        )


def _check_code_change(n: Notification, new_code_exists: bool) -> None:
    if n.new_juminhyo_code == n.juminhyo_code:
        raise Rejection("E_JUMINHYO_CODE_SAME")
    if new_code_exists:
        raise Rejection("E_JUMINHYO_CODE_IN_USE", n.new_juminhyo_code)


def _check_reason_state(n: Notification, current: PersonState | None, record: Mapping[str, object]) -> None:
    if n.file is FileKind.PREF:
        _check_former_surname(n, current, record)
    else:
        _check_abroad(n, current, record)


def _check_former_surname(n: Notification, current: PersonState | None, record: Mapping[str, object]) -> None:
    has_new = record.get("former_surname_kanji", "") != ""
    if has_new != (record.get("former_surname_kana", "") != ""):
        raise Rejection("E_FORMER_SURNAME_STATE", "旧氏の漢字とふりがなは両方指定するか、両方空にします")
    if n.reason not in _FORMER_SURNAME_REASONS:
        return
    assert current is not None  # 旧氏 reasons are 修正: _check_person guarantees a present person
    has_old = current.record.get("former_surname_kanji", "") != ""
    if n.reason is _R.FORMER_SURNAME_ENTRY and (has_old or not has_new):
        raise Rejection("E_FORMER_SURNAME_STATE", "旧氏の記載は旧氏が未記載の者に旧氏を記載します")
    if n.reason is _R.FORMER_SURNAME_CHANGE and not (has_old and has_new):
        raise Rejection("E_FORMER_SURNAME_STATE", "旧氏の変更は旧氏が記載済みの者の旧氏を変更します")
    if n.reason is _R.FORMER_SURNAME_REMOVAL and (not has_old or has_new):
        raise Rejection("E_FORMER_SURNAME_STATE", "旧氏の削除は記載済みの旧氏を削除します")


def _check_abroad(n: Notification, current: PersonState | None, record: Mapping[str, object]) -> None:
    abroad_after = is_abroad_shaped(record)
    if current is None or not is_present(n.file, current.status):
        return  # a 記載: the record may be either shape, the transition follows it
    abroad_now = FuhyoStatus(current.status) is FuhyoStatus.ABROAD
    if n.reason is _R.OVERSEAS_MOVE_OUT:
        if abroad_now:
            raise Rejection("E_ABROAD_STATE", "既に国外転出者です")
        if not abroad_after:
            raise Rejection("E_ABROAD_STATE", "国外転出では住所 市町村コードを空にし、最終住所を記録します")
    elif n.reason is _R.OVERSEAS_MOVE_IN:
        if not abroad_now:
            raise Rejection("E_ABROAD_STATE", "国外転入等は国外転出者に対してのみ通知します")
        if abroad_after:
            raise Rejection("E_ABROAD_STATE", "国外転入等では国内の住所 市町村コードを記録します")
    elif n.reason is _R.DOMESTIC_MOVE_OUT and abroad_now:
        raise Rejection("E_ABROAD_STATE", "国外転出者に国内転出は通知できません")
    elif n.reason in (_R.DOMESTIC_MOVE_IN, _R.DOMESTIC_MOVE_OUT):
        if abroad_after:
            raise Rejection("E_ABROAD_STATE", "国内の異動では国内の住所 市町村コードを記録します")
    elif abroad_after != abroad_now:
        raise Rejection("E_ABROAD_STATE", "国外転出者の状態は転出・転入の異動事由でのみ変わります")


def _changed_items(file: FileKind, before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """Notified items whose value differs (JukiDate compares by value, not by the text it was read from)."""
    return [i for i in notified_items(file) if after.get(i, "") != before.get(i, "")]


#: What identifies a person returning to an ended 住民票コード (the 個人番号 is checked on its own).
_REENTRY_IDENTITY_ITEMS: Final = ("birth_date", "sex")


def _check_reentry(n: Notification, current: PersonState, record: Mapping[str, object]) -> None:
    """A 記載 for an ended record: the same person returns (hardening issue, item 14)."""
    previous = current.record.get("my_number", "")
    if previous and record.get("my_number", "") != previous:
        raise Rejection(
            "E_MY_NUMBER_CHANGE_REASON", f"異動事由「{n.reason.label}」（消除前の個人番号と異なります）"
        )
    differing = [i for i in _REENTRY_IDENTITY_ITEMS if record.get(i, "") != current.record.get(i, "")]
    if differing:
        raise Rejection("E_REENTRY_IDENTITY", _label(differing))


def _check_changes(
    n: Notification, rule: ReasonRule, current: PersonState, record: Mapping[str, object]
) -> None:
    changed = _changed_items(n.file, current.record, record)
    if n.file is FileKind.PREF:
        if "my_number" in changed and n.reason not in MY_NUMBER_REASONS:
            raise Rejection("E_MY_NUMBER_CHANGE_REASON", f"異動事由「{n.reason.label}」")
        if n.reason in MY_NUMBER_REASONS and "my_number" not in changed:
            raise Rejection("E_MY_NUMBER_UNCHANGED")
    not_allowed = [i for i in changed if i not in rule.changeable]
    if not_allowed:
        code = "E_RELOCATION_NON_ADDRESS" if n.reason is _R.RELOCATION else "E_ITEMS_NOT_CHANGEABLE"
        raise Rejection(code, _label(not_allowed))
    if rule.klass is ReasonClass.CORRECTION and rule.changeable and not changed:
        raise Rejection("E_NO_CHANGE", f"異動事由「{n.reason.label}」")


# ---------------------------------------------------------------------------------------------
# transition
# ---------------------------------------------------------------------------------------------


def transition(n: Notification, current: PersonState | None) -> Transition:
    """The state after applying ``n``, which :func:`check_notification` must have accepted.

    A 消除 keeps the current record (a record sent with it was checked to be identical); a 修正 without a
    record (a reason that changes no notified item) keeps the current record too.
    """
    rule = rule_for(n.reason, n.file)
    if rule.klass is ReasonClass.ENTRY:
        if n.record is None:
            raise ValueError("a 記載 notification always carries a record")
        return Transition(_status_for(n.file, n.record), None, n.record, ends_old_code=False)
    if current is None:
        raise ValueError("修正/消除 needs the current state; check_notification rejects it")
    if rule.klass is ReasonClass.REMOVAL:
        end_kind = EndKind.DEATH if n.reason is _R.DEATH else EndKind.REMOVED
        ended = RecordStatus.ENDED.value if n.file is FileKind.PREF else FuhyoStatus.ENDED.value
        return Transition(ended, end_kind, current.record, ends_old_code=False)
    record = n.record if n.record is not None else current.record
    status = _status_for(n.file, n.record) if n.record is not None else current.status
    return Transition(status, None, record, ends_old_code=n.reason in JUMINHYO_CODE_REASONS)


def _status_for(file: FileKind, record: Mapping[str, object]) -> str:
    if file is FileKind.PREF:
        return RecordStatus.PRESENT.value
    return (FuhyoStatus.ABROAD if is_abroad_shaped(record) else FuhyoStatus.DOMESTIC).value
