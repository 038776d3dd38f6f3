"""市町村CS simulator: sends synthetic change streams to the intake over mutual TLS (SIM-1).

Each municipality has its own client certificate (role municipal_cs, its 地方公共団体コード); the
simulator sends every notification with the certificate of the municipality that issued it, in the
stream's order, grouping consecutive notifications of one sender and file into a batch. Malformed
lines (a Shift_JIS line, broken JSON) travel with the certificate of the sender before them, as a
municipal system with a fault would send them. It compares every answer with the answer the
synthetic stream says the server must give.

Batches of one *wave* belong to different municipalities (or files) and share no person, so up to
``concurrency`` municipalities post at the same time; a municipality's batches of a file go in order,
and waves one after the other, so each person's changes arrive in the stream's order.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import orjson

from juki.domain.lgcodes import DEFAULT_PREFECTURE, LgTable, for_prefecture
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import all_files, file_spec
from juki.services.access.pki import Pki, client_context
from juki.synth import SynthChange, iter_population

DEFAULT_BATCH = 200
#: How long a batch is resent while the intake answers E_DB_UNAVAILABLE (503) or cannot be reached.
DEFAULT_RETRY_SECONDS = 120.0
#: Waiting between resends when the intake names no Retry-After.
RETRY_PAUSE_SECONDS = 0.5
DEFAULT_CONCURRENCY = 4  # municipalities posting at the same time (independent batches of one wave)


def cert_name(lg_code: str) -> str:
    return f"cs-{lg_code}"


@dataclass
class SendReport:
    """What the server answered, against what the stream expected."""

    sent: int = 0
    batches: int = 0
    resent_batches: int = 0  # batches sent again after E_DB_UNAVAILABLE or no answer
    outcomes: dict[str, int] = field(default_factory=dict)
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "batches": self.batches,
            "resent_batches": self.resent_batches,
            "outcomes": self.outcomes,
            "mismatches": self.mismatches[:20],
            "mismatch_count": len(self.mismatches),
        }


_FILE_VALUES = frozenset(spec.value for spec in all_files())


def _first_municipality(table: LgTable) -> str:
    """The municipality that sends an odd line preceding every valid one: the prefecture's first
    current 市町村コード (141011 鶴見区 for 神奈川県)."""
    return table.resident_register_codes_on(date.today())[0]


def _route(
    change: SynthChange, sender: str, file: str, table: LgTable | None = None
) -> tuple[str, str, set[str]]:
    """(sender, file, persons touched) of one change; odd lines keep the previous sender and file.
    ``table``: the configured prefecture's code table (None = the default prefecture's)."""
    table = table if table is not None else for_prefecture(DEFAULT_PREFECTURE)
    persons: set[str] = set()
    if change.notification is not None:
        claimed = change.notification.get("municipality_code")
        # A notification naming no real municipality (a deliberately invalid one) travels with
        # the certificate of the sender before it; the server judges what it claims.
        if isinstance(claimed, str) and table.is_resident_register_municipality(claimed):
            sender = claimed
        if change.notification.get("file") in _FILE_VALUES:
            file = str(change.notification["file"])
        for key in ("juminhyo_code", "new_juminhyo_code"):
            value = change.notification.get(key)
            if isinstance(value, str):
                persons.add(f"{file}:{value}")  # the two files keep their own order
    return sender or _first_municipality(table), file, persons


Batch = tuple[str, str, list[tuple[bytes, str]]]


def _batches(
    changes: Iterable[SynthChange], size: int, window: int = 20_000, table: LgTable | None = None
) -> Iterator[Batch]:
    """(sender, file, [(line, expected)]) batches, as municipal systems would send them, one after another.

    Each municipality sends its own notifications in batches. The only order that matters is each
    person's, within one file: a change goes in a later *wave* than the previous change of the same
    person sent by another municipality (a 転出 from A, then the 転入 at B), in the same wave when the
    same municipality sent it. Waves are sent in order, each as one batch per municipality and file.
    The stream is taken in windows so memory stays bounded.
    """
    for wave in _waves(changes, size, window, table):
        for group in wave:
            yield from group


def _waves(
    changes: Iterable[SynthChange], size: int, window: int = 20_000, table: LgTable | None = None
) -> Iterator[list[list[Batch]]]:
    """The waves of :func:`_batches`: each a list of groups, one per (sender, file), each group the
    batches of that sender and file in their order. Groups of one wave are independent of each other
    (no person is in two of them), so they may be sent at the same time; a group's batches may not."""
    buffer: list[tuple[int, tuple[str, str], bytes, str]] = []
    last: dict[str, tuple[int, tuple[str, str]]] = {}
    sender, file = "", "pref"
    for change in changes:
        sender, file, persons = _route(change, sender, file, table)
        key = (sender, file)
        wave = 0
        for person in persons:
            if person in last:
                previous_wave, previous_key = last[person]
                wave = max(wave, previous_wave if previous_key == key else previous_wave + 1)
        for person in persons:
            last[person] = (wave, key)
        line = change.raw_line if change.raw_line is not None else orjson.dumps(change.notification)
        buffer.append((wave, key, line, change.expect))
        if len(buffer) >= window:
            yield from _flush(buffer, size)
            buffer, last = [], {}
    yield from _flush(buffer, size)


def _flush(buffer: list[tuple[int, tuple[str, str], bytes, str]], size: int) -> Iterator[list[list[Batch]]]:
    waves: dict[int, dict[tuple[str, str], list[tuple[bytes, str]]]] = {}
    for wave, key, line, expect in buffer:
        waves.setdefault(wave, {}).setdefault(key, []).append((line, expect))
    for wave in sorted(waves):
        yield [
            [(sender, file, items[start : start + size]) for start in range(0, len(items), size)]
            for (sender, file), items in waves[wave].items()
        ]


class MunicipalCsSimulator:
    """Sends streams to the intake at ``base_url`` using certificates from ``pki``.

    A municipality without a certificate gets one issued on first use (the simulator stands in for
    the municipalities' own enrolment)."""

    def __init__(
        self,
        pki: Pki,
        base_url: str,
        *,
        timeout: float = 60.0,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        on_answer: Callable[[BatchAnswer], None] | None = None,
    ) -> None:
        self.pki = pki
        self.base_url = base_url
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.on_answer = on_answer  # sees every answered batch (the failover drill records them)
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        self._resent = 0

    def client(self, lg_code: str) -> httpx.Client:
        if lg_code not in self._clients:
            name = cert_name(lg_code)
            if not self.pki.cert_path(name).exists():
                self.pki.issue(PeerRole.MUNICIPAL_CS, name, lg_code=lg_code)
            context = client_context(self.pki.cert_path(name), self.pki.key_path(name), self.pki.ca_cert_path)
            self._clients[lg_code] = httpx.Client(
                base_url=self.base_url, verify=context, timeout=self.timeout
            )
        return self._clients[lg_code]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def reconcile(self, lg_code: str, file: FileKind, persons: int, seed: int) -> dict[str, Any]:
        """Upload this municipality's complete set for ``file`` (from its own records: the synthetic
        population of (persons, seed), present persons only) and return the server's result (F1-7, F2-7).

        The upload is streamed: rows are generated and sent as they come, never held whole."""
        spec = file_spec(file)
        columns = spec.csv_columns
        wanted = ("juminhyo_code", *spec.notified_items)
        index = [columns.index(name) for name in wanted]
        where = columns.index(spec.municipality_column)
        status = columns.index("status")

        def rows() -> Iterator[bytes]:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(wanted)
            for person in iter_population(persons, seed, self.pki.prefecture):
                row = person.current(file)
                if row is None or row[where] != lg_code or row[status] == spec.ended_status:
                    continue
                writer.writerow([row[i] for i in index])
                if buffer.tell() > 1 << 16:
                    yield buffer.getvalue().encode("utf-8")
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode("utf-8")

        response = self.client(lg_code).post(
            f"/cs/v1/{file.value}/reconciliation", content=rows(), headers={"content-type": "text/csv"}
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def answer_reconciliation_requests(
        self, lg_code: str, file: FileKind, persons: int, seed: int
    ) -> list[dict[str, Any]]:
        """Fetch the prefecture's open consistency-check requests to this municipality (S-53) and
        answer them with one upload of the complete set; the server's results (none: not asked)."""
        response = self.client(lg_code).get(f"/cs/v1/{file.value}/reconciliation/requests")
        response.raise_for_status()
        if not response.json()["requests"]:
            return []
        return [self.reconcile(lg_code, file, persons, seed)]

    def _post_batch(self, batch: Batch) -> tuple[list[dict[str, Any]], bool]:
        """The server's results for ``batch`` and whether it had to be resent.

        As a real 市町村CS does, a batch that got no answer (connection refused or cut) or a retryable
        503 E_DB_UNAVAILABLE (the prefecture's database failing over) is resent with the same bytes
        until ``retry_seconds`` have passed; any other error answer ends the run."""
        sender, file, items = batch
        body = b"\n".join(line for line, _ in items)
        deadline = time.monotonic() + self.retry_seconds
        resent = False
        while True:
            started = time.monotonic()
            pause = RETRY_PAUSE_SECONDS
            try:
                response = self.client(sender).post(
                    f"/cs/v1/{file}/notifications",
                    content=body,
                    headers={"content-type": "application/x-ndjson"},
                )
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            else:
                if response.status_code != 503 or time.monotonic() > deadline:
                    response.raise_for_status()
                    results: list[dict[str, Any]] = response.json()["results"]
                    if self.on_answer is not None:
                        self.on_answer(BatchAnswer(sender, file, items, results, started, time.monotonic()))
                    return results, resent
                retry_after = response.headers.get("retry-after", "")
                pause = float(retry_after) if retry_after.isdigit() else pause
            if not resent:
                resent = True
                with self._lock:
                    self._resent += 1
            time.sleep(pause)

    def _post_group(self, group: list[Batch]) -> list[tuple[list[dict[str, Any]], bool]]:
        return [self._post_batch(batch) for batch in group]

    def send(
        self,
        changes: Iterable[SynthChange],
        *,
        batch_size: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> SendReport:
        """Send the stream; up to ``concurrency`` municipalities post at the same time within a wave
        (each municipality's batches of a file in order, one wave after the other)."""
        report = SendReport()
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="cs-sim") as pool:
            for wave in _waves(changes, batch_size, table=for_prefecture(self.pki.prefecture)):
                for group in wave:
                    self.client(group[0][0])  # enrol (issue certificates) here, not in the workers
                answers = (
                    list(pool.map(self._post_group, wave))
                    if concurrency > 1 and len(wave) > 1
                    else [self._post_group(group) for group in wave]
                )
                for group, group_answers in zip(wave, answers, strict=True):
                    for (sender, _, batch), (results, resent) in zip(group, group_answers, strict=True):
                        report.batches += 1
                        for (_, expected), result in zip(batch, results, strict=True):
                            outcome = (
                                result["error"]["code"]
                                if result["status"] == "rejected"
                                else result["status"]
                            )
                            report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
                            report.sent += 1
                            # A resent batch whose first try committed but lost its answer (the
                            # connection cut during COMMIT) is answered "duplicate": still applied once.
                            if resent and expected == "accepted" and outcome == "duplicate":
                                continue
                            if outcome != expected:
                                report.mismatches.append(
                                    {"sender": sender, "expected": expected, "result": result}
                                )
        report.resent_batches = self._resent
        return report

    # -- correction inquiries (F1-4, F2-4; SIM-1 answering the prefecture's investigation) ------------

    def answer_inquiries(
        self, lg_code: str, file: FileKind, decide: Callable[[dict[str, Any]], InquiryDecision]
    ) -> list[dict[str, Any]]:
        """Fetch this municipality's open inquiries and answer each as ``decide`` says.

        ``decide`` stands for the municipality checking its own record. When it corrects, the
        simulator first sends the correction as an ordinary notification (reason 誤記修正, the held
        record with the corrected items) and then answers with that notification's id, as a real
        市町村CS would: the prefecture's file changes only through F1-1/F2-1 (S-38).
        Returns the server's answer to each."""
        client = self.client(lg_code)
        response = client.get(f"/cs/v1/{file.value}/inquiries")
        response.raise_for_status()
        answers: list[dict[str, Any]] = []
        for inquiry in response.json()["inquiries"]:
            decision = decide(inquiry)
            notification_id = None
            if decision.corrected is not None:
                notification_id = f"{lg_code}-INQ-{inquiry['case_no']}"
                notice = {
                    "file": file.value,
                    "municipality_code": lg_code,
                    "notification_id": notification_id,
                    "reason": "clerical_correction",
                    "change_date": decision.change_date,
                    "juminhyo_code": inquiry["juminhyo_code"],
                    "record": {**inquiry["held"], **decision.corrected},
                }
                sent = client.post(
                    f"/cs/v1/{file.value}/notifications",
                    content=orjson.dumps(notice),
                    headers={"content-type": "application/x-ndjson"},
                )
                sent.raise_for_status()
                result = sent.json()["results"][0]
                if result["status"] == "rejected":
                    answers.append({"inquiry_id": inquiry["inquiry_id"], "notification": result})
                    continue
            answer = client.post(
                f"/cs/v1/{file.value}/inquiries/{inquiry['inquiry_id']}/answer",
                json={
                    "result": "municipality_corrects" if decision.corrected is not None else "no_change",
                    "answer": decision.answer,
                    "notification_id": notification_id,
                },
            )
            answer.raise_for_status()
            answers.append(answer.json())
        return answers


@dataclass(frozen=True)
class BatchAnswer:
    """One answered batch: what was sent, the results, and when its answered attempt started and ended
    (monotonic seconds)."""

    sender: str
    file: str
    items: list[tuple[bytes, str]]
    results: list[dict[str, Any]]
    started: float
    answered: float


@dataclass(frozen=True)
class InquiryDecision:
    """What the municipality found: its record is right (``corrected`` None), or the items it corrects."""

    answer: str
    corrected: dict[str, str] | None = None
    change_date: str = "2026-12-01"


def requested_values_decision(inquiry: dict[str, Any]) -> InquiryDecision:
    """The simulator's default check: a claim that names the right values is accepted (the
    municipality corrects to them), one that names none is answered "no change"."""
    requested = inquiry.get("requested") or {}
    if requested:
        return InquiryDecision("住民票の記載を確認し、誤記を訂正しました。", corrected=dict(requested))
    return InquiryDecision("住民票の記載を確認しましたが、誤りは認められませんでした。")
