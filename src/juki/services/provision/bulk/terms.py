"""What a bulk job may do: its requester, task, method, the keys it may use and the items a match gives.

A job is read against the legal-basis catalog when it is submitted and again when it runs (a task that
ended meanwhile answers P_NOT_PERMITTED for every row: S-22, processing ran and provision was refused,
and that is recorded). The other bulk modules never look at the catalog: they take a :class:`BulkTerms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from juki.domain.provision import NEVER_PROVIDED, KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access.actor import Actor
from juki.services.provision.bulk.jobs import Sender
from juki.services.provision.catalog import Catalog
from juki.services.provision.records import Basis, Recorder

__all__ = ["LINE_TERMINAL", "BulkTerms", "UnknownTask", "terms_for"]

#: How the provision records name the "terminal" of a line-linkage exchange.
LINE_TERMINAL = "回線連携"


class UnknownTask(LookupError):
    """The requester or its task is not in the catalog in force (E_BULK_TASK)."""


@dataclass(frozen=True)
class BulkTerms:
    """One requester's task on one file, by one method, as the catalog in force allows it.

    ``refusal`` is None when the catalog allows the task on this file, by this method, today; otherwise
    every row of the job is answered with it.
    """

    file: FileKind
    requester_code: str
    requester_name: str
    task_code: str
    task_name: str
    method: Method
    keys: frozenset[KeyType]
    items: tuple[str, ...]
    basis: Basis
    refusal: ResultCode | None = None

    def __post_init__(self) -> None:
        spec = file_spec(self.file)
        bad = [i for i in self.items if i in NEVER_PROVIDED or i not in spec.provided_items]
        if bad:
            raise ValueError(f"items outside {spec.label}'s provided items: {bad}")

    @property
    def allowed_keys(self) -> frozenset[KeyType]:
        """The keys the file can answer and the task allows (File 2 holds no 個人番号)."""
        if not file_spec(self.file).holds_my_number:
            return self.keys - {KeyType.MY_NUMBER}
        return self.keys

    @staticmethod
    def recorder(actor: Actor | None, sender: Sender | None) -> Recorder:
        """Who the provision records name: the operator at their terminal, or the line agent."""
        if actor is not None:
            return Recorder(actor.operator_id, actor.login, actor.terminal_id, actor.terminal_name)
        name = sender.peer_name if sender is not None and sender.peer_name else "console"
        return Recorder(None, f"line:{name}", None, LINE_TERMINAL)


def terms_for(
    catalog: Catalog, file: FileKind, requester_code: str, task_code: str, method: Method, today: date
) -> BulkTerms:
    """The terms of a job from the catalog in force; UnknownTask when it names no task of the requester."""
    task = catalog.task(requester_code, task_code)
    if task is None:
        raise UnknownTask(f"{requester_code}/{task_code}")
    keys = frozenset(task.keys_for(file))
    refusal: ResultCode | None
    if file not in task.items or not task.valid_on(today):
        refusal = ResultCode.NOT_PERMITTED
    elif method not in task.methods_for(file):
        refusal = ResultCode.METHOD_NOT_ALLOWED
    else:
        refusal = None
    return BulkTerms(
        file=file,
        requester_code=task.requester.code,
        requester_name=task.requester.name,
        task_code=task.code,
        task_name=task.name,
        method=method,
        keys=keys,
        items=tuple(i for i in task.items.get(file, ()) if i not in NEVER_PROVIDED),
        basis=Basis.of(task, file, catalog.version),
        refusal=refusal,
    )
