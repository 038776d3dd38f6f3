"""CLI commands for data: synth, load, apply, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from juki.config import Settings
from juki.domain.records import FileKind
from juki.interfaces.common import EXIT_REJECTED, console, emit_json, open_database
from juki.services.intake import NotificationApplier, Summary, iter_lines
from juki.services.ledger import ItemResult
from juki.services.load import LoadReport, load_population
from juki.store.db import Database, DbRole


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def synth_population(out: Path, persons: int, seed: int) -> dict[str, Any]:
    """Write the synthetic population CSVs with a progress bar; returns the writer's summary."""
    from juki.services.synth import write_population

    out.mkdir(parents=True, exist_ok=True)
    with _progress() as bar:
        task = bar.add_task("synth 人口生成", total=persons)
        summary = write_population(out, persons, seed, progress=lambda n: bar.update(task, completed=n))
        bar.update(task, completed=persons)
    return dict(vars(summary))


def synth_changes(
    out: Path, persons: int, seed: int, count: int, *, stream: int, invalid_share: float
) -> dict[str, int]:
    """Write a change stream as JSON Lines (malformed lines included when asked for)."""
    from juki.services.synth import generate_changes

    expected: dict[str, int] = {}
    with open(out, "wb") as handle:
        for change in generate_changes(persons, seed, count, stream=stream, invalid_share=invalid_share):
            line = change.raw_line if change.raw_line is not None else orjson.dumps(change.notification)
            handle.write(line + b"\n")
            expected[change.expect] = expected.get(change.expect, 0) + 1
    return expected


def load_dir(db: Database, src: Path, *, rejects_dir: Path) -> list[LoadReport]:
    """Load pref_*.csv and fuhyo_*.csv from ``src`` in parallel, with progress bars."""
    kinds = [k for k in FileKind if (src / f"{k.value}_current.csv").exists()]
    if not kinds:
        raise RuntimeError(f"{src} に pref_current.csv / fuhyo_current.csv がありません")
    roles = {FileKind.PREF: DbRole.PREF, FileKind.FUHYO: DbRole.FUHYO}
    with _progress() as bar:
        tasks = {k: bar.add_task(f"load {k.value}", total=None) for k in kinds}

        def tick(done: dict[FileKind, int]) -> None:
            for kind, n in done.items():
                bar.update(tasks[kind], completed=n)

        return load_population(
            {k: db.conninfo(roles[k]) for k in kinds},
            src,
            rejects_dir=rejects_dir,
            check_mode=db.settings.juminhyo_check_digit,
            progress=tick,
        )


def apply_file(
    db: Database, path: Path, *, only: FileKind | None, batch: int, on_result: Any = None
) -> tuple[Summary, list[ItemResult]]:
    """Apply a notifications file; returns the summary and the results (rejected ones always kept)."""
    summary = Summary()
    kept: list[ItemResult] = []
    with db.connect(DbRole.PREF) as pref_conn, db.connect(DbRole.FUHYO) as fuhyo_conn:
        applier = NotificationApplier(
            {FileKind.PREF: pref_conn, FileKind.FUHYO: fuhyo_conn},
            check_digit_mode=db.settings.juminhyo_check_digit,
            batch_size=batch,
            only=only,
        )
        with open(path, "rb") as handle:
            chunks = iter(lambda: handle.read(1 << 20), b"")
            for result in applier.apply(iter_lines(chunks), source=f"file:{path.name}"):
                summary.add(result)
                if on_result:
                    on_result(result)
                if result.status == "rejected":
                    kept.append(result)
    return summary, kept


def _print_result(result: ItemResult) -> None:
    if result.status == "rejected":
        console.print(
            f"行 {result.line_no}: [red]rejected[/red] {result.error_code} {escape(result.message or '')}"
        )
    else:
        colour = "green" if result.status == "accepted" else "yellow"
        extra = f" 更新順番号={result.update_seq}" if result.update_seq else ""
        warn = f" 警告={','.join(result.warnings)}" if result.warnings else ""
        console.print(
            f"行 {result.line_no}: [{colour}]{result.status}[/{colour}] {result.juminhyo_code}{extra}{warn}"
        )


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth_cmd(
        out: Annotated[Path, typer.Option(help="output directory (population) or .jsonl file (--changes)")],
        persons: Annotated[int, typer.Option(min=1, help="population size")] = 10_000,
        seed: Annotated[int, typer.Option(help="deterministic seed")] = 1,
        changes: Annotated[int, typer.Option(min=0, help="write N change notifications instead")] = 0,
        stream: Annotated[int, typer.Option(min=1, help="change stream number (distinct ids)")] = 1,
        invalid_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="share of invalid items")] = 0.0,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """合成人口（CSV）または異動通知ストリーム（JSON Lines）を生成する。実在の個人情報は含まない。"""
        if changes:
            expected = synth_changes(out, persons, seed, changes, stream=stream, invalid_share=invalid_share)
            result: dict[str, Any] = {"changes": changes, "out": str(out), "expected": expected}
        else:
            result = {"out": str(out), **synth_population(out, persons, seed)}
        emit_json(result) if as_json else console.print(result)

    @app.command("load")
    def load_cmd(
        src: Annotated[Path, typer.Argument(help="directory holding the synth CSV files")],
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """人口CSVを一括ロードする（空のファイルには索引を後から構築する高速経路）。"""
        db = open_database()
        reports = load_dir(db, src, rejects_dir=db.settings.data_dir / "rejects")
        payload = [r.__dict__ for r in reports]
        emit_json(payload) if as_json else console.print(payload)
        if any(r.rejected for r in reports):
            raise typer.Exit(EXIT_REJECTED)

    @app.command("apply")
    def apply_cmd(
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="notifications (JSON Lines)")],
        file: Annotated[str, typer.Option(help="auto (each line's 'file'), pref or fuhyo")] = "auto",
        batch: Annotated[int, typer.Option(min=1, max=5000)] = 500,
        as_json: Annotated[bool, typer.Option("--json", help="one JSON result per line on stdout")] = False,
        quiet: Annotated[bool, typer.Option(help="print rejected items and the summary only")] = False,
    ) -> None:
        """異動通知ファイルを適用し、通知ごとの結果（受理・重複・エラーコード）を出力する。"""
        if file not in ("auto", "pref", "fuhyo"):
            raise typer.BadParameter("--file は auto / pref / fuhyo")
        db = open_database()

        def show(result: ItemResult) -> None:
            if as_json:
                emit_json(result.to_dict())
            elif not quiet or result.status == "rejected":
                _print_result(result)

        summary, _ = apply_file(
            db, path, only=None if file == "auto" else FileKind(file), batch=batch, on_result=show
        )
        console.print(
            f"受理 {summary.accepted} 件 / 重複 {summary.duplicate} 件 / エラー {summary.rejected} 件"
        )
        if summary.rejected:
            raise typer.Exit(EXIT_REJECTED)

    @app.command("demo")
    def demo_cmd(
        persons: Annotated[int, typer.Option(min=100)] = 20_000,
        changes: Annotated[int, typer.Option(min=1)] = 400,
        keep_running: Annotated[bool, typer.Option(help="leave the database running afterwards")] = False,
    ) -> None:
        """組み込みDBを起動し、小さな合成人口をロードし、異動通知のデモストリームを適用する。"""
        settings = Settings.from_env()
        console.rule("juki demo")
        db = open_database(settings)
        where = f"embedded ({db.cluster.binaries.source} binaries)" if db.cluster else "external"
        console.print(f"1. データベース起動・マイグレーション済み: {where}")
        from juki.services.stats import file_counts

        with db.connect() as conn:
            counts = file_counts(conn)
        demo_dir = settings.data_dir / "demo"
        if counts["pref_present"] + counts["pref_ended"] == 0:
            console.print(f"2. 合成人口 {persons:,} 人を生成してロードします")
            synth_population(demo_dir / "population", persons, seed=1)
            for report in load_dir(db, demo_dir / "population", rejects_dir=settings.data_dir / "rejects"):
                console.print(
                    f"   {report.file}: {report.persons:,} 人, 履歴 {report.history_rows:,} 行, "
                    f"{report.seconds:.1f} 秒 ({report.mode})"
                )
        else:
            console.print("2. 人口はロード済みです（再ロードしません）")
        stream_path = demo_dir / "changes.jsonl"
        expected = synth_changes(stream_path, persons, 1, changes, stream=1, invalid_share=0.05)
        console.print(f"3. 異動通知 {changes} 件（うち意図的な不正 約5%）を適用します: {stream_path}")
        shown = 0
        outcomes: dict[str, int] = {}

        def show(result: ItemResult) -> None:
            nonlocal shown
            key = result.error_code or result.status
            outcomes[key] = outcomes.get(key, 0) + 1
            if result.status == "rejected" and shown < 12:
                _print_result(result)
                shown += 1

        summary, _ = apply_file(db, stream_path, only=None, batch=200, on_result=show)
        console.print(
            f"   受理 {summary.accepted} 件 / 重複 {summary.duplicate} 件 / エラー {summary.rejected} 件"
        )
        rerun = {k: v for k, v in expected.items() if k not in ("accepted", "duplicate")}
        rerun["duplicate"] = expected.get("accepted", 0) + expected.get("duplicate", 0)
        if outcomes == expected:
            console.print(f"   結果の内訳 {outcomes} — 生成時の期待値と一致")
        elif outcomes == rerun:
            console.print(
                "   再実行: 受理済みの通知はすべて「重複」として扱われ、二重には適用されていません"
                f"（内訳 {outcomes}）"
            )
        else:
            console.print(f"   [red]結果の内訳 {outcomes} — 期待値 {expected} と不一致[/red]")
        with db.connect() as conn:
            after = file_counts(conn)
        console.print("4. 現在の件数:")
        console.print_json(orjson.dumps(after).decode())
        if db.cluster and not keep_running:
            db.cluster.stop()
            console.print("5. データベースを停止しました（もう一度 `make run` すると冪等性を確認できます）")
