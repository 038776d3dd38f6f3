"""`juki bench load|update`: benchmarks with a same-run raw PostgreSQL baseline (JSON output)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID

from juki.config import Settings
from juki.interfaces.cli_output import progress
from juki.interfaces.common import console, emit_json, open_database
from juki.store.db import Database

app = typer.Typer(help="ベンチマーク（JSON出力、同一実行内の PostgreSQL 基準値との比）", no_args_is_help=True)


def _db(database: str) -> Database:
    settings = replace(Settings.from_env(), database_name=database)
    return open_database(settings)


@contextlib.contextmanager
def _stages(totals: dict[str, int]) -> Iterator[Callable[[str, int], None]]:
    """Progress of a benchmark's stages on stderr (stdout stays one JSON object): one bar per stage,
    with the remaining time where ``totals`` knows the stage's size; nothing when stderr is redirected."""
    with progress(console) as bar:
        tasks: dict[str, TaskID] = {}

        def tick(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=totals.get(stage))
            bar.update(tasks[stage], completed=done)

        yield tick


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    """A benchmark whose stream did not measure real work prints why and exits 2, with no figure."""
    from juki.tools.bench.streams import BenchmarkInvalid

    try:
        yield
    except BenchmarkInvalid as exc:
        console.print(f"[red]benchmark refused:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command("load")
def load_cmd(
    persons: Annotated[int, typer.Option(min=1000)] = 100_000,
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database (dropped and recreated)")] = "juki_bench",
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="変換プロセス数／ファイル（既定はコア数から）"),
    ] = None,
    floor: Annotated[
        bool,
        typer.Option(
            "--floor",
            help="PostgreSQL だけの下限も測る（Python の処理なし）",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """人口の一括ロード速度（人/秒）を、同じCSVの素の COPY と比較する。"""
    from juki.tools.bench.registry import bench_load

    db = _db(database)
    with _stages({"synth": persons, "load": persons}) as tick:
        result = bench_load(
            db, db.settings.data_dir / "bench", persons, seed, tick, workers_per_file=workers, floor=floor
        )
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("update")
def update_cmd(
    persons: Annotated[int, typer.Option(min=1000)] = 100_000,
    notifications: Annotated[int, typer.Option(min=100)] = 20_000,
    batch: Annotated[int, typer.Option(min=1, max=5000)] = 500,
    seed: Annotated[int, typer.Option()] = 1,
    invalid_share: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="share of deliberately invalid items in the stream")
    ] = 0.0,
    database: Annotated[str, typer.Option(help="benchmark database")] = "juki_bench",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """更新サービスの処理速度（通知/秒）を、同じ行の素の INSERT と比較する。"""
    from juki.tools.bench.registry import bench_update

    db = _db(database)
    with _refused(), _stages({"synth": persons, "load": persons, "update": notifications}) as tick:
        result = bench_update(
            db,
            db.settings.data_dir / "bench",
            persons,
            seed,
            notifications,
            batch,
            tick,
            invalid_share=invalid_share,
        )
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("reconcile")
def reconcile_cmd(
    persons: Annotated[int, typer.Option(min=1000, help="present persons of 横浜市 (its wards)")] = 3_700_000,
    database: Annotated[
        str, typer.Option(help="benchmark database (dropped and recreated)")
    ] = "juki_bench_reconcile",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """整合性確認（F1-7）の速度: 横浜市規模の全件アップロードを1回で照合し、同じCSVの素の COPY と比較する。"""
    from juki.tools.bench.registry import bench_reconcile

    db = _db(database)
    with _stages({"setup": persons}) as tick:
        result = bench_reconcile(db, db.settings.data_dir / "bench", persons, tick)
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("search")
def search_cmd(
    persons: Annotated[
        int, typer.Option(min=100, help="load this many synthetic persons if the database holds fewer")
    ] = 200_000,
    queries: Annotated[int, typer.Option(min=10)] = 2_000,
    cap: Annotated[int, typer.Option(min=1, help="result cap (more is T_SEARCH_TOO_MANY)")] = 100,
    file: Annotated[str, typer.Option(help="pref (File 1) or fuhyo (File 2)")] = "pref",
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database")] = "juki_bench",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """4情報検索（F1-6/F2-6）の応答時間 p50/p99 を、同じSQLの素の索引検索と比較する（操作ログ込み）。"""
    from juki.domain.records import FileKind
    from juki.tools.bench.search import bench_search

    if file not in {kind.value for kind in FileKind}:
        raise typer.BadParameter("pref または fuhyo を指定してください", param_hint="--file")
    db = _db(database)
    with _stages({"synth": persons, "load": persons, "search": queries}) as tick:
        result = bench_search(
            db, db.settings.data_dir / "bench", persons, seed, queries, cap, FileKind(file), tick
        )
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("disclosure")
def disclosure_cmd(
    persons: Annotated[
        int, typer.Option(min=100, help="load this many synthetic persons if the database holds fewer")
    ] = 200_000,
    iterations: Annotated[int, typer.Option(min=1)] = 30,
    provisions: Annotated[int, typer.Option(min=0, help="provision records of the person")] = 1_000,
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database")] = "juki_bench",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """開示（F1-3）と提供状況の開示（S-55）の署名付きPDFの所要時間 p50/p99 を、素の読み出しと比較する。"""
    from juki.tools.bench.disclosure import bench_disclosure

    db = _db(database)
    with _stages({}) as tick:
        result = bench_disclosure(
            db, db.settings.data_dir / "bench", persons, seed, iterations, provisions, tick
        )
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("intake")
def intake_cmd(
    persons: Annotated[int, typer.Option(min=1000)] = 100_000,
    notifications: Annotated[int, typer.Option(min=100)] = 5_000,
    batch: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database")] = "juki_bench",
    processes: Annotated[
        bool,
        typer.Option(
            "--processes/--threads",
            help="peers as separate processes (default, as on their own machines), or threads of one process",
        ),
    ] = True,
    prefectures: Annotated[
        int,
        typer.Option(
            min=1,
            max=3,
            help="run this many prefectures' intake at once on this node, each its own cluster "
            "(14, 22, 27), with one of them alone in the same run (docs/scale.md)",
        ),
    ] = 1,
    gate: Annotated[Path | None, typer.Option(hidden=True)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """市町村CS→相互TLS→受付→全国サーバ送達までの通知/秒を、同一実行内のインプロセス適用と比較する。"""
    from dataclasses import replace

    from juki.tools.bench.intake import bench_intake
    from juki.tools.bench.intake_prefectures import (
        DEFAULT_PREFECTURES,
        bench_intake_prefectures,
        wait_at_gate,
    )

    settings = Settings.from_env()
    if prefectures > 1:
        result = bench_intake_prefectures(
            settings.data_dir / "bench" / "prefectures",
            DEFAULT_PREFECTURES[:prefectures],
            persons,
            notifications,
            seed,
        )
        emit_json(result) if as_json else console.print_json(data=result)
        return
    db = open_database(replace(settings, database_name=database))
    opened = gate
    with _refused():
        result = bench_intake(
            db,
            db.settings.data_dir / "bench",
            persons,
            seed,
            notifications,
            batch,
            processes=processes,
            gate=(lambda: wait_at_gate(opened, settings.prefecture)) if opened is not None else None,
        )
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("all")
def all_cmd(
    persons: Annotated[int, typer.Option(min=1000)] = 100_000,
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database (dropped and recreated)")] = "juki_bench",
    out: Annotated[Path, typer.Option(help="directory of report.json and report.md")] = Path(
        "docs/benchmarks"
    ),
    write_docs: Annotated[
        bool,
        typer.Option(
            "--write-docs",
            help="rewrite the generated tables of docs/benchmarks.md and README.md (repo root)",
        ),
    ] = False,
    root: Annotated[Path, typer.Option(help="repository root for --write-docs")] = Path("."),
) -> None:
    """全ベンチマーク（load, update, intake, reconcile, search, stats, provision, disclosure, restore）を
    1つのDBで実行し、1つの報告を書く（restore は最大100万人で測り、--persons へ外挿する）。"""
    from juki.tools.bench.report import (
        headline,
        render_markdown,
        run_suite,
        write_between_markers,
        write_report,
    )

    db = _db(database)

    def shown(name: str, result: dict[str, Any]) -> None:
        # No markup: an error's text may hold brackets.
        console.print(f"{name}: {headline(result)}", style="red" if "error" in result else None, markup=False)

    report = run_suite(db, db.settings.data_dir / "bench", persons, seed, on_step=shown)
    json_path, md_path = write_report(report, out)
    console.print(f"report: {json_path}, {md_path}")
    if write_docs:
        table = render_markdown(report)
        for doc in (root / "docs" / "benchmarks.md", root / "README.md"):
            write_between_markers(doc, table)
            console.print(f"rewrote the generated table of {doc}")
    if not report["ok"]:
        raise typer.Exit(1)


@app.command("stats")
def stats_cmd(
    persons: Annotated[
        int, typer.Option(min=100, help="load this many synthetic persons if the database holds fewer")
    ] = 200_000,
    file: Annotated[str, typer.Option(help="pref (File 1) or fuhyo (File 2: 国外転出者のみ)")] = "pref",
    as_of: Annotated[list[str] | None, typer.Option("--as-of", help="基準日 YYYY-MM-DD (repeatable)")] = None,
    repeat: Annotated[int, typer.Option(min=1, max=20)] = 3,
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database")] = "juki_bench",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """統計（F1-8）の全表を基準日ごとに集計する時間を、素の GROUP BY 1回と比較する（操作ログ込み）。"""
    from datetime import date

    from juki.domain.records import FileKind
    from juki.tools.bench.stats import DEFAULT_DATES, bench_stats

    if file not in {kind.value for kind in FileKind}:
        raise typer.BadParameter("pref または fuhyo を指定してください", param_hint="--file")
    try:
        dates = tuple(date.fromisoformat(d) for d in as_of) if as_of else DEFAULT_DATES
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD で指定してください", param_hint="--as-of") from None
    db = _db(database)
    with _stages({}) as tick:
        result = bench_stats(
            db, db.settings.data_dir / "bench", persons, seed, FileKind(file), dates, repeat, tick
        )
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("provision")
def provision_cmd(
    persons: Annotated[
        int, typer.Option(min=100, help="load this many synthetic persons if the database holds fewer")
    ] = 100_000,
    requests: Annotated[int, typer.Option(min=10, help="rows of the bulk request file")] = 100_000,
    singles: Annotated[int, typer.Option(min=0, help="single provisions for the p99 (0: none)")] = 2_000,
    seed: Annotated[int, typer.Option()] = 1,
    database: Annotated[str, typer.Option(help="benchmark database")] = "juki_bench",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """一括提供（F1-2b）の照会要求→照会結果を準備済みキーの素の SQL と比較し、個別提供の p99 も測る。"""
    from juki.tools.bench.provision import bench_provision

    db = _db(database)
    with _refused(), _stages({}) as tick:
        result = bench_provision(db, db.settings.data_dir / "bench", persons, requests, seed, singles, tick)
    emit_json(result) if as_json else console.print_json(data=result)


@app.command("restore")
def restore_cmd(
    persons: Annotated[int, typer.Option(min=100)] = 1_000_000,
    lost_changes: Annotated[int, typer.Option(min=1)] = 200,
    extrapolate_to: Annotated[int, typer.Option(min=1)] = 10_000_000,
    work: Annotated[
        Path | None, typer.Option(help="作業ディレクトリ（既定: 一時ディレクトリ、終了後に削除）")
    ] = None,
) -> None:
    """復旧訓練を計測する: バックアップ → データディレクトリ削除 → 復元 → 検証（RPO / RTO）。"""
    import shutil
    import tempfile

    from juki.tools.bench.restore import extrapolate, restore_drill

    folder = work or Path(tempfile.mkdtemp(prefix="juki-bench-restore-"))
    try:
        figures = restore_drill(
            folder / "drill", persons, lost_changes=lost_changes, pg_binaries=Settings.from_env().pg_binaries
        )
        figures["extrapolated"] = extrapolate(figures, extrapolate_to)
        emit_json(figures)
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)
    if not figures["ok"]:
        raise typer.Exit(1)


@app.command("failover")
def failover_cmd(
    runs: Annotated[int, typer.Option(min=1, max=20)] = 3,
    persons: Annotated[int, typer.Option(min=100)] = 400,
    changes: Annotated[int, typer.Option(min=50)] = 400,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """主サーバ喪失の訓練（S-49）：受付中に主ノードを kill -9 し、RTO と失われた受理済み通知（RPO）を測る。"""
    from juki.tools.bench.failover import bench_failover

    result = bench_failover(
        runs, persons=persons, changes=changes, each=lambda run: console.print(f"run: {run}", soft_wrap=True)
    )
    emit_json(result) if as_json else console.print_json(data=result)
