"""`juki centre …` — a consolidation centre of several prefectures (集約センター, Q-08, issue 14).

`init` writes ``centre.toml`` and prepares every prefecture (cluster, migrations, passwords, CA);
`migrate` brings each up to date; `start` / `stop` the embedded clusters; `status` lists them;
`env NN` prints the environment under which any other `juki` command acts for prefecture NN
(``eval "$(juki centre env <dir> 22)"; juki serve --port …``); `route` names the prefecture, and its
intake, that takes a municipality's notifications.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from juki.centre_config import (
    DEFAULT_BASE_PORT,
    Centre,
    CentreError,
    load_centre,
    new_centre,
    parse_prefectures,
    write_centre,
)
from juki.config import Settings
from juki.interfaces.cli_output import JsonOption, emit_json
from juki.interfaces.common import console
from juki.services.operations.centre import instance_settings, prepare_all, stop_all
from juki.store import centre_cluster

app = typer.Typer(
    help="集約センター: 複数の都道府県を都道府県ごとの実行単位で並べて動かす", no_args_is_help=True
)

CentreDir = Annotated[Path, typer.Argument(help="センターのディレクトリ（centre.toml のある所）")]


def _load(directory: Path) -> Centre:
    try:
        return load_centre(directory)
    except CentreError as refused:
        _refuse(refused)


def _refuse(refused: CentreError) -> NoReturn:
    console.print(f"[red]{refused.code}: {refused.message}[/red]", soft_wrap=True)
    raise typer.Exit(2)


@app.command("init")
def init(
    directory: CentreDir,
    prefectures: Annotated[str, typer.Option(help="都道府県コード（カンマ区切り、例 14,22）")],
    base_port: Annotated[
        int, typer.Option(help="最初の都道府県の受付ポート（業務画面は +1、次の都道府県は +10）")
    ] = DEFAULT_BASE_PORT,
    host: Annotated[str, typer.Option(help="受付と業務画面の待ち受けアドレス")] = "127.0.0.1",
) -> None:
    """centre.toml を書き、各都道府県のクラスタ・マイグレーション・パスワード・CA を用意する。"""
    try:
        centre = new_centre(directory, parse_prefectures(prefectures), base_port=base_port, host=host)
        write_centre(centre)
    except CentreError as refused:
        _refuse(refused)
    console.print(f"{centre.path} を作成しました")
    _prepare(centre)


@app.command("migrate")
def migrate_all(directory: CentreDir) -> None:
    """各都道府県のクラスタを起動し、マイグレーションとパスワード・証明書を最新にする（冪等）。"""
    _prepare(_load(directory))


def _prepare(centre: Centre) -> None:
    for done in prepare_all(centre, Settings.from_env()):
        instance = centre.get(done.code)
        ca = "CA を作成" if done.ca_created else "CA は既存"
        # One fact a line, so the lines fit an 80-column terminal (a long path is never cut).
        console.print(
            f"都道府県 {done.code}: マイグレーション {done.migrations} 件適用, {ca}\n"
            f"  受付     {instance.intake_url}\n  業務画面 {instance.terminal_origin}/\n"
            f"  データ   {instance.data_dir}",
            soft_wrap=True,
        )


@app.command("start")
def start(directory: CentreDir) -> None:
    """各都道府県の組み込みクラスタを起動する（起動済みなら何もしない）。"""
    centre = _load(directory)
    base = Settings.from_env()
    for instance in centre.prefectures:
        if instance.database_url is None:
            centre_cluster.start(instance.data_dir, base.pg_binaries)
        console.print(f"都道府県 {instance.code}: 起動しています")


@app.command("stop")
def stop(directory: CentreDir) -> None:
    """各都道府県の組み込みクラスタを停止する。"""
    stopped = stop_all(_load(directory), Settings.from_env())
    console.print(f"停止しました: {', '.join(stopped) or 'なし（起動していません）'}")


@app.command("status")
def status(directory: CentreDir, as_json: JsonOption = False) -> None:
    """都道府県ごとのデータベース・受付・業務画面の所在と、クラスタが起動中か。"""
    centre = _load(directory)
    base = Settings.from_env()
    rows = [
        {
            "prefecture": i.code,
            "data_dir": str(i.data_dir),
            "database": "external" if i.database_url else "embedded",
            "running": None if i.database_url else centre_cluster.is_running(i.data_dir, base.pg_binaries),
            "intake": i.intake_url,
            "terminal": f"{i.terminal_origin}/",
        }
        for i in centre.prefectures
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        running = "外部" if row["running"] is None else "起動中" if row["running"] else "停止中"
        console.print(
            f"都道府県 {row['prefecture']}: DB {running}\n"
            f"  受付     {row['intake']}\n  業務画面 {row['terminal']}",
            soft_wrap=True,
        )


@app.command("env")
def env(
    directory: CentreDir,
    prefecture: Annotated[str, typer.Argument(help="都道府県コード（2桁）")],
) -> None:
    """その都道府県として他の juki コマンドを動かす環境変数（eval "$(juki centre env DIR 22)"）。"""
    centre = _load(directory)
    try:
        instance = centre.get(prefecture.zfill(2))
    except CentreError as refused:
        _refuse(refused)
    settings = instance_settings(instance, Settings.from_env())
    variables = {
        "JUKI_DATA_DIR": str(settings.data_dir),
        "JUKI_PREFECTURE": settings.prefecture,
        "JUKI_DATABASE_URL": settings.database_url or "",
        "JUKI_WEBAUTHN_ORIGIN": settings.webauthn_origin,
        "JUKI_WEBAUTHN_RP_ID": settings.webauthn_rp_id,
    }
    for name, value in variables.items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@app.command("route")
def route(
    directory: CentreDir,
    lg_code: Annotated[str, typer.Argument(help="市町村の地方公共団体コード（6桁）")],
    as_json: JsonOption = False,
) -> None:
    """その市町村の通知を受け付ける都道府県と受付の URL（コードの上2桁 = 都道府県コード）。"""
    centre = _load(directory)
    try:
        instance = centre.route(lg_code)
    except CentreError as refused:
        _refuse(refused)
    if as_json:
        emit_json({"lg_code": lg_code, "prefecture": instance.code, "intake": instance.intake_url})
        return
    console.print(f"{lg_code} → 都道府県 {instance.code}: {instance.intake_url}")
