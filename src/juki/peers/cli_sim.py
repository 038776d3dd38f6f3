"""`juki sim …`: the peer simulators as commands (registered by juki.entry, above the layers)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from juki.config import Settings
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.interfaces.cli_output import cell
from juki.interfaces.common import console, emit_json, open_database
from juki.peers.municipal import MunicipalCsSimulator
from juki.peers.requester import RequestBuild, build_request, check_result
from juki.services.access.pki import Pki
from juki.services.provision.catalog import load_catalog
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
    settings = Settings.from_env()
    pki = Pki(settings.pki_directory, prefecture=settings.prefecture)
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
    pki = ensure_pki(db.settings.pki_directory, db.settings.prefecture)
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


# --- SIM-4 / SIM-5: a requesting organ or department (bulk provision) -----------------------------

requester_app = typer.Typer(
    help="依頼元のシミュレータ: 照会要求ファイルの作成・共有フォルダへの投入・結果の照合",
    no_args_is_help=True,
)
app.add_typer(requester_app, name="requester")


@requester_app.command("build")
def requester_build_cmd(
    out: Annotated[Path, typer.Option("--out", help="照会要求ファイル（期待結果は *.expected.csv）")],
    rows: Annotated[int, typer.Option("--rows", min=1)] = 1000,
    requester: Annotated[str, typer.Option("--requester")] = "koan",
    task: Annotated[str, typer.Option("--task")] = "unten-menkyo",
    file: Annotated[str, typer.Option("--file", help="pref / fuhyo")] = "pref",
    encoding: Annotated[str, typer.Option("--encoding", help="utf-8 / cp932")] = "utf-8",
    seed: Annotated[int, typer.Option()] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """格納された本人確認情報から、現実的な照会要求ファイル（一致・該当なし・複数該当・不許可・不備の混在）を作る。"""
    report = _build(out, rows, requester, task, file, encoding, seed)
    emit_json(report.to_dict()) if as_json else console.print(report.to_dict())


@requester_app.command("drop")
def requester_drop_cmd(
    folder: Annotated[Path, typer.Option("--folder", help="回線連携の共有フォルダ（request/ に置く）")],
    name: Annotated[str, typer.Option("--name")] = "irai.csv",
    rows: Annotated[int, typer.Option("--rows", min=1)] = 1000,
    requester: Annotated[str, typer.Option("--requester")] = "koan",
    task: Annotated[str, typer.Option("--task")] = "unten-menkyo",
    file: Annotated[str, typer.Option("--file")] = "pref",
    encoding: Annotated[str, typer.Option("--encoding")] = "utf-8",
    seed: Annotated[int, typer.Option()] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """照会要求ファイルを作り、共有フォルダの request/ へ置く（期待結果はフォルダの外、expected/ に置く）。"""
    report = drop_request(folder, name, rows, requester, task, file, encoding, seed)
    emit_json(report.to_dict()) if as_json else console.print(report.to_dict())


@requester_app.command("check")
def requester_check_cmd(
    result: Annotated[Path, typer.Option("--result", help="照会結果ファイル")],
    expected: Annotated[Path, typer.Option("--expected", help="build / drop が書いた *.expected.csv")],
    encoding: Annotated[str, typer.Option("--encoding")] = "utf-8",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """照会結果ファイルの各行を期待結果と照合する（不一致があれば終了コード 1）。"""
    report = check_result(result, expected, encoding=encoding)
    emit_json(report.to_dict()) if as_json else console.print(report.to_dict())
    if not report.passed:
        raise typer.Exit(1)


def _build(
    out: Path, rows: int, requester: str, task: str, file: str, encoding: str, seed: int
) -> RequestBuild:
    kind = FileKind(file)
    db = open_database()
    with db.connect(file_spec(kind).db_role, autocommit=True) as conn:
        found = load_catalog(conn).task(requester, task)
        if found is None:
            console.print(f"[red]error:[/red] 提供カタログに {requester}/{task} はありません")
            raise typer.Exit(1)
        return build_request(
            conn,
            kind,
            out,
            rows=rows,
            allowed_keys=frozenset(found.keys_for(kind)),
            seed=seed,
            encoding=encoding,
            national=bool(getattr(db.settings, f"{file_spec(kind).national_peer.value}_url")),
        )


def drop_request(
    folder: Path, name: str, rows: int, requester: str, task: str, file: str, encoding: str, seed: int
) -> RequestBuild:
    """Build a request beside the folder, then move it into ``request/`` complete (never half-written).

    The expectations stay outside the shared folder (``<folder>/../expected/``): they are the simulator's,
    not the requester's file."""
    staging = folder.parent / "expected" / name
    built = _build(staging, rows, requester, task, file, encoding, seed)
    target = folder / "request" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(built.request, target)
    built.request = target
    return built
