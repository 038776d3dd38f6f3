"""`juki demo` — the README's run command: the whole system on its embedded default.

Starts the private PostgreSQL, loads a small synthetic population if the file is empty, brings up
the network (PKI, intake, national simulators), has the simulated 市町村CS send a demo stream over
mTLS, relays every accepted change to the national simulators, and prints what happened at each
step. Safe to run again: the second run's notifications are all answered as duplicates.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated

import orjson
import typer

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.files import FUHYO, PREF, all_files
from juki.interfaces.cli_data import load_dir, synth_population
from juki.interfaces.cli_terminal_web import TerminalServer, terminal_server
from juki.interfaces.common import console, open_database
from juki.interfaces.tls_server import start_in_thread, stop_server
from juki.peers.municipal import MunicipalCsSimulator
from juki.peers.network import local_network
from juki.services.access.operators import bootstrap_first_admin
from juki.services.access.rights_ledger import grant_demo_roles
from juki.services.access.terminals import issue_binding_token
from juki.services.statistics.counters import file_counts
from juki.store.db import Database, DbRole
from juki.synth import generate_changes
from juki.tools.demo_jobs import run_jobs_once

DEMO_SEED = 1
DEMO_ADMIN = "admin1"
DEMO_TERMINAL = "代表端末"
DEMO_ROLES = (*(spec.operator_role for spec in all_files()), "auditor")


app = typer.Typer()  # `juki demo`


@app.command("demo")
def demo(
    persons: Annotated[int, typer.Option(min=100)] = 20_000,
    changes: Annotated[int, typer.Option(min=1)] = 400,
    keep_running: Annotated[bool, typer.Option(help="leave the database running afterwards")] = False,
    terminal: Annotated[
        bool, typer.Option(help="then serve the terminal UI (https://localhost:8444/) until Ctrl-C")
    ] = True,
    terminal_seconds: Annotated[
        float, typer.Option(min=0.0, help="stop the terminal UI after this many seconds (0: at Ctrl-C)")
    ] = 0.0,
) -> None:
    """組み込みDBと全ピア（市町村CS・全国サーバのシミュレータ）を起動し、異動通知の流れを示す。"""
    settings = Settings.from_env()
    console.rule("juki demo")
    db = open_database(settings)
    where = f"embedded ({db.cluster.binaries.source} binaries)" if db.cluster else "external"
    console.print(f"1. データベース起動・マイグレーション済み: {where}")
    with db.connect() as conn:
        counts = file_counts(conn)
    if counts["pref_present"] + counts["pref_ended"] == 0:
        console.print(f"2. 合成人口 {persons:,} 人を生成してロードします")
        population = settings.data_dir / "demo" / "population"
        synth_population(population, persons, seed=DEMO_SEED)
        for loaded in load_dir(db, population, rejects_dir=settings.data_dir / "rejects"):
            console.print(
                f"   {loaded.file}: {loaded.persons:,} 人, 履歴 {loaded.history_rows:,} 行, "
                f"{loaded.seconds:.1f} 秒 ({loaded.mode})"
            )
    else:
        console.print("2. 人口はロード済みです（再ロードしません）")
    with local_network(db, settings.data_dir / "pki", sim_prefix="juki_demo_sim") as net:
        nationals = ", ".join(
            f"{spec.national_label} {net.national_url_of(spec.national_peer)}" for spec in all_files()
        )
        console.print(
            f"3. 相互TLSのネットワークを起動: 受付 {net.intake.url}, {nationals}"
            f"（証明書: {net.pki.ca_cert_path.parent}）"
        )
        stream = list(generate_changes(persons, DEMO_SEED, changes, invalid_share=0.05))
        simulator = MunicipalCsSimulator(net.pki, net.intake.url)
        try:
            sent = simulator.send(stream)
        finally:
            simulator.close()
        senders = len({c.notification["municipality_code"] for c in stream if c.notification})
        console.print(
            f"4. {senders} 市区町村の市町村CS（各自の証明書）が {sent.sent} 件を"
            f" {sent.batches} 回に分けて送信"
        )
        console.print(f"   応答の内訳 {sent.outcomes}")
        if not sent.mismatches:
            console.print("   すべて生成時の期待どおりの応答です（不正な通知は理由コード付きで拒否・記録）")
        elif all(m["result"]["status"] == "duplicate" for m in sent.mismatches):
            console.print("   再実行: 受理済みの通知はすべて「重複」として扱われ、二重には適用されていません")
        else:
            console.print(f"   [red]期待と異なる応答が {len(sent.mismatches)} 件あります[/red]")
        reports = net.drain()
        for file, report in reports.items():
            console.print(
                f"5. 中継（{file}）: 送信 {report.sent} 件, 応答 {dict(report.answers)}, 失敗 {report.dead}"
            )
        console.print(
            f"6. 全国サーバの写し {len(net.national.copy()):,} 人 / 附票全国サーバの写し "
            f"{len(net.fuhyo_national.copy()):,} 人（都道府県サーバから通知された人）"
        )
        with db.connect() as conn:
            after = file_counts(conn)
        console.print("7. 現在の件数:")
        console.print_json(orjson.dumps(after).decode())
        run_jobs_once(db, settings)  # issue 13: each scheduled job once, then on schedule
        if terminal:
            # The national simulators keep running, so the terminal's J-LIS query page has a server.
            peers = replace(
                settings,
                national_url=net.national_url_of(PREF.national_peer),
                fuhyo_national_url=net.national_url_of(FUHYO.national_peer),
            )
            serve_terminal_ui(db, peers, terminal_seconds)
    if db.cluster and not keep_running:
        db.cluster.stop()
        console.print("9. 停止しました（もう一度 `make run` すると冪等性を確認できます）")


def serve_terminal_ui(db: Database, settings: Settings, seconds: float) -> None:
    """Step 8: the terminal UI, with the first administrator's one-time links printed once.

    The first run creates the administrator ``admin1`` and the 代表端末 and, this being a demonstration
    with nobody to approve a second role, gives ``admin1`` the work roles too (recorded as bootstrap
    grants). Later runs print a fresh link to bind this browser and how to get a new enrolment link.
    """
    web = terminal_server(db, settings)
    # Listening before the one-time links are made: a port in use fails here, not after a link
    # that can be used only once has been printed for a server that is not there.
    thread, _port = start_in_thread(web.server)
    try:
        binding, enrolment = _admin_links(db, settings)
        _print_links(web, binding, enrolment)
        deadline = time.monotonic() + seconds if seconds > 0 else None
        while thread.is_alive() and (deadline is None or time.monotonic() < deadline):
            thread.join(0.2)
    except KeyboardInterrupt:
        console.print("   停止します")
    finally:
        stop_server(web.server, thread)
        web.close()


def _admin_links(db: Database, settings: Settings) -> tuple[str, str | None]:
    """The terminal-binding token and, on the first run only, admin1's enrolment token."""
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        try:
            with conn.transaction():
                first = bootstrap_first_admin(conn, settings, DEMO_ADMIN, display_name="初期管理者（デモ）")
                grant_demo_roles(conn, first.operator.id, DEMO_ROLES)
            return first.binding_token, first.enrolment_token
        except Refusal:  # already bootstrapped by an earlier run
            return issue_binding_token(conn, settings, DEMO_TERMINAL, by=None), None


def _print_links(web: TerminalServer, binding: str, enrolment: str | None) -> None:
    console.print(f"8. 端末の業務画面: {web.url}/  （ブラウザで信頼する CA 証明書: {web.ca_cert}）")
    console.print(f"   (1) この端末（{DEMO_TERMINAL}）をブラウザに登録: {web.url}/terminal/bind/{binding}")
    if enrolment:
        console.print(
            f"   (2) 初期管理者 {DEMO_ADMIN} の認証情報を登録（1回限り）: {web.url}/enrol/{enrolment}"
        )
        console.print(
            "       生体認証（WebAuthn）を登録すると検索もできます。パスワードでは管理・監査の機能だけです"
            "（S-01: 個人情報を扱う操作は生体認証）"
        )
    else:
        console.print(
            f"   (2) {DEMO_ADMIN} は登録済みです。新しい登録リンク: "
            f"`.venv/bin/juki operator enrol-link {DEMO_ADMIN}`"
        )
    console.print("   (3) サインイン → 4情報検索 → 操作ログ（監査）で自分の操作を確認できます。Ctrl-C で終了")
