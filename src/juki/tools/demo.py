"""`juki demo` — the README's run command: the whole system on its embedded default.

Starts the private PostgreSQL, loads a small synthetic population if the file is empty, brings up
the network (PKI, intake, national simulators), has the simulated 市町村CS send a demo stream over
mTLS, relays every accepted change to the national simulators, and prints what happened at each
step. Safe to run again: the second run's notifications are all answered as duplicates.

For a newcomer (issue 10 item 12): one demo per data directory (a second `make run` says so in
Japanese and leaves the first alone); SIGTERM stops it like Ctrl-C; it stops the embedded database
only when it started it and no other process is connected; the one-time links are printed one per
line (nothing else on the line, never wrapped) and kept in ``<data dir>/links.txt`` (mode 0600); a
few synthetic persons to search for are printed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from juki.config import Settings
from juki.domain.lgcodes import DEFAULT_PREFECTURE, for_prefecture
from juki.domain.offices import OfficesNotConfigured
from juki.domain.records import PREF_CSV_COLUMNS, RecordStatus
from juki.domain.refusals import Refusal
from juki.files import FUHYO, PREF, all_files
from juki.interfaces.cli_data import load_dir, synth_population
from juki.interfaces.cli_output import cell
from juki.interfaces.cli_terminal_web import TerminalServer, terminal_server
from juki.interfaces.common import console, open_database
from juki.interfaces.terminal.labels import date_label
from juki.interfaces.tls_server import start_in_thread, stop_server
from juki.peers.municipal import MunicipalCsSimulator
from juki.peers.network import local_network
from juki.services.access.operators import bootstrap_first_admin
from juki.services.access.rights_ledger import grant_demo_roles
from juki.services.access.terminals import issue_binding_token
from juki.services.statistics.counters import file_counts
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster, find_binaries
from juki.synth import SynthChange, generate_changes, make_person
from juki.tools.demo_bulk import DEMO_BULK_ROLES, demo_line_linkage
from juki.tools.demo_jobs import run_jobs_once
from juki.tools.demo_rights import run_residents_rights

DEMO_SEED = 1
DEMO_ADMIN = "admin1"
DEMO_TERMINAL = "代表端末"
DEMO_ROLES = (*(spec.operator_role for spec in all_files()), "auditor")
#: A newcomer can make a single provision (F1-2, F2-2) as an operator of two example requesters.
DEMO_PROVISION_ROLES = ("provision_operator@kyoiku", "provision_operator@zeimu")
#: In the data directory: held (flock) while a demo runs, with its PID and URL for a second one.
LOCK_FILE = "demo.lock"
#: In the data directory: the one-time links of the running demo, one per line (mode 0600).
LINKS_FILE = "links.txt"
#: Persons to print as search samples are taken from the first indexes of the population, so the
#: same persons are printed for any population size the demo is run with (README's example).
SAMPLE_SCAN = 1000
#: How long the demo waits for the backends of its own just-closed connections to end before it
#: concludes that another process is using the database.
OTHER_SESSIONS_GRACE_SECONDS = 5.0
#: The 統計担当 role too, so the statistics page (F1-8) shows the demo population's figures.
DEMO_ROLES += ("statistics",)


app = typer.Typer()  # `juki demo`


class DemoRefused(Exception):
    """The demo cannot start here: another one runs on this data directory, or the port is taken."""


@contextlib.contextmanager
def single_instance(data_dir: Path, url: str, probe: tuple[str, int] | None) -> Iterator[Path]:
    """Hold ``<data_dir>/demo.lock`` for the demo's lifetime; refuse when another demo holds it.

    The lock is an ``flock`` on an open file, so it is released by the kernel when the holder dies
    (a killed demo never leaves a stale lock behind); the file's text (PID, URL) only informs the
    message of a second demo. ``probe`` (host, port) is tried as well: another program on the
    terminal UI's port would otherwise fail only after the population was loaded.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open until the demo ends
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            held = handle.read().split()
            pid = held[0] if held else "?"
            where = f"、{held[1]}" if len(held) > 1 else ""
            raise DemoRefused(
                f"juki demo はこのデータディレクトリ（{data_dir}）で既に実行中です（PID {pid}{where}）。"
                f"実行中の demo はそのまま使えます（リンクの控え: {data_dir / LINKS_FILE}）。"
                "止めるには、その端末で Ctrl-C を押すか、kill " + pid + " を実行してください"
            ) from None
        if probe is not None and _listening(*probe):
            raise DemoRefused(
                f"ポート {probe[1]} は別のプログラムが使用中です（端末の業務画面を開けません）。"
                "そのプログラムを止めるか、JUKI_WEBAUTHN_ORIGIN で別のポートを指定してください"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {url}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock (if held)


def _listening(host: str, port: int) -> bool:
    """Whether something accepts connections on (host, port); a wildcard address is probed locally."""
    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        with socket.create_connection((target, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt, so `kill` shuts down the way Ctrl-C does
    (servers stopped, database stopped) instead of leaving the embedded PostgreSQL orphaned."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread (a test runner's worker): nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Shutting down is not interrupted by a second Ctrl-C or SIGTERM (that would orphan PostgreSQL)."""

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        console.print("   停止処理中です。終わるまでお待ちください")

    try:
        saved = {sig: signal.signal(sig, ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@app.command("demo")
def demo(
    persons: Annotated[
        int, typer.Option(min=100, help="合成人口の人数（ファイルが空のときだけロード）")
    ] = 20_000,
    changes: Annotated[int, typer.Option(min=1, help="市町村CSが送る異動通知の件数")] = 400,
    keep_running: Annotated[bool, typer.Option(help="終了後もデータベースを起動したままにする")] = False,
    terminal: Annotated[
        bool, typer.Option(help="続けて端末の業務画面（既定 https://localhost:8444/）を Ctrl-C まで提供する")
    ] = True,
    terminal_seconds: Annotated[
        float, typer.Option(min=0.0, help="業務画面をこの秒数で止める（0: Ctrl-C まで）")
    ] = 0.0,
    host: Annotated[
        str,
        typer.Option(
            help="業務画面の待ち受けアドレス（他の機械から使うなら 0.0.0.0。README「他の機械から」参照）"
        ),
    ] = "127.0.0.1",
    seed: Annotated[
        int, typer.Option(help="合成人口と異動通知の乱数の種（人口が空のときのロードに使う）")
    ] = DEMO_SEED,
    prefectures: Annotated[
        str,
        typer.Option(
            help="集約センターとして複数の都道府県を並べて動かす（例 14,22。都道府県ごとに別のDB・CA）"
        ),
    ] = "",
) -> None:
    """組み込みDBと全ピア（市町村CS・全国サーバのシミュレータ）を起動し、異動通知の流れを示す。"""
    if prefectures:
        from juki.tools.demo_centre import run_centre_demo  # issue 14: one child demo per prefecture

        run_centre_demo(prefectures, persons, changes, terminal, terminal_seconds, host)
        return
    settings = Settings.from_env()
    port = urlsplit(settings.webauthn_origin).port or 443
    try:
        with single_instance(
            settings.data_dir, f"{settings.webauthn_origin}/", (host, port) if terminal else None
        ):
            _run(settings, persons, changes, keep_running, terminal, terminal_seconds, host, seed)
    except DemoRefused as refused:
        console.print(f"[red]{refused}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


def _embedded_running(settings: Settings) -> bool | None:
    """Whether the embedded cluster runs already (None: an external database is configured)."""
    if settings.database_url:
        return None
    return EmbeddedCluster(settings.data_dir, find_binaries(settings.pg_binaries)).is_running()


def _run(
    settings: Settings,
    persons: int,
    changes: int,
    keep_running: bool,
    terminal: bool,
    terminal_seconds: float,
    host: str,
    seed: int = DEMO_SEED,
) -> None:
    console.rule("juki demo")
    db: Database | None = None
    was_running: bool | None = None
    try:
        with sigterm_as_ctrl_c():
            was_running = _embedded_running(settings)
            db = open_database(settings)
            _flow(db, settings, persons, changes, terminal, terminal_seconds, host, seed)
    except KeyboardInterrupt:
        console.print("   停止します")
    finally:
        if db is not None and db.cluster is not None and not keep_running:
            with _no_interrupts():
                _stop_database(db, started_here=was_running is False)


def _stop_database(db: Database, *, started_here: bool) -> None:
    """Stop the embedded cluster only if this demo started it and no other process is connected.

    `EmbeddedCluster.start` leaves a running cluster as it is, so a demo started while `juki db start`,
    `juki serve-terminal` or another tool already had the cluster up shares that postmaster: stopping
    it (``pg_ctl stop -m fast``) would cut the other process's sessions.
    """
    assert db.cluster is not None
    if not started_here:
        console.print(
            "9. データベースは demo の前から起動していたため、停止しません（停止するには `juki db stop`）",
            soft_wrap=True,
        )
        return
    # A connection this demo just closed (pools of the servers) leaves its backend in
    # pg_stat_activity for a moment after the close; another process's session stays.
    deadline = time.monotonic() + OTHER_SESSIONS_GRACE_SECONDS
    while (others := _other_sessions(db)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if others:
        console.print(
            f"9. データベースに他のプロセスが接続中（{others} 件）のため、停止しません"
            "（使い終わったら `juki db stop`）",
            soft_wrap=True,
        )
        return
    db.cluster.stop()
    console.print("9. 停止しました（もう一度 `make run` すると冪等性を確認できます）")


def _other_sessions(db: Database) -> int:
    """Client sessions of other processes (this check's own connection excluded)."""
    try:
        with db.connect(autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()
    except Exception:  # cannot tell: err on the side of not stopping someone else's database
        return 1
    return int(row[0]) if row else 0


def _flow(
    db: Database,
    settings: Settings,
    persons: int,
    changes: int,
    terminal: bool,
    terminal_seconds: float,
    host: str,
    seed: int = DEMO_SEED,
) -> None:
    where = f"組み込み（{db.cluster.binaries.source} のバイナリ）" if db.cluster else "外部"
    console.print(f"1. データベース起動・マイグレーション済み: {where}")
    with db.connect() as conn:
        counts = file_counts(conn)
    if counts["pref_present"] + counts["pref_ended"] == 0:
        console.print(f"2. 合成人口 {persons:,} 人を生成してロードします")
        population = settings.data_dir / "demo" / "population"
        synth_population(population, persons, seed, settings.prefecture)
        for loaded in load_dir(db, population, rejects_dir=settings.data_dir / "rejects"):
            console.print(
                f"   {loaded.file}: {loaded.persons:,} 人, 履歴 {loaded.history_rows:,} 行, "
                f"{loaded.seconds:.1f} 秒 ({loaded.mode})"
            )
    else:
        console.print("2. 人口はロード済みです（再ロードしません）")
    with local_network(db, settings.pki_directory, sim_prefix="juki_demo_sim") as net:
        console.print("3. 相互TLSのネットワークを起動:")
        console.print(f"   受付 {net.intake.url}", soft_wrap=True)
        for spec in all_files():
            console.print(
                f"   {spec.national_label} {net.national_url_of(spec.national_peer)}", soft_wrap=True
            )
        console.print(f"   証明書 {net.pki.ca_cert_path.parent}", soft_wrap=True)
        stream = list(
            generate_changes(persons, seed, changes, invalid_share=0.05, prefecture=settings.prefecture)
        )
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
        console.print(f"   応答の内訳: {_counts_text(sent.outcomes)}")
        if not sent.mismatches:
            console.print("   すべて生成時の期待どおりの応答です（不正な通知は理由コード付きで拒否・記録）")
        elif all(m["result"]["status"] == "duplicate" for m in sent.mismatches):
            console.print(
                "   再実行なので、受理済みの通知はすべて「重複」として扱われ、二重には適用されていません"
            )
        else:
            console.print(f"   [red]期待と異なる応答が {len(sent.mismatches)} 件あります[/red]")
        try:
            offices = settings.offices()
        except OfficesNotConfigured as missing:  # a prefecture with no entry: no form in wrong names
            console.print(f"4b. 住民・窓口シミュレータ（SIM-6）: 省略 — {missing.code} {missing.message}")
        else:
            run_residents_rights(db, net.pki, net.intake.url, settings.data_dir / "demo" / "forms", offices)
        reports = net.drain()
        for file, report in reports.items():
            console.print(
                f"5. 中継（{file}）: 送信 {report.sent} 件, "
                f"応答 {_counts_text(report.answers)}, 失敗 {report.dead}"
            )
        console.print("6. 全国サーバ側の写し（都道府県サーバから通知された人）:")
        copies = (len(net.national.copy()), len(net.fuhyo_national.copy()))
        console.print(f"   全国サーバ {copies[0]:,} 人, 附票全国サーバ {copies[1]:,} 人")
        with db.connect() as conn:
            after = file_counts(conn)
        console.print("7. 現在の件数:")
        for spec in all_files():
            console.print(f"   {spec.title}:")
            for line in _file_counts(after, spec.value):
                console.print(f"     {line}")
        print_samples(db, pick_samples(persons, touched_codes(stream), settings.prefecture, seed))
        # F1-2b: one simulated request through a requester's line-linkage folder (tools/demo_bulk.py).
        demo_line_linkage(db, net.pki, net.intake.url, settings.data_dir / "line" / "koan")
        run_jobs_once(db, settings)  # issue 13: each scheduled job once, then on schedule
        if terminal:
            # The national simulators keep running, so the terminal's J-LIS query page has a server.
            peers = replace(
                settings,
                national_url=net.national_url_of(PREF.national_peer),
                fuhyo_national_url=net.national_url_of(FUHYO.national_peer),
            )
            serve_terminal_ui(db, peers, terminal_seconds, host=host)


#: The statuses and answers the demo counts, as the newcomer reads them (error codes stay codes).
COUNT_LABELS = {
    "accepted": "受理",
    "duplicate": "重複",
    "rejected": "拒否",
    "applied": "適用",
    "stale": "古い通知",
    "sent": "送信済み",
    "pending": "送信待ち",
    "dead": "送信不能",
    "present": "現存",
    "ended": "消除",
    "domestic": "国内",
    "abroad": "国外",
    "history": "履歴",
    "inbox": "受信した通知",
    "outbox": "全国サーバへの通知",
}


def _counts_text(counts: Any) -> str:
    """``{"accepted": 3, "E_JSON": 1}`` as ``受理 3, E_JSON 1`` (never a Python dict repr)."""
    items = sorted(dict(counts).items(), key=lambda kv: (kv[0].startswith("E_"), kv[0]))
    return ", ".join(f"{COUNT_LABELS.get(k, k)} {v:,}" for k, v in items) if items else "なし"


def _file_counts(counts: dict[str, Any], file: str) -> list[str]:
    """One line of record counts and one per box (inbox, outbox) of ``file``."""
    records, boxes = [], []
    for key, value in counts.items():
        if key.startswith(f"{file}_"):
            name = key.removeprefix(f"{file}_")
            if isinstance(value, dict):
                boxes.append(f"{COUNT_LABELS.get(name, name)}: {_counts_text(value)}")
            else:
                records.append(f"{COUNT_LABELS.get(name, name)} {value:,}")
    return [", ".join(records), *boxes]


# --- sample persons ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A synthetic person the newcomer can search for, and why this one."""

    why: str
    how: str
    juminhyo_code: str


_P = {name: i for i, name in enumerate(PREF_CSV_COLUMNS)}
#: An ideographic variation selector (異体字 as Moji_Joho IVS). A 外字 in the Private Use Area is
#: not chosen: no terminal font shows it, so the newcomer would read a name with a gap.
_VARIANT = re.compile("[\U000e0100-\U000e01ef]")


def touched_codes(stream: Sequence[SynthChange]) -> set[str]:
    """Every 住民票コード a change stream mentions (such a person may look different afterwards)."""
    touched: set[str] = set()
    for change in stream:
        text = change.line().decode("utf-8", "replace")
        touched.update(re.findall(r"\d{11}", text))
    return touched


def pick_samples(
    persons: int, touched: set[str], prefecture: str = DEFAULT_PREFECTURE, seed: int = DEMO_SEED
) -> list[Sample]:
    """A ward resident, a 消除者 and a name with 異体字/外字, from the population's first indexes.

    Persons the demo's change stream mentions are skipped, so each sample is exactly as generated
    (deterministic from the seed) whatever the population size and stream: the README can show the
    first one, and a test checks that it is found.
    """
    wards = {lg.code for lg in for_prefecture(prefecture) if lg.is_ward}
    wanted: dict[str, Sample | None] = {"ward": None, "ended": None, "variant": None}
    for index in range(min(persons, SAMPLE_SCAN)):
        row = make_person(seed, index, prefecture).pref_current
        code = row[_P["juminhyo_code"]]
        if code in touched:
            continue
        living = row[_P["status"]] == RecordStatus.PRESENT.value
        if wanted["ward"] is None and living and row[_P["municipality_code"]] in wards:
            wanted["ward"] = Sample("政令指定都市の区に住む人", "氏名（かな）と生年月日で検索", code)
        elif wanted["ended"] is None and not living:
            wanted["ended"] = Sample(
                "消除された人（転出・死亡など）",
                "「消除者を含める」を選び、氏名（かな）と生年月日で検索",
                code,
            )
        elif wanted["variant"] is None and living and _VARIANT.search(row[_P["name_kanji"]]):
            wanted["variant"] = Sample("氏名に異体字がある人", "氏名（かな）と生年月日で検索", code)
        if all(wanted.values()):
            break
    return [s for s in wanted.values() if s is not None]


def print_samples(db: Database, samples: Sequence[Sample]) -> None:
    """The samples as the database holds them now (synthetic data only, and said to be)."""
    if not samples:
        return
    console.print("   検索してみる人（合成データです。実在の人物ではありません）:")
    with db.connect() as conn:
        for sample in samples:
            row = conn.execute(
                f"SELECT name_kanji, name_kana, birth_date, address FROM {PREF.current}"
                " WHERE juminhyo_code = %s",
                (sample.juminhyo_code,),
            ).fetchone()
            if row is None:  # a population loaded by an earlier run with another seed
                continue
            name, kana, birth, address = (cell(v) for v in row)
            console.print(f"   ・{sample.why}: {sample.how}", soft_wrap=True)
            console.print(f"       {name}（{kana}）  {date_label(birth)}", soft_wrap=True)
            console.print(f"       {address}", soft_wrap=True)


# --- step 8: the terminal UI -------------------------------------------------------------------


def serve_terminal_ui(db: Database, settings: Settings, seconds: float, *, host: str = "127.0.0.1") -> None:
    """Step 8: the terminal UI, with the first administrator's one-time links printed once.

    The first run creates the administrator ``admin1`` and the 代表端末 and, this being a demonstration
    with nobody to approve a second role, gives ``admin1`` the work roles too (recorded as bootstrap
    grants). Later runs print a fresh link to bind this browser and how to get a new enrolment link.
    """
    web = terminal_server(db, settings, host=host)
    # Listening before the one-time links are made: a port in use fails here, not after a link
    # that can be used only once has been printed for a server that is not there.
    thread, _port = start_in_thread(web.server)
    try:
        binding, enrolment = _admin_links(db, settings)
        links = demo_links(web, binding, enrolment)
        saved = write_links(settings.data_dir / LINKS_FILE, links)
        print_links(web, links, saved)
        deadline = time.monotonic() + seconds if seconds > 0 else None
        while thread.is_alive() and (deadline is None or time.monotonic() < deadline):
            thread.join(0.2)
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
                grant_demo_roles(conn, first.operator.id, DEMO_PROVISION_ROLES)
                grant_demo_roles(conn, first.operator.id, DEMO_BULK_ROLES)
                grant_demo_roles(conn, first.operator.id, ("counter",))  # 窓口担当: disclosure at the counter
            return first.binding_token, first.enrolment_token
        except Refusal:  # already bootstrapped by an earlier run
            return issue_binding_token(conn, settings, DEMO_TERMINAL, by=None), None


@dataclass(frozen=True)
class Link:
    """A link to open in the browser and what it does."""

    what: str
    url: str


def demo_links(web: TerminalServer, binding: str, enrolment: str | None) -> list[Link]:
    links = [
        Link("端末の業務画面", f"{web.url}/"),
        Link(
            f"(1) このブラウザを端末（{DEMO_TERMINAL}）として登録する（1回限り）",
            f"{web.url}/terminal/bind/{binding}",
        ),
    ]
    if enrolment:
        links.append(
            Link(
                f"(2) 初期管理者 {DEMO_ADMIN} の認証情報を登録する（1回限り）", f"{web.url}/enrol/{enrolment}"
            )
        )
    return links


def write_links(path: Path, links: Sequence[Link]) -> Path:
    """The links, one per line (a ``#`` line above each says what it is), readable by the owner only:
    a one-time link is a credential until it is used."""
    text = "".join(f"# {link.what}\n{link.url}\n" for link in links)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an older file keeps its mode through O_CREAT
        handle.write(text)
    return path


def _link_line(url: str) -> None:
    # Alone on its line and never wrapped or highlighted: an 80-column terminal must not break a
    # link into pieces that a click or a copy would then miss.
    console.print(url, soft_wrap=True, markup=False, highlight=False, crop=False)


def print_links(web: TerminalServer, links: Sequence[Link], saved: Path) -> None:
    console.print("8. 端末の業務画面を起動しました。ブラウザで次のリンクを開きます（1行に1つ）:")
    console.print("   まず、ブラウザで信頼する CA 証明書（README「CA 証明書を信頼する」）:")
    _link_line(str(web.ca_cert))
    for link in links:
        console.print(f"   {link.what}:")
        _link_line(link.url)
    if not any(link.url.startswith(f"{web.url}/enrol/") for link in links):
        console.print(f"   (2) {DEMO_ADMIN} は登録済みです。新しい登録用リンクは次のコマンドで発行します:")
        _link_line(f".venv/bin/juki operator enrol-link {DEMO_ADMIN}")
    else:
        console.print(
            "       生体認証（WebAuthn）を登録すると検索もできます。パスワードでは管理・監査の機能だけです"
            "（S-01: 個人情報を扱う操作は生体認証）"
        )
    console.print("   リンクの控え（所有者だけが読めるファイル）:")
    _link_line(str(saved))
    console.print("   (3) サインイン → 4情報検索（上の合成データの人）→ 操作ログ（監査）で")
    console.print("       自分の操作を確認できます。終了は Ctrl-C")
    console.print("   (4) 開示請求（窓口）: 受付 → 照合 → 交付（署名付き PDF）。")
    console.print("       提供状況の開示も同じ画面から")
    console.print("   (5) 個別提供・一括提供: 依頼元の事務を選び、結果と提供の記録を確認できます")
