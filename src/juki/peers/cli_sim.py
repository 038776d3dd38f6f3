"""`juki sim …`: the peer simulators as commands (registered by juki.entry, above the layers)."""

from __future__ import annotations

from typing import Annotated

import typer

from juki.config import Settings
from juki.domain.peers import PeerRole
from juki.interfaces.cli_output import cell
from juki.interfaces.common import console, emit_json
from juki.peers.municipal import MunicipalCsSimulator
from juki.services.access.pki import Pki
from juki.synth import generate_changes

app = typer.Typer(help="ピア（市町村CS・全国サーバ）のシミュレータ", no_args_is_help=True)


@app.command("municipal")
def municipal_cmd(
    url: Annotated[str, typer.Option(help="the intake's base URL")] = "https://localhost:8443",
    persons: Annotated[int, typer.Option(min=1, help="size of the loaded synthetic population")] = 20_000,
    seed: Annotated[int, typer.Option()] = 1,
    changes: Annotated[int, typer.Option(min=1)] = 1000,
    stream: Annotated[int, typer.Option(min=1, help="stream number (distinct notification ids)")] = 1,
    invalid_share: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    batch: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """市町村CSとして合成異動通知を相互TLSで送信し、期待どおりの応答かを照合する。"""
    pki = Pki(Settings.from_env().data_dir / "pki")
    simulator = MunicipalCsSimulator(pki, url)
    try:
        stream_items = generate_changes(persons, seed, changes, stream=stream, invalid_share=invalid_share)
        report = simulator.send(stream_items, batch_size=batch)
    finally:
        simulator.close()
    if as_json:
        emit_json(report.as_dict())
    else:  # lines to read, not a Python dict repr (the mismatches in full: --json)
        console.print(f"送信 {report.sent:,} 件（{report.batches:,} 回）: {cell(report.outcomes)}")
        console.print(f"期待と異なる応答 {len(report.mismatches):,} 件")
    if report.mismatches:
        raise typer.Exit(1)


@app.command("national")
def national_cmd(
    kind: Annotated[str, typer.Argument(help="national (全国サーバ) or fuhyo_national (附票全国サーバ)")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8444,
    database: Annotated[str, typer.Option(help="the simulator's own database")] = "",
    other_prefectures: Annotated[
        int, typer.Option(min=0, help="synthetic residents of other prefectures")
    ] = 10_000,
) -> None:
    """全国サーバ／附票全国サーバのシミュレータを相互TLSで起動する（自分の写しを別DBに保持）。"""
    from juki.interfaces.common import open_database
    from juki.peers.national import NationalSimulator
    from juki.peers.network import cert_name, ensure_pki, sibling_database
    from juki.services.access.pki import ReloadingServerContext

    if kind not in ("national", "fuhyo_national"):
        raise typer.BadParameter("national または fuhyo_national")
    db = open_database()
    pki = ensure_pki(db.settings.data_dir / "pki")
    cert = cert_name(PeerRole(kind))
    simulator = NationalSimulator(kind, sibling_database(db, database or f"juki_sim_{kind}"))
    if other_prefectures:
        held = simulator.seed_other_prefectures(other_prefectures)
        console.print(f"他の都道府県の合成住民 {held:,} 人を保持しています")
    context = ReloadingServerContext(
        pki.cert_path(cert),
        pki.key_path(cert),
        pki.ca_cert_path,
        pki.crl_path,
        reload_seconds=db.settings.crl_reload_seconds,
    )
    console.print(f"{kind} simulator on https://{host}:{port} (client certificates required)")
    simulator.serve_forever(context, host=host, port=port)
