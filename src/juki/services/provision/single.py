"""Single provision and transfer at a terminal (REQUIREMENTS F1-2, F2-2, S-21, S-22, S-27, S-29, S-35..S-37).

An operator of a requesting organ or department (a grant ``provision_operator@<requester>``) picks one
of the requester's tasks, a key the task allows and a method, and gets **exactly** the person the key
identifies (S-27): one match is provided with the task's items only (never 住民票コード); no match,
several candidates, a key or method the task does not allow, another requester's task, a task not
valid today — each is a result code (docs/provision.md), never a list to choose from. Persons not in
the prefecture's file are asked of the 全国サーバ / 附票全国サーバ (F1-5 / F2-5 client, function F1-2 /
F2-2 in the communication record).

Every call that reaches the catalog leaves, in one transaction, one operation-log row (function
``provision``) and one provision record (S-21; refusals too, S-22) pointing at it. An operator with
no provision role at all is refused before anything runs (``T_FORBIDDEN``, logged as deny).

F2-2's 個人番号 add-on, for tasks that allow it and 国外転出者 only: a request row in the operation log
(event ``my_number_request``, written through the operator's live session), then the bridge
``pref_api.release_my_number_for_provision(seq)`` checks that row, the operator's grant and the
catalog, and puts the number into the temporary area (S-36); it is read back from there into this
answer only, and stays there for :func:`redeliver` until it expires (< 1 year, R-05, R-06).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.codes import normalize_digits
from juki.domain.items import item_label
from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import FileSpec, file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome, TerminalKind
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation
from juki.services.jlis.client import (
    Basic4,
    JlisClient,
    JlisError,
    Match,
    QueryConditionsError,
    SearchKeys,
    TooManyMatches,
)
from juki.services.jlis.communication_records import Requester as CommRequester
from juki.services.jlis.local_first import FORWARDING, Source, search_local
from juki.services.jlis.relay import Peer
from juki.services.provision import records
from juki.services.provision.catalog import Catalog, Task, load_catalog
from juki.services.provision.records import Basis
from juki.services.search.conditions import NameMatch

__all__ = [
    "NOT_SUBJECT",
    "ProvidedItem",
    "ProvisionRequest",
    "ProvisionResult",
    "in_provision_subject",
    "provide",
    "redeliver",
]

#: The reason recorded with 該当なし for a person outside the file's provision subject (File 2: not a
#: 国外転出者). The requester sees only 該当なし: the task gives no right to learn that such a person exists.
NOT_SUBJECT = "not_subject"
#: The J-LIS client's "more than this is too many": one, since anything beyond one is ambiguous.
_ONE = 1
_NAME_PARTS = ("full", "family", "given")


@dataclass(frozen=True)
class ProvisionRequest:
    """What the operator entered, as text (a form post or a test)."""

    file: FileKind
    requester: str
    task: str
    key_type: str  # KeyType value
    method: str  # Method value
    juminhyo_code: str = ""
    my_number: str = ""
    name_kana: str = ""
    name_part: str = "full"
    name_match: str = NameMatch.EXACT.value
    birth_date: str = ""
    sex: str = ""
    address: str = ""
    with_my_number: bool = False  # F2-2 add-on asked for
    requester_ref: str = ""  # the requester's own reference (文書番号 etc.)


@dataclass(frozen=True)
class ProvidedItem:
    column: str
    label: str
    value: str


@dataclass(frozen=True)
class ProvisionResult:
    """The answer: the result code, and the task's items only when it is P_MATCH."""

    file: FileKind
    result: ResultCode
    reason: str
    requester_name: str
    task_name: str
    legal_basis: str
    method: Method | None
    items: tuple[ProvidedItem, ...]
    source: str | None
    record_id: int
    log_id: int
    my_number_added: bool = False  # F2-2: the number came through the temporary area (re-deliverable)

    @property
    def provided(self) -> bool:
        return self.result.provided

    @property
    def message(self) -> str:
        return self.result.message_ja


@dataclass
class _Answer:
    """What the decision found, before it is recorded."""

    basis: Basis
    key_type: KeyType | None = None
    method: Method | None = None
    result: ResultCode = ResultCode.INVALID
    reason: str = ""
    juminhyo_code: str | None = None
    values: tuple[ProvidedItem, ...] = ()
    source: str | None = None
    my_number_ref: str | None = None


def _outcome(result: ResultCode) -> Outcome:
    if result is ResultCode.MATCH:
        return Outcome.ALLOW
    if result is ResultCode.NOT_PERMITTED:
        return Outcome.DENY
    if result is ResultCode.UNAVAILABLE:
        return Outcome.ERROR
    return Outcome.REJECTED


def _enum(kind: type[KeyType] | type[Method], value: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        return None


def _keys(request: ProvisionRequest, key_type: KeyType) -> SearchKeys:
    """The search keys; QueryConditionsError for a malformed form."""
    if key_type is KeyType.RESIDENT_CODE:
        return SearchKeys(juminhyo_code=normalize_digits(request.juminhyo_code.strip()))
    if key_type is KeyType.MY_NUMBER:
        return SearchKeys(my_number=normalize_digits(request.my_number.strip()))
    if request.name_part not in _NAME_PARTS:
        raise QueryConditionsError("E_QUERY_VALUE", "氏名の区分が正しくありません")
    try:
        match = NameMatch(request.name_match)
    except ValueError:
        raise QueryConditionsError("E_QUERY_VALUE", "一致方法が正しくありません") from None
    part = request.name_part
    return SearchKeys(
        basic4=Basic4(
            name_kana=request.name_kana if part == "full" else None,
            family_kana=request.name_kana if part == "family" else None,
            given_kana=request.name_kana if part == "given" else None,
            name_match=match,
            birth_date=request.birth_date,
            sex=request.sex,
            address=request.address,
        )
    )


def _logged_keys(request: ProvisionRequest) -> dict[str, str]:
    """What the log row says of the keys (S-16, like the 4情報 search): the 4情報 or the 住民票コード
    as entered; never the 個人番号 (its log row says only that one was given)."""
    if request.key_type == KeyType.RESIDENT_CODE.value:
        return {"juminhyo_code": request.juminhyo_code.strip()}
    if request.key_type == KeyType.MY_NUMBER.value:
        return {"my_number": "(entered)" if request.my_number.strip() else ""}
    entered = {
        "name_kana": request.name_kana,
        "name_part": request.name_part,
        "name_match": request.name_match,
        "birth_date": request.birth_date,
        "sex": request.sex,
        "address": request.address,
    }
    return {k: v for k, v in entered.items() if v.strip()}


def _check_reason(task: Task, file: FileKind, today: date, result: ResultCode) -> str:
    if result is ResultCode.NOT_PERMITTED:
        return "file" if file not in task.items else "validity"
    return {ResultCode.KEY_NOT_ALLOWED: "key", ResultCode.METHOD_NOT_ALLOWED: "method"}.get(result, "")


def _values(task: Task, spec: FileSpec, record: Mapping[str, Any]) -> tuple[ProvidedItem, ...]:
    return tuple(
        ProvidedItem(column, item_label(column), "" if record.get(column) is None else str(record[column]))
        for column in task.items[spec.kind]
    )


def _find(
    conn: psycopg.Connection[Any],
    records_conn: psycopg.Connection[Any] | None,
    actor: Actor,
    spec: FileSpec,
    keys: SearchKeys,
    peer: Callable[[], Peer] | None,
    answer: _Answer,
) -> Match | None:
    """S-27: the one person the keys identify (own file first, then J-LIS), or None with the result set.

    Only the file's provision subject counts (``FileSpec.provision_subject``; File 2: 国外転出者): a
    person outside it is not there for the requester — 該当なし, reason ``not_subject`` in the record —
    and one of our own present persons outside it is never asked of J-LIS either."""
    try:
        local = search_local(conn, spec.kind, keys, max_matches=_ONE, provision_subject=True)
    except TooManyMatches:
        answer.result, answer.reason, answer.source = ResultCode.AMBIGUOUS, "local", Source.LOCAL.value
        return None
    except QueryConditionsError as exc:
        answer.result, answer.reason = ResultCode.INVALID, exc.code
        return None
    if local:
        answer.source = Source.LOCAL.value
        return local[0]
    if spec.provision_subject is not None and _present_outside_subject(conn, spec, keys):
        answer.result, answer.reason, answer.source = ResultCode.NOT_FOUND, NOT_SUBJECT, Source.LOCAL.value
        return None
    answer.source = Source.NATIONAL.value
    if peer is None or records_conn is None:
        answer.result, answer.reason = ResultCode.UNAVAILABLE, "not_configured"
        return None
    try:
        server = peer()
    except Refusal as refused:
        answer.result, answer.reason = ResultCode.UNAVAILABLE, refused.code
        return None
    try:
        with JlisClient(server, spec.kind, records_conn, requester=CommRequester(actor=actor)) as client:
            found = client.query(keys, function=FORWARDING).matches
    except TooManyMatches:
        answer.result, answer.reason = ResultCode.AMBIGUOUS, "national"
        return None
    except QueryConditionsError as exc:
        answer.result, answer.reason = ResultCode.INVALID, exc.code
        return None
    except JlisError as exc:
        answer.result, answer.reason = ResultCode.UNAVAILABLE, exc.code
        return None
    subject = [m for m in found if in_provision_subject(spec, m.record)]
    if len(subject) > 1:
        answer.result, answer.reason = ResultCode.AMBIGUOUS, "national"
        return None
    if not subject:
        answer.result, answer.reason = ResultCode.NOT_FOUND, NOT_SUBJECT if found else ""
        return None
    return subject[0]


def _present_outside_subject(conn: psycopg.Connection[Any], spec: FileSpec, keys: SearchKeys) -> bool:
    """Whether the keys find a present person of our own file (called when none of the subject matched)."""
    try:
        return bool(search_local(conn, spec.kind, keys, max_matches=_ONE))
    except TooManyMatches:
        return True


def in_provision_subject(spec: FileSpec, record: Mapping[str, Any]) -> bool:
    """Whether a person's record (as a source holds it, with its ``status``) is one provision may be about."""
    return spec.provision_subject is None or record.get("status") in spec.provision_subject


def _release_my_number(
    conn: psycopg.Connection[Any], actor: Actor, spec: FileSpec, task: Task, code: str, answer: _Answer
) -> ProvidedItem | None:
    """F2-2: ask the bridge for the 国外転出者's number against a logged request; read it back from the
    temporary area. None (with the result set) when it is not given."""
    if spec.my_number_addon_status is None or spec.my_number_area is None or not task.my_number_addon:
        answer.result, answer.reason = ResultCode.NO_MY_NUMBER, "task"
        return None
    if answer.source != Source.LOCAL.value:
        answer.result, answer.reason = ResultCode.NO_MY_NUMBER, "other_prefecture"
        return None
    status = conn.execute(
        sql.SQL("SELECT status FROM {} WHERE juminhyo_code = %s").format(sql.SQL(spec.current)), (code,)
    ).fetchone()
    if status is None or status[0] != spec.my_number_addon_status:
        answer.result, answer.reason = ResultCode.NO_MY_NUMBER, "not_abroad"
        return None
    request_seq = record_operation(
        conn,
        actor,
        function=Function.PROVISION,
        file=spec.kind,
        outcome=Outcome.ALLOW,
        target=code,
        detail={"event": "my_number_request", "requester": task.requester.code, "task": task.code},
    )
    released = conn.execute("SELECT pref_api.release_my_number_for_provision(%s)", (request_seq,)).fetchone()
    ref = f"oplog:{request_seq}"
    number = None
    if released is not None and released[0]:
        row = conn.execute(
            sql.SQL("SELECT my_number FROM {} WHERE request_ref = %s").format(sql.SQL(spec.my_number_area)),
            (ref,),
        ).fetchone()
        number = None if row is None else str(row[0])
    if number is None:
        answer.result, answer.reason = ResultCode.NO_MY_NUMBER, "bridge"
        return None
    answer.my_number_ref = ref
    return ProvidedItem("my_number", item_label("my_number"), number)


def _decide(
    conn: psycopg.Connection[Any],
    records_conn: psycopg.Connection[Any] | None,
    actor: Actor,
    request: ProvisionRequest,
    catalog: Catalog,
    today: date,
    peer: Callable[[], Peer] | None,
) -> _Answer:
    spec = file_spec(request.file)
    answer = _Answer(Basis(requester_code=request.requester[:64], task_code=request.task[:64]))
    answer.key_type = _enum(KeyType, request.key_type)
    answer.method = _enum(Method, request.method)
    answer.result = ResultCode.NOT_PERMITTED
    requester = catalog.requester(request.requester)
    if requester is None or requester.code not in permissions.bindings(actor, Function.PROVISION, spec.kind):
        answer.reason = "requester"
        return answer
    task = catalog.task(requester.code, request.task)
    if task is None:
        answer.reason = "task"
        return answer
    answer.basis = Basis.of(task, spec.kind, catalog.version)
    if answer.key_type is None or answer.method is None:
        answer.result, answer.reason = ResultCode.INVALID, "form"
        return answer
    refused = catalog.check(task, spec.kind, answer.key_type, answer.method, today)
    if refused is not None:
        answer.result, answer.reason = refused, _check_reason(task, spec.kind, today, refused)
        return answer
    # S-29: output to media only from a 代表端末 or a bulk-enabled 業務端末.
    if answer.method in (Method.MEDIA, Method.FLASH) and not (
        actor.bulk_enabled or actor.terminal_kind is TerminalKind.REPRESENTATIVE
    ):
        answer.result, answer.reason = ResultCode.METHOD_NOT_ALLOWED, "terminal"
        return answer
    if request.with_my_number and not task.my_number_addon:
        answer.result, answer.reason = ResultCode.NO_MY_NUMBER, "task"
        return answer
    try:
        keys = _keys(request, answer.key_type)
    except QueryConditionsError as exc:
        answer.result, answer.reason = ResultCode.INVALID, exc.code
        return answer
    match = _find(conn, records_conn, actor, spec, keys, peer, answer)
    if match is None:
        return answer
    answer.juminhyo_code = match.juminhyo_code
    values = _values(task, spec, match.record)
    if request.with_my_number:
        number = _release_my_number(conn, actor, spec, task, match.juminhyo_code, answer)
        if number is None:
            return answer
        values = (*values, number)
    answer.result, answer.reason, answer.values = ResultCode.MATCH, "", values
    return answer


def _finish(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    answer: _Answer,
    *,
    event: str,
    requester_ref: str,
    extra: Mapping[str, object] | None = None,
) -> ProvisionResult:
    """One operation-log row and one provision record, in the caller's transaction."""
    basis = answer.basis
    log_id = record_operation(
        conn,
        actor,
        function=Function.PROVISION,
        file=file,
        outcome=_outcome(answer.result),
        target=answer.juminhyo_code,
        detail={
            "event": event,
            "requester": basis.requester_code,
            "task": basis.task_code,
            "key_type": answer.key_type.value if answer.key_type else None,
            "method": answer.method.value if answer.method else None,
            "result": answer.result.value,
            "reason": answer.reason,
            "source": answer.source,
            "items": [v.column for v in answer.values],
            "catalog_version": basis.catalog_version,
            **(extra or {}),
        },
    )
    record_id = records.record_provision(
        conn,
        file,
        actor,
        basis,
        key_type=answer.key_type,
        method=answer.method,
        result=answer.result,
        juminhyo_code=answer.juminhyo_code,
        items=[v.column for v in answer.values],
        my_number_added=answer.my_number_ref is not None and answer.result.provided,
        source=answer.source,
        reason=answer.reason,
        requester_ref=requester_ref,
        op_log_seq=log_id,
        my_number_ref=answer.my_number_ref if answer.result.provided else None,
    )
    return ProvisionResult(
        file=file,
        result=answer.result,
        reason=answer.reason,
        requester_name=basis.requester_name or basis.requester_code,
        task_name=basis.task_name or basis.task_code,
        legal_basis=basis.legal_basis,
        method=answer.method,
        items=answer.values if answer.result.provided else (),
        source=answer.source,
        record_id=record_id,
        log_id=log_id,
        my_number_added=answer.my_number_ref is not None and answer.result.provided,
    )


def provide(
    conn: psycopg.Connection[Any],
    actor: Actor,
    request: ProvisionRequest,
    *,
    records_conn: psycopg.Connection[Any] | None = None,
    peer: Callable[[], Peer] | None = None,
    today: date | None = None,
) -> ProvisionResult:
    """F1-2 / F2-2 for one person. ``conn`` is an autocommit connection as the file's role;
    ``records_conn`` another one for the J-LIS communication records (committed whatever happens
    here) and ``peer`` the J-LIS server (:func:`juki.services.jlis.operator_query.configured_peer`),
    both needed only for persons of other prefectures. Raises ``T_FORBIDDEN`` (logged) for an
    operator who acts for no requester; every other outcome is a :class:`ProvisionResult`."""
    day = today or date.today()

    def body() -> ProvisionResult:
        permissions.require(actor, Function.PROVISION, request.file)
        catalog = load_catalog(conn)
        answer = _decide(conn, records_conn, actor, request, catalog, day, peer)
        return _finish(
            conn,
            actor,
            request.file,
            answer,
            event="provision",
            requester_ref=request.requester_ref,
            extra={"with_my_number": request.with_my_number, "conditions": _logged_keys(request)},
        )

    return guarded(conn, body, actor=actor, function=Function.PROVISION, event="provision", file=request.file)


def redeliver(conn: psycopg.Connection[Any], actor: Actor, file: FileKind, record_id: int) -> ProvisionResult:
    """R-05: the recipient reported a failed receipt of a provision with the 個人番号 add-on; deliver
    it again from the temporary area while the number lives there (else P_NO_MY_NUMBER, reason
    ``expired``). Only an operator of the same requester may; the other items are read anew."""
    spec = file_spec(file)

    def body() -> ProvisionResult:
        permissions.require(actor, Function.PROVISION, file)
        row = conn.execute(
            sql.SQL(
                "SELECT requester_code, task_code, juminhyo_code, items, key_type, method, result_code,"
                " my_number_ref, requester_ref FROM {} WHERE id = %s"
            ).format(sql.SQL(spec.provision_record)),
            (record_id,),
        ).fetchone()
        catalog = load_catalog(conn)
        if row is None:
            raise Refusal("T_RECORD_NOT_FOUND")
        requester, task_code, code, items, key_type, method, result, ref, requester_ref = row
        task = catalog.task(requester, task_code)
        answer = _Answer(
            Basis(requester_code=requester, task_code=task_code)
            if task is None
            else Basis.of(task, file, catalog.version),
            key_type=_enum(KeyType, key_type),
            method=_enum(Method, method),
            juminhyo_code=code,
            source=Source.LOCAL.value,
            result=ResultCode.NOT_PERMITTED,
            reason="requester",
        )
        if requester not in permissions.bindings(actor, Function.PROVISION, file) or task is None:
            return _finish(
                conn, actor, file, answer, event="provision_redelivery", requester_ref=requester_ref
            )
        answer.result, answer.reason = ResultCode.NO_MY_NUMBER, "not_added"
        number = None
        if result == ResultCode.MATCH.value and ref is not None and spec.my_number_area is not None:
            found = conn.execute(
                sql.SQL("SELECT my_number FROM {} WHERE request_ref = %s").format(
                    sql.SQL(spec.my_number_area)
                ),
                (ref,),
            ).fetchone()
            answer.reason = "expired" if found is None else ""
            number = None if found is None else str(found[0])
        if number is not None:
            with conn.cursor(row_factory=dict_row) as cur:
                current = cur.execute(
                    sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s").format(sql.SQL(spec.current)),
                    (code,),
                ).fetchone()
            record = current or {}
            answer.values = (
                *(v for v in _values(task, spec, record) if v.column in items),
                ProvidedItem("my_number", item_label("my_number"), number),
            )
            answer.result, answer.my_number_ref = ResultCode.MATCH, ref
        return _finish(
            conn,
            actor,
            file,
            answer,
            event="provision_redelivery",
            requester_ref=requester_ref,
            extra={"redelivery_of": record_id},
        )

    return guarded(
        conn,
        body,
        actor=actor,
        function=Function.PROVISION,
        event="provision_redelivery",
        file=file,
        target=f"provision_record:{record_id}",
    )
