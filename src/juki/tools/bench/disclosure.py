"""`juki bench disclosure`: the signed disclosure PDFs of one person (F1-3, S-55) against the bare reads.

On the benchmark database (loaded with the ordinary loader when it holds fewer persons than asked),
one present person of File 1 gets ``provisions`` provision records (services/provision/records, as a
provision would write them, one in ten a refusal that the statement leaves out). Then, ``iterations``
times each:

* **disclosure** — the whole counter path: register the request, match it (the one 4情報 matcher),
  issue the D1-PS items (rights, register, operation log), lay out the form and sign it (PAdES);
* **provision status** — the same for the provision-status statement listing every provision.

**Baseline**, in the same run: the bare SELECTs of the same data (the person's row, their provision
records), no service, no log, no PDF. Target: p99 ≤ 500 ms for the provision-status PDF with 1,000
records on 2 cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Final

from juki.config import Settings
from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.domain.rights import RequestKind
from juki.files import PREF
from juki.interfaces.disclosure_forms import disclosure_form, provision_status_form
from juki.interfaces.forms import document_signer, render_form, sign_pdf
from juki.services.access.actor import Actor, TerminalKind
from juki.services.access.pki import Pki
from juki.services.disclosure.issue import issue_disclosure, issue_provision_status
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.provision_source import provision_lines
from juki.services.disclosure.requests import RequestInput, register_request
from juki.services.provision.records import Basis, record_provision
from juki.store.db import Database
from juki.tools.bench.registry import bench_load, machine, peak_rss_mib

__all__ = ["bench_disclosure"]

_BASIS: Final = Basis(
    requester_code="bench-organ",
    requester_name="神奈川県教育委員会",
    requester_kind="organ",
    task_code="bench-task",
    task_name="特別支援学校への就学のため必要な経費の支弁に関する事務",
    legal_path="provide_table6",
    legal_basis="住基法第30条の15第2項第1号 別表第六",
)


def _actor() -> Actor:
    """The counter clerk of the benchmark: no session, logged through the "bench" system channel."""
    return Actor(
        operator_id=0,
        login="bench",
        roles=frozenset({"counter", "pref_operator"}),
        terminal_id=0,
        terminal_name="bench",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
        system="bench",
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": _ms(_percentile(values, 0.5)),
        "p99_ms": _ms(_percentile(values, 0.99)),
        "max_ms": _ms(max(values)),
    }


def bench_disclosure(
    db: Database,
    work_dir: Path,
    persons: int,
    seed: int = 1,
    iterations: int = 30,
    provisions: int = 1000,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark; returns the JSON object `juki bench disclosure` prints."""
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    loaded = int(row[0]) if row else 0
    if loaded < persons:
        bench_load(db, work_dir, persons, seed, progress)
        loaded = persons
    actor = _actor()
    signer = document_signer(_pki(db, work_dir))
    offices = Settings.from_env().offices()  # the forms of the configured prefecture, as in service
    with db.connect(PREF.db_role, autocommit=True) as conn:
        person = conn.execute(
            f"SELECT juminhyo_code, name_kanji, birth_date, address FROM {PREF.current}"
            " WHERE status = 'present' AND birth_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"
            " ORDER BY juminhyo_code LIMIT 1"
        ).fetchone()
        assert person is not None, "no present person in the benchmark database"
        code, name, birth, address = person
        have = conn.execute(
            f"SELECT count(*) FROM {PREF.provision_record} WHERE juminhyo_code = %s", [code]
        ).fetchone()
        with conn.transaction():
            for i in range(int(have[0]) if have else 0, provisions):
                refused = i % 10 == 9
                record_provision(
                    conn,
                    FileKind.PREF,
                    actor,
                    _BASIS,
                    key_type=KeyType.BASIC4,
                    method=Method.LINE,
                    result=ResultCode.NOT_PERMITTED if refused else ResultCode.MATCH,
                    juminhyo_code=code,
                    items=() if refused else ("name_kanji", "address", "birth_date"),
                )
        given = RequestInput(name=name, birth_date=birth, address=address)

        def one(kind: RequestKind) -> float:
            t0 = time.perf_counter()
            req = register_request(
                conn, actor, FileKind.PREF, RequestInput(**{**given.__dict__, "kind": kind}), offices=offices
            )
            match_request(conn, actor, FileKind.PREF, req.id)
            if kind is RequestKind.DISCLOSURE:
                form = disclosure_form(issue_disclosure(conn, actor, FileKind.PREF, req.id), offices=offices)
            else:
                form = provision_status_form(
                    issue_provision_status(conn, actor, FileKind.PREF, req.id, provision_lines),
                    offices=offices,
                )
            sign_pdf(render_form(form), signer, reason=offices.signature_reason)
            return time.perf_counter() - t0

        def baseline() -> float:
            t0 = time.perf_counter()
            conn.execute(f"SELECT * FROM {PREF.current} WHERE juminhyo_code = %s", [code]).fetchall()
            conn.execute(
                f"SELECT * FROM {PREF.provision_record} WHERE juminhyo_code = %s AND at >= %s"
                " ORDER BY at, id",
                [code, date.today().replace(year=date.today().year - 7)],
            ).fetchall()
            return time.perf_counter() - t0

        one(RequestKind.DISCLOSURE)  # warm-up: the font, the planner's caches
        one(RequestKind.PROVISION_STATUS)
        disclosure: list[float] = []
        status: list[float] = []
        base: list[float] = []
        for i in range(iterations):
            disclosure.append(one(RequestKind.DISCLOSURE))
            status.append(one(RequestKind.PROVISION_STATUS))
            base.append(baseline())
            if progress:
                progress("disclosure", i + 1)
        listed = len(
            provision_lines(conn, FileKind.PREF, code, date.today().replace(year=date.today().year - 7))
        )
    p99 = _percentile(status, 0.99)
    return {
        "benchmark": "disclosure",
        "persons": loaded,
        "iterations": iterations,
        "provision_records": provisions,
        "provisions_listed": listed,
        "disclosure_pdf": _summary(disclosure),
        "provision_status_pdf": _summary(status),
        "baseline_reads": _summary(base),
        "ratio_p99": round(p99 / max(_percentile(base, 0.99), 1e-9), 1),
        "target": "provision-status PDF with 1,000 records, signed: p99 ≤ 500 ms",
        "meets_target": p99 <= 0.5,
        "machine": machine(),
        "peak_rss_mib": peak_rss_mib(),
    }


def _pki(db: Database, work_dir: Path) -> Pki:
    """The benchmark's own PKI (a CA made on first use): the signature costs what it costs in service."""
    pki = Pki(work_dir / "pki")
    if not pki.exists():
        pki.init()
    return pki
