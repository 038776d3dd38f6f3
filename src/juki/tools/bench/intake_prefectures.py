"""`juki bench intake --prefectures N`: N prefectures' intake at once on one node (issue 14 item 5).

Each prefecture is what the consolidation centre runs for it (architecture note 81): its own data
directory, so its own PostgreSQL cluster, PKI, intake server, relays and national simulators, with its
own synthetic population and municipalities (``JUKI_PREFECTURE``). Every prefecture is an ordinary
`juki bench intake` in a child process; nothing is shared but the machine.

Three phases, all in this run:

1. prepare: each prefecture's population is loaded (an intake run of its own, not measured);
2. alone: the first prefecture's stream with the others idle — the node's rate for one prefecture;
3. together: all N streams started at the same moment (a file gate each child waits at, once its
   servers are up and the clock is about to start).

The figure that matters is ``together.aggregate_rate_per_s`` (every prefecture's delivered
notifications over the wall time of the slowest) against ``alone.rate_per_s``: if the sharing costs
nothing, the node delivers about as much in total as for one prefecture, each getting about 1/N.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from juki.tools.bench.registry import machine

__all__ = ["DEFAULT_PREFECTURES", "bench_intake_prefectures", "wait_at_gate"]

#: 神奈川県, 静岡県 (浜松市's 2024 wards), 大阪府 (two 指定都市): three different code tables.
DEFAULT_PREFECTURES = ("14", "22", "27")
_GATE_TIMEOUT = 1800.0


def wait_at_gate(gate_dir: Path, name: str, timeout: float = _GATE_TIMEOUT) -> None:
    """A child's side of the gate: say it is ready, then wait for ``go``."""
    (gate_dir / f"ready-{name}").write_text(str(os.getpid()))
    deadline = time.monotonic() + timeout
    while not (gate_dir / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no go at {gate_dir} within {timeout:.0f} s")
        time.sleep(0.01)


@dataclass
class _Child:
    prefecture: str
    process: subprocess.Popen[bytes]
    out: Path


def _env(base: Path, prefecture: str) -> dict[str, str]:
    """A prefecture's settings: its own data directory (so its own embedded cluster and PKI)."""
    data_dir = base / f"pref-{prefecture}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUKI_DATA_DIR": str(data_dir), "JUKI_PREFECTURE": prefecture}
    env.pop("JUKI_DATABASE_URL", None)  # each prefecture its own (embedded) cluster
    return env


def _stop_clusters(base: Path, prefectures: tuple[str, ...]) -> None:
    """Stop every prefecture's embedded cluster: the children leave them running, as `juki` does."""
    for prefecture in prefectures:
        subprocess.run(
            [sys.executable, "-m", "juki.entry", "db", "stop"],
            env=_env(base, prefecture),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=120,
        )


def _start(
    base: Path, prefecture: str, persons: int, notifications: int, seed: int, gate: Path | None
) -> _Child:
    env = _env(base, prefecture)
    data_dir = Path(env["JUKI_DATA_DIR"])
    args = [
        sys.executable,
        "-m",
        "juki.entry",
        "bench",
        "intake",
        "--persons",
        str(persons),
        "--notifications",
        str(notifications),
        "--seed",
        str(seed),
        "--json",
    ]
    if gate is not None:
        args += ["--gate", str(gate)]
    out = data_dir / "bench-intake.json"
    with out.open("wb") as handle, (data_dir / "bench-intake.err").open("wb") as err:
        process = subprocess.Popen(args, env=env, stdout=handle, stderr=err)
    return _Child(prefecture, process, out)


def _finish(child: _Child, timeout: float) -> dict[str, Any]:
    code = child.process.wait(timeout)
    if code != 0:
        err = child.out.with_suffix(".err")
        tail = err.read_text(errors="replace")[-2000:] if err.exists() else ""
        raise RuntimeError(f"prefecture {child.prefecture}: juki bench intake exited {code}\n{tail}")
    report: dict[str, Any] = orjson.loads(child.out.read_bytes())
    return report


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "persons": report["persons"],
        "delivered": report["delivered"],
        "seconds": report["seconds"],
        "rate_per_s": report["rate_per_s"],
        "baseline_rate_per_s": report["baseline_rate_per_s"],
        "outcomes": report["outcomes"],
        "cpu_seconds": report.get("cpu_seconds", {}),
    }


def bench_intake_prefectures(
    base: Path,
    prefectures: tuple[str, ...],
    persons: int,
    notifications: int,
    seed: int = 1,
    timeout: float = 3600.0,
) -> dict[str, Any]:
    """Run the three phases (module docstring) and return the JSON object the CLI prints."""
    if len(set(prefectures)) != len(prefectures) or len(prefectures) < 2:
        raise ValueError("at least two different prefectures")
    try:
        return _run(base, prefectures, persons, notifications, seed, timeout)
    finally:
        _stop_clusters(base, prefectures)


def _run(
    base: Path, prefectures: tuple[str, ...], persons: int, notifications: int, seed: int, timeout: float
) -> dict[str, Any]:
    # 1. prepare, one after the other (two cores: loading at once only slows each)
    prepared = {}
    for prefecture in prefectures:
        child = _start(base, prefecture, persons, 200, seed, None)
        prepared[prefecture] = _finish(child, timeout)["persons"]
    # 2. alone
    alone = _summary(_finish(_start(base, prefectures[0], persons, notifications, seed + 1, None), timeout))
    # 3. together, through the gate
    gate = base / f"gate-{os.getpid()}-{time.time_ns()}"
    gate.mkdir(parents=True)
    children = [_start(base, p, persons, notifications, seed + 2, gate) for p in prefectures]
    deadline = time.monotonic() + timeout
    while len(list(gate.glob("ready-*"))) < len(children):
        if any(c.process.poll() not in (None, 0) for c in children) or time.monotonic() > deadline:
            for c in children:
                c.process.kill()
            raise RuntimeError("a prefecture did not come up for the common start")
        time.sleep(0.05)
    (gate / "go").write_text("go")
    reports = {c.prefecture: _summary(_finish(c, timeout)) for c in children}
    wall = max(r["seconds"] for r in reports.values())
    delivered = sum(r["delivered"] for r in reports.values())
    aggregate = delivered / wall if wall else 0.0
    return {
        "benchmark": "intake_prefectures",
        "prefectures": list(prefectures),
        "persons_per_prefecture": prepared,
        "notifications_per_prefecture": notifications,
        "alone": {"prefecture": prefectures[0], **alone},
        "together": {
            "per_prefecture": reports,
            "wall_seconds": round(wall, 2),
            "delivered": delivered,
            "aggregate_rate_per_s": round(aggregate, 1),
            "share_of_alone": round(aggregate / alone["rate_per_s"], 3) if alone["rate_per_s"] else None,
        },
        "rate_counts": "accepted, committed and delivered to each prefecture's national simulators",
        "machine": machine(),
    }
