"""`juki sim …`: the peer simulators as commands (registered by juki.entry, above the layers)."""

from __future__ import annotations

from typing import Annotated

import typer

from juki.config import Settings
from juki.interfaces.common import console, emit_json
from juki.peers.municipal import MunicipalCsSimulator
from juki.services.pki import Pki
from juki.services.synth import generate_changes

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
    emit_json(report.as_dict()) if as_json else console.print(report.as_dict())
    if report.mismatches:
        raise typer.Exit(1)
