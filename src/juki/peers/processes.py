"""The network as separate processes: `juki serve`, `juki sim national …`, `juki relay run`.

A thread of one Python process shares one interpreter lock with every other thread; on two cores the
intake, the relays and the simulators must be processes of their own to run side by side, as they
would on their separate machines. Used by `juki bench intake --processes`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from juki.files import all_files
from juki.peers.network import ensure_pki
from juki.services.access.pki import Pki
from juki.store.db import Database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            if text in path.read_text(encoding="utf-8", errors="replace"):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{text!r} did not appear in {path} after {timeout} s")


@dataclass
class ProcessNetwork:
    """What a sender needs of a running network: the certificates and where the intake listens."""

    pki: Pki
    intake_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each peer process has used so far: where the two cores went."""
        out: dict[str, float] = {}
        for name, process in self.processes.items():
            try:
                times = psutil.Process(process.pid).cpu_times()
            except psutil.Error:
                continue
            out[name] = round(times.user + times.system, 2)
        return out


@contextlib.contextmanager
def process_network(
    db: Database, log_dir: Path, *, sim_prefix: str = "juki_bench_proc"
) -> Iterator[ProcessNetwork]:
    """Start the intake, both national simulators and a relay as child processes; stop them on exit."""
    data_dir = db.settings.data_dir
    pki = ensure_pki(db.settings.pki_directory, db.settings.prefecture)
    env = {
        **os.environ,
        "JUKI_DATA_DIR": str(data_dir),
        "JUKI_DATABASE_URL": db.admin_conninfo,
        "JUKI_PREFECTURE": db.settings.prefecture,
    }
    juki = [sys.executable, "-m", "juki.entry"]
    intake, national, fuhyo = free_port(), free_port(), free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    commands = {
        "national": (
            [
                *juki,
                "sim",
                "national",
                "national",
                "--port",
                str(national),
                "--database",
                f"{sim_prefix}_national",
                "--other-prefectures",
                "0",
            ],
            national,
        ),
        "fuhyo_national": (
            [
                *juki,
                "sim",
                "national",
                "fuhyo_national",
                "--port",
                str(fuhyo),
                "--database",
                f"{sim_prefix}_fuhyo_national",
                "--other-prefectures",
                "0",
            ],
            fuhyo,
        ),
        "intake": ([*juki, "serve", "--port", str(intake), "--cert-name", "pref-server"], intake),
    }
    processes: list[subprocess.Popen[bytes]] = []
    named: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, (args, port) in commands.items():
            log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append(process)
            named[name] = process
            wait_for_port(port, process)
        # One relay process per file: each file's notices go to their own national server, so
        # the two deliver side by side without sharing an interpreter.
        files = [spec.value for spec in all_files()]
        for file in files:
            relay_log = open(log_dir / f"relay-{file}.log", "wb")  # noqa: SIM115 - closed with the process
            relay = [*juki, "relay", "run", "--file", file, "--idle-seconds", "0.05"]
            relay += ["--national-url", f"https://127.0.0.1:{national}"]
            relay += ["--fuhyo-national-url", f"https://127.0.0.1:{fuhyo}"]
            process = subprocess.Popen(relay, env=env, stdout=relay_log, stderr=subprocess.STDOUT)
            processes.append(process)
            named[f"relay-{file}"] = process
        for file in files:
            # Started and connected before anything is measured: a long-running relay does not pay
            # its start-up during a burst of notifications.
            wait_for_line(log_dir / f"relay-{file}.log", f"relay {file}: ready", named[f"relay-{file}"])
        yield ProcessNetwork(pki, f"https://127.0.0.1:{intake}", named)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
