"""The optional part of the provision-status statement (S-55): the prefecture staff's views of the
person's record, read from the operation log "as Estonia's data tracker does".

Off by default (``Settings.disclose_staff_views``, JUKI_DISCLOSE_STAFF_VIEWS); when on, the counter
passes :func:`staff_views_from_log` to ``issue_provision_status``. What is listed is what
``audit.review.entries_for_target`` calls "who looked at this resident": record views, searches that
showed the person, outputs, J-LIS queries and reconciliation reviews — only those that were carried
out (a refused attempt showed nothing). Each view names the staff's department
(the configured prefecture's ``Offices.staff_department``) and the log's sequence number, never the operator:
architecture note 69 says why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Final

import psycopg

from juki.domain.records import FileKind
from juki.services.access.actor import Outcome
from juki.services.audit.review import MAX_PAGE, LogSort, entries_for_target
from juki.services.disclosure.issue import StaffView

__all__ = ["staff_views_from_log"]

_JST: Final = timezone(timedelta(hours=9))


def staff_views_from_log(
    term: psycopg.Connection[Any], file: FileKind, department: str
) -> Callable[[str, date], list[StaffView]]:
    """The staff views of a person on ``file`` since a day (JST), oldest first; ``term`` is a
    connection that may read the operation log (juki_term); ``department`` is how each view names
    the staff (``Offices.staff_department``)."""

    def read(code: str, since: date) -> list[StaffView]:
        start = datetime.combine(since, time.min, tzinfo=_JST)
        views: list[StaffView] = []
        offset = 0
        while True:
            page = entries_for_target(
                term, file, code, since=start, limit=MAX_PAGE, offset=offset, sort=LogSort.OLDEST
            )
            views.extend(
                StaffView(at=e.at, function=e.function, department=department, reference=e.seq)
                for e in page.entries
                if e.outcome == Outcome.ALLOW.value
            )
            offset += len(page.entries)
            if not page.entries or offset >= page.total:
                return views

    return read
