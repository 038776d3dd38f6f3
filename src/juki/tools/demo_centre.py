"""`juki demo --prefectures 14,22` (`make run PREFECTURES=14,22`): a consolidation centre on one machine.

Each prefecture runs as its own instance, exactly as the centre deploys it (issue 14, docs/deployment.md
「集約センター」): the centre's configuration ``<JUKI_DATA_DIR>/centre/centre.toml`` gives every
prefecture its own data directory (``pref-NN/``: PostgreSQL cluster with its own passwords, PKI, operation
log and checkpoints) and its own terminal port, and the demo starts one ordinary ``juki demo`` process
per prefecture with that prefecture's settings. Nothing is shared between them but the program, so the
demo shows the isolation it relies on rather than a special code path.

The prefectures start one after the other (two cores: loading two populations at once would only make
both slower); each one's output is printed when its terminal UI is up, and kept in ``pref-NN/demo.log``.
Ctrl-C or SIGTERM stops every instance, then the clusters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import typer

from juki.centre_config import (
    Centre,
    CentreError,
    PrefectureInstance,
    centre_path,
    load_centre,
    new_centre,
    parse_prefectures,
    write_centre,
)
from juki.config import Settings
from juki.interfaces.common import console
from juki.services.operations.centre import instance_settings, prepare_all, stop_all
from juki.tools.demo import DemoRefused, _no_interrupts, sigterm_as_ctrl_c, single_instance

#: The centre's directory inside the demo's data directory.
CENTRE_DIR = "centre"
#: A prefecture's demo log (its whole output) in its data directory.
LOG_FILE = "demo.log"
#: The child demo has printed everything a newcomer needs once this line (its last hint) is out.
READY_LINE = "(5) 個別提供・一括提供"
#: How long one prefecture may take to load its population and come up (two cores, shared).
READY_SECONDS = 900.0


@dataclass
class Child:
    instance: PrefectureInstance
    process: subprocess.Popen[bytes]
    log: Path


class CentreDemoFailed(RuntimeError):
    """A prefecture's demo ended with an error or did not come up in time (its log says why)."""


def run_centre_demo(
    prefectures: str, persons: int, changes: int, terminal: bool, terminal_seconds: float, host: str
) -> None:
    base = Settings.from_env()
    try:
        codes = parse_prefectures(prefectures)
        # One centre demo per data directory, like the single demo: a second one would otherwise
        # stop the first one's databases when it gives up.
        with single_instance(base.data_dir / CENTRE_DIR, f"{base.webauthn_origin}/", None):
            centre = _centre(base, codes, host)
            _run(centre, base, persons, changes, terminal, terminal_seconds, host)
    except CentreError as refused:
        console.print(f"[red]{refused.code}: {refused.message}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    except (DemoRefused, CentreDemoFailed) as refused:
        console.print(f"[red]{refused}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


def _run(
    centre: Centre,
    base: Settings,
    persons: int,
    changes: int,
    terminal: bool,
    terminal_seconds: float,
    host: str,
) -> None:
    console.rule(f"juki demo: 集約センター（都道府県 {', '.join(centre.codes)}）")
    console.print(
        f"0. センターの設定 {centre.path}（都道府県ごとにクラスタ・パスワード・CA・ポート）", soft_wrap=True
    )
    children: list[Child] = []
    try:
        with sigterm_as_ctrl_c():
            for done in prepare_all(centre, base):
                console.print(
                    f"   都道府県 {done.code}: マイグレーション {done.migrations} 件適用", soft_wrap=True
                )
            for instance in centre.prefectures:
                child = _start(instance, base, persons, changes, terminal, terminal_seconds, host)
                children.append(child)
                _wait_ready(child, terminal)
                _print_block(child)
            _summary(centre, children, terminal)
            while any(c.process.poll() is None for c in children):
                time.sleep(0.2)
    except KeyboardInterrupt:
        console.print("   停止します")
    finally:
        with _no_interrupts():
            _stop_children(children)
            stopped = stop_all(centre, base)
            if stopped:
                console.print(f"   都道府県 {', '.join(stopped)} のデータベースを停止しました")


def _centre(base: Settings, codes: tuple[str, ...], host: str) -> Centre:
    """The demo's centre: created on the first run, the same one afterwards (same prefectures only)."""
    directory = base.data_dir / CENTRE_DIR
    if centre_path(directory).exists():
        centre = load_centre(directory)
        if centre.codes != codes:
            raise CentreError(
                "C_CENTRE_EXISTS",
                f"{centre.path} は都道府県 {', '.join(centre.codes)} のセンターです。"
                f"同じ --prefectures で実行するか、別の JUKI_DATA_DIR を使ってください",
            )
        return centre
    terminal_port = urlsplit(base.webauthn_origin).port or 8444
    centre = new_centre(directory, codes, base_port=terminal_port - 1, host=host)
    write_centre(centre)
    return centre


def _start(
    instance: PrefectureInstance,
    base: Settings,
    persons: int,
    changes: int,
    terminal: bool,
    terminal_seconds: float,
    host: str,
) -> Child:
    """One ordinary `juki demo` for the prefecture, under its own settings, output to its log."""
    settings = instance_settings(instance, base)
    env = {k: v for k, v in os.environ.items() if k != "JUKI_PKI_DIR"}  # each its own PKI
    env.update(
        {
            "JUKI_DATA_DIR": str(settings.data_dir),
            "JUKI_PREFECTURE": settings.prefecture,
            "JUKI_DATABASE_URL": settings.database_url or "",
            "JUKI_WEBAUTHN_ORIGIN": settings.webauthn_origin,
            "JUKI_WEBAUTHN_RP_ID": settings.webauthn_rp_id,
            "COLUMNS": "200",  # the log keeps each line whole
        }
    )
    args = [sys.executable, "-m", "juki.entry", "demo", "--persons", str(persons), "--changes", str(changes)]
    # Each prefecture its own synthetic persons: the seed is its code.
    args += ["--seed", str(int(instance.code)), "--host", host]
    args += ["--terminal", "--terminal-seconds", str(terminal_seconds)] if terminal else ["--no-terminal"]
    log = instance.data_dir / LOG_FILE
    console.print(f"   都道府県 {instance.code} を起動します（出力は {log}）", soft_wrap=True)
    with open(log, "wb") as handle:
        process = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return Child(instance, process, log)


def _wait_ready(child: Child, terminal: bool) -> None:
    """Until the prefecture's terminal UI is up (its last hint printed) or, without one, it ended."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            if child.process.returncode != 0:
                _print_block(child)
                raise CentreDemoFailed(
                    f"都道府県 {child.instance.code} の demo が終了コード {child.process.returncode} で"
                    f"終わりました（{child.log}）"
                )
            return
        if terminal and READY_LINE in child.log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.3)
    raise CentreDemoFailed(
        f"都道府県 {child.instance.code} が {READY_SECONDS:.0f} 秒で起動しませんでした（{child.log}）"
    )


def _print_block(child: Child) -> None:
    # A plain line, not a rule: a long data directory must not be cut to fit the width.
    console.print(
        f"■ 都道府県 {child.instance.code}（{child.instance.data_dir}）", soft_wrap=True, highlight=False
    )
    text = child.log.read_text(encoding="utf-8", errors="replace")
    # Printed as the child wrote it: its one-time links stay alone on their lines.
    console.print(text.rstrip("\n"), soft_wrap=True, markup=False, highlight=False, crop=False)


def _summary(centre: Centre, children: list[Child], terminal: bool) -> None:
    console.print("■ 集約センター", highlight=False)
    if not terminal:
        return
    console.print(
        "都道府県ごとの業務画面（それぞれ別のCA・別のデータベース。他県の操作者・セッションは通りません）:"
    )
    for child in children:
        console.print(f"   都道府県 {child.instance.code}:")
        console.print(
            f"{child.instance.terminal_origin}/", soft_wrap=True, markup=False, highlight=False, crop=False
        )
    console.print(
        "   ブラウザの Cookie はポートでは分かれません（ホスト名ごと）。2つの都道府県は別のブラウザ"
        "プロファイル（またはシークレットウィンドウ）で開いてください",
        soft_wrap=True,
    )
    command = f"{centre.directory} {children[-1].instance.code}"
    console.print(
        f'   ある都道府県として juki コマンドを使うには: eval "$(.venv/bin/juki centre env {command})"',
        soft_wrap=True,
    )
    console.print("   終了は Ctrl-C（全都道府県の demo とデータベースを止めます）")


def _stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)  # the child's demo stops like Ctrl-C
    for child in children:
        try:
            child.process.wait(120)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(10)
