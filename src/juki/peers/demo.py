"""`juki demo` — the README's run command: the whole system on its embedded default.

Starts the private PostgreSQL, loads a small synthetic population if the file is empty, brings up
the network (PKI, intake, national simulators), has the simulated 市町村CS send a demo stream over
mTLS, relays every accepted change to the national simulators, and prints what happened at each
step. Safe to run again: the second run's notifications are all answered as duplicates.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from juki.config import Settings
from juki.interfaces.cli_data import load_dir, synth_population
from juki.interfaces.common import console, open_database
from juki.peers.municipal import MunicipalCsSimulator
from juki.peers.network import local_network
from juki.services.stats import file_counts
from juki.services.synth import generate_changes

DEMO_SEED = 1


def demo(
    persons: Annotated[int, typer.Option(min=100)] = 20_000,
    changes: Annotated[int, typer.Option(min=1)] = 400,
    keep_running: Annotated[bool, typer.Option(help="leave the database running afterwards")] = False,
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
        console.print(
            f"3. 相互TLSのネットワークを起動: 受付 {net.intake.url}, 全国サーバ {net.national_url}, "
            f"附票全国サーバ {net.fuhyo_national_url}（証明書: {net.pki.ca_cert_path.parent}）"
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
    if db.cluster and not keep_running:
        db.cluster.stop()
        console.print("8. 停止しました（もう一度 `make run` すると冪等性を確認できます）")
