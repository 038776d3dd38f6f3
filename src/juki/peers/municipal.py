"""市町村CS simulator: sends synthetic change streams to the intake over mutual TLS (SIM-1).

Each municipality has its own client certificate (role municipal_cs, its 地方公共団体コード); the
simulator sends every notification with the certificate of the municipality that issued it, in the
stream's order, grouping consecutive notifications of one sender and file into a batch. Malformed
lines (a Shift_JIS line, broken JSON) travel with the certificate of the sender before them, as a
municipal system with a fault would send them. It compares every answer with the answer the
synthetic stream says the server must give.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from juki.domain.lgcodes import kanagawa
from juki.services.pki import PeerRole, Pki, client_context
from juki.services.synth import SynthChange

DEFAULT_BATCH = 200
_FIRST_MUNICIPALITY = "141011"  # sends the odd line that precedes every valid one


def cert_name(lg_code: str) -> str:
    return f"cs-{lg_code}"


@dataclass
class SendReport:
    """What the server answered, against what the stream expected."""

    sent: int = 0
    batches: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "batches": self.batches,
            "outcomes": self.outcomes,
            "mismatches": self.mismatches[:20],
            "mismatch_count": len(self.mismatches),
        }


def _batches(changes: Iterable[SynthChange], size: int) -> Iterator[tuple[str, str, list[tuple[bytes, str]]]]:
    """(sender, file, [(line, expected)]) groups of consecutive changes, in stream order."""
    sender, file = "", "pref"
    batch: list[tuple[bytes, str]] = []
    for change in changes:
        this_sender, this_file = sender, file
        if change.notification is not None:
            claimed = change.notification.get("municipality_code")
            # A notification naming no real municipality (a deliberately invalid one) travels with
            # the certificate of the sender before it; the server judges what it claims.
            if isinstance(claimed, str) and kanagawa().is_resident_register_municipality(claimed):
                this_sender = claimed
            if change.notification.get("file") in ("pref", "fuhyo"):
                this_file = str(change.notification["file"])
        if not this_sender:
            this_sender = _FIRST_MUNICIPALITY
        if batch and ((this_sender, this_file) != (sender, file) or len(batch) >= size):
            yield sender, file, batch
            batch = []
        sender, file = this_sender, this_file
        line = change.raw_line if change.raw_line is not None else orjson.dumps(change.notification)
        batch.append((line, change.expect))
    if batch:
        yield sender, file, batch


class MunicipalCsSimulator:
    """Sends streams to the intake at ``base_url`` using certificates from ``pki``.

    A municipality without a certificate gets one issued on first use (the simulator stands in for
    the municipalities' own enrolment)."""

    def __init__(self, pki: Pki, base_url: str, *, timeout: float = 60.0) -> None:
        self.pki = pki
        self.base_url = base_url
        self.timeout = timeout
        self._clients: dict[str, httpx.Client] = {}

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

    def send(self, changes: Iterable[SynthChange], *, batch_size: int = DEFAULT_BATCH) -> SendReport:
        report = SendReport()
        for sender, file, batch in _batches(changes, batch_size):
            response = self.client(sender).post(
                f"/cs/v1/{file}/notifications",
                content=b"\n".join(line for line, _ in batch),
                headers={"content-type": "application/x-ndjson"},
            )
            response.raise_for_status()
            results = response.json()["results"]
            report.batches += 1
            for (_, expected), result in zip(batch, results, strict=True):
                outcome = result["error"]["code"] if result["status"] == "rejected" else result["status"]
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
                report.sent += 1
                if outcome != expected:
                    report.mismatches.append({"sender": sender, "expected": expected, "result": result})
        return report
