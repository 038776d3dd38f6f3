"""Who is acting, and on what: the vocabulary shared by rights checks, the operation log and the
terminal services (ARCHITECTURE.md §5; REQUIREMENTS S-07, S-15, S-16).

An `Actor` is built by the terminal layer for each request from the signed-in session (operator,
roles currently granted in the rights ledger) and the registered terminal it came from. Services
take an `Actor` and never look at HTTP objects, so the same rule holds for the web UI, the CLI and
tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from juki.domain.records import FileKind


class TerminalKind(StrEnum):
    """代表端末 (shared, representative) or 業務端末 (a department's business terminal)."""

    REPRESENTATIVE = "representative"
    BUSINESS = "business"


class Function(StrEnum):
    """The functions the permission matrix (data/permissions.toml) speaks of."""

    SEARCH = "search"  # 4情報 search (F1-6, F2-6)
    VIEW_RECORD = "view_record"  # open one person's record with its history
    OUTPUT = "output"  # print / export of personal data
    LOG_REVIEW = "log_review"  # operation log review (auditors, S-17)
    RIGHTS_ADMIN = "rights_admin"  # approve / revoke access rights (S-08, S-09)
    RIGHTS_APPLY = "rights_apply"  # apply for a right (any signed-in operator)
    RIGHTS_INVENTORY = "rights_inventory"  # the inventory report (S-11)
    OPERATOR_ADMIN = "operator_admin"  # register operators, reset credentials
    TERMINAL_ADMIN = "terminal_admin"  # register terminals
    JLIS_QUERY = "jlis_query"  # query to J-LIS: 全国サーバ / 附票全国サーバ (F1-5, F2-5)
    RECONCILIATION_REVIEW = "reconciliation_review"  # results of the consistency check (F1-7, F2-7)
    SIGN_IN = "sign_in"  # authentication events (S-01..S-03), logged like any operation
    LOOKUP = "lookup"  # open a record by 住民票コード or 個人番号 (F1-6, F2-6 direct look-up)
    MY_NUMBER_VIEW = "my_number_view"  # show a masked 個人番号 on a record page (File 1 only)
    PRINT = "print"  # print one record as a 照会結果票 (an output, without media: no bulk terminal)
    STATISTICS = "statistics"  # statistics of the file and counts of the server's work (F1-8, REC-10)
    DISCLOSURE = "disclosure"  # disclosure requests and their forms (F1-3, F2-3, S-55)
    CORRECTION_REQUEST = "correction_request"  # correction / addition / deletion cases (F1-4, F2-4)
    INQUIRY_LOG = "inquiry_log"  # the inquiry log (REC-7, S-60)
    PROVISION = "provision"  # provision / transfer to a requester (F1-2, F2-2); roles bound to a requester
    BULK_SUBMIT = "bulk_submit"  # bulk provision: submit a request file, fetch its result (F1-2b, S-29)
    BULK_APPROVE = "bulk_approve"  # the requester's head approves a large bulk output (S-26)
    MEDIA_OUTPUT = "media_output"  # write a bulk result to a registered medium (S-29, S-30, S-23)
    JOBS_ADMIN = "jobs_admin"  # the scheduled jobs, backup register and retention table page
    GAIJI_ADMIN = "gaiji_admin"  # the 外字 registry: propose / approve a glyph (DOMAIN §7, four eyes)


#: How the permission matrix and the operation log write "touches neither file" (a function such
#: as sign-in or rights administration); in code that is `None`, a file is a `FileKind`.
NO_FILE: Final = "-"


def file_scope(value: FileKind | str | None) -> FileKind | None:
    """A file scope from its text: a FileKind value, or "-" / None for "touches neither file".

    Raises ValueError on anything else, so a typo in the permission matrix cannot open a door."""
    if value is None or value == NO_FILE:
        return None
    return FileKind(value)


def scope_text(file: FileKind | None) -> str:
    """The text a file scope is stored and matched as."""
    return file.value if file is not None else NO_FILE


class Outcome(StrEnum):
    """How an operation ended, as written to the operation log."""

    ALLOW = "allow"  # permitted and carried out
    DENY = "deny"  # refused by the permission matrix / rights ledger
    REJECTED = "rejected"  # permitted but refused on its input (e.g. S-25 minimum conditions unmet)
    FAILURE = "failure"  # authentication failure, lockout
    ERROR = "error"  # an unexpected failure while carrying it out


@dataclass(frozen=True)
class Actor:
    """An operator at a terminal, with the roles the rights ledger grants them right now.

    The operation log does not take the operator and terminal named here on trust: an actor of a
    signed-in session carries the session's secret (`session_secret`, built only by
    services/access/sessions.py, kept out of repr and comparison), from which the database finds
    the session and writes *its* operator and terminal (migration 0018). An actor with no session
    works through a system channel (`system`: "console" for `juki … --as LOGIN`, "bench"), logged
    as that system with the login only claimed.
    """

    operator_id: int
    login: str
    roles: frozenset[str]
    terminal_id: int
    terminal_name: str
    terminal_kind: TerminalKind
    bulk_enabled: bool
    session_id: str | None = None
    session_secret: str | None = field(default=None, repr=False, compare=False)
    system: str | None = None
