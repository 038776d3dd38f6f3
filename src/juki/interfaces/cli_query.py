"""`juki query code|my-number|basic4`: query J-LIS (全国サーバ / 附票全国サーバ) over mutual TLS (F1-5, F2-5).

The query presents the file's own client certificate from the PKI directory (``pref-server`` for
``--file pref``, ``fuhyo-server`` for ``--file fuhyo``) and goes to ``JUKI_NATIONAL_URL`` /
``JUKI_FUHYO_NATIONAL_URL``, like ``juki relay run``. Every query leaves a communication record in the
file's ``jlis_query_log`` (REC-4). ``--local-first`` searches the prefecture's own file first and asks
J-LIS only when nobody is found there (the F1-2 flow for persons of other prefectures).

The options shared by the three commands belong to the ``query`` group and come before the command:
``juki query --file fuhyo --json code 12345678901``.

Who asked: the CLI has no signed-in operator yet (a later issue signs CLI users in), so the
communication record names the free-text ``--operator`` / ``--terminal`` (default ``cli:<user>`` /
``cli:<host>``), not an :class:`~juki.services.access.actor.Actor`.

Exit codes: 0 answered (also when nobody was found: the count says so), 1 refused or failed (the
server's code is shown), 2 usage error.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from juki.files import FileSpec, file_spec
from juki.interfaces.common import console, emit_json, open_database
from juki.services.access.pki import Pki, client_context
from juki.services.jlis.client import (
    Basic4,
    JlisClient,
    JlisError,
    SearchKeys,
    basic4_keys,
    jlis_connection,
)
from juki.services.jlis.communication_records import Requester
from juki.services.jlis.local_first import SearchResult, Source, search_person
from juki.services.jlis.relay import Peer
from juki.services.search.conditions import NameMatch

app = typer.Typer(
    help="地方公共団体情報システム機構（全国サーバ・附票全国サーバ）への照会（住民票コード・個人番号・4情報）",
    no_args_is_help=True,
)


class FileChoice(StrEnum):
    pref = "pref"
    fuhyo = "fuhyo"


FileOpt = Annotated[
    FileChoice, typer.Option("--file", help="pref（全国サーバに照会）または fuhyo（附票全国サーバに照会）")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="結果を JSON で出力する")]
LocalFirstOpt = Annotated[
    bool,
    typer.Option("--local-first", help="まず自県のファイルを検索し、該当がないときだけ全国サーバに照会する"),
]
NationalUrlOpt = Annotated[
    str | None, typer.Option(envvar="JUKI_NATIONAL_URL", help="全国サーバの URL（https://host:port）")
]
FuhyoUrlOpt = Annotated[
    str | None, typer.Option(envvar="JUKI_FUHYO_NATIONAL_URL", help="附票全国サーバの URL")
]
PkiDirOpt = Annotated[Path | None, typer.Option(help="PKI ディレクトリ（既定: <JUKI_DATA_DIR>/pki）")]
PrefCertOpt = Annotated[str, typer.Option(help="都道府県サーバのクライアント証明書名")]
FuhyoCertOpt = Annotated[str, typer.Option(help="附票都道府県サーバのクライアント証明書名")]
OperatorOpt = Annotated[str | None, typer.Option(help="照会者（通信記録に残す。既定: cli:<ユーザー名>）")]
TerminalOpt = Annotated[str | None, typer.Option(help="端末（通信記録に残す。既定: cli:<ホスト名>）")]
TimeoutOpt = Annotated[float, typer.Option(min=0.1, help="照会のタイムアウト（秒）")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


@dataclass(frozen=True)
class QueryOptions:
    """The ``query`` group's options, shared by its commands (``ctx.obj``)."""

    file: FileSpec
    local_first: bool
    as_json: bool
    url: str | None  # of the file's J-LIS server
    url_option: str  # how to give it, for the message when it is missing
    pki_dir: Path | None
    cert: str  # the file's client certificate
    operator: str | None
    terminal: str | None
    timeout: float


@app.callback()
def query_options(
    ctx: typer.Context,
    file: FileOpt = FileChoice.pref,
    local_first: LocalFirstOpt = False,
    as_json: JsonOpt = False,
    national_url: NationalUrlOpt = None,
    fuhyo_national_url: FuhyoUrlOpt = None,
    pki_dir: PkiDirOpt = None,
    pref_cert: PrefCertOpt = "pref-server",
    fuhyo_cert: FuhyoCertOpt = "fuhyo-server",
    operator: OperatorOpt = None,
    terminal: TerminalOpt = None,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """地方公共団体情報システム機構（全国サーバ・附票全国サーバ）への照会。共通オプションはコマンドの前に指定する。"""
    spec = file_spec(file.value)
    # The file's own server and certificate options are named after it: --national-url / --pref-cert
    # for File 1, --fuhyo-national-url / --fuhyo-cert for File 2.
    server = spec.national_peer.value
    url: str | None = ctx.params[f"{server}_url"]
    cert: str = ctx.params[f"{spec.value}_cert"]
    url_option = f"--{server.replace('_', '-')}-url / JUKI_{server.upper()}_URL"
    ctx.obj = QueryOptions(
        spec, local_first, as_json, url, url_option, pki_dir, cert, operator, terminal, timeout
    )


def _run(opts: QueryOptions, keys: SearchKeys) -> None:
    spec = opts.file
    if not opts.url:
        raise _fail(f"{spec.value} の照会先 URL を {opts.url_option} で指定してください")
    db = open_database()
    pki = Pki(opts.pki_dir) if opts.pki_dir else Pki(db.settings.data_dir / "pki")
    try:
        crl = pki.crl_path if pki.crl_path.exists() else None
        ctx = client_context(pki.cert_path(opts.cert), pki.key_path(opts.cert), pki.ca_cert_path, crl)
    except (OSError, ValueError) as exc:
        raise _fail(f"証明書 {opts.cert} を読めません（{pki.directory}）: {exc}") from None
    requester = Requester(
        operator=opts.operator or f"cli:{getpass.getuser()}",
        terminal=opts.terminal or f"cli:{socket.gethostname()}",
    )
    try:
        with (
            jlis_connection(db, spec.kind) as conn,
            JlisClient(
                Peer(opts.url, ctx), spec.kind, conn, requester=requester, timeout=opts.timeout
            ) as client,
        ):
            if opts.local_first:
                result = search_person(conn, client, keys)
            else:
                answer = client.query(keys)
                result = SearchResult(Source.NATIONAL, keys.kind, answer.matches, answer.log_id)
    except JlisError as exc:
        if opts.as_json:
            emit_json({"file": spec.value, "error": {"code": exc.code, "message": exc.message}})
        raise _fail(f"{exc.code} {exc.message}") from None
    out: dict[str, Any] = {"file": spec.value, **result.to_dict()}
    if opts.as_json:
        emit_json(out)
        return
    source = "自県のファイル" if result.source is Source.LOCAL else client.label
    if not result.matches:
        console.print(f"該当なし（照会先: {source}）")
        return
    columns = ["住民票コード", "氏名", "ふりがな", "生年月日", "性別", "住所"]
    if spec.holds_my_number:
        columns.append("個人番号")
    table = Table(*columns, title=f"{len(result.matches)} 件（照会先: {source}）")
    for match in result.matches:
        record = match.record
        cells = [match.juminhyo_code] + [
            str(record.get(k) or "") for k in ("name_kanji", "name_kana", "birth_date", "sex", "address")
        ]
        if spec.holds_my_number:
            cells.append(str(record.get("my_number") or ""))
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


@app.command("code")
def code_cmd(
    ctx: typer.Context, juminhyo_code: Annotated[str, typer.Argument(help="住民票コード（11 桁）")]
) -> None:
    """住民票コードで本人確認情報を照会する。"""
    _run(ctx.obj, SearchKeys(juminhyo_code=juminhyo_code))


@app.command("my-number")
def my_number_cmd(
    ctx: typer.Context, my_number: Annotated[str, typer.Argument(help="個人番号（12 桁）")]
) -> None:
    """個人番号で本人確認情報を照会する（全国サーバのみ。附票全国サーバは個人番号を扱わない）。"""
    opts: QueryOptions = ctx.obj
    if not opts.file.holds_my_number:
        raise _fail(f"E_QUERY_KEY {opts.file.national_label}には個人番号で照会できません")
    _run(opts, SearchKeys(my_number=my_number))


@app.command("basic4")
def basic4_cmd(
    ctx: typer.Context,
    name_kana: Annotated[str | None, typer.Option(help="氏名のふりがな（氏と名、空白は無視）")] = None,
    family_kana: Annotated[str | None, typer.Option(help="氏のふりがな")] = None,
    given_kana: Annotated[str | None, typer.Option(help="名のふりがな")] = None,
    prefix: Annotated[bool, typer.Option("--prefix", help="ふりがなを前方一致で検索する")] = False,
    birth_date: Annotated[
        str | None, typer.Option(help="生年月日（1980-04-01、昭和55年4月1日など。年・年月のみは期間検索）")
    ] = None,
    sex: Annotated[str | None, typer.Option(help="性別（1: 男、2: 女）")] = None,
    address: Annotated[str | None, typer.Option(help="住所（前方一致。都道府県・市区町村は省略可）")] = None,
) -> None:
    """4情報（氏名・生年月日・性別・住所）の組合せで照会する。氏名に加えて生年月日または住所が必要。"""
    query = Basic4(
        name_kana=name_kana,
        family_kana=family_kana,
        given_kana=given_kana,
        name_match=NameMatch.PREFIX if prefix else NameMatch.EXACT,
        birth_date=birth_date,
        sex=sex,
        address=address,
    )
    try:
        basic4_keys(query)  # the minimum conditions, before anything else
    except JlisError as exc:
        raise _fail(f"{exc.code} {exc.message}") from None
    _run(ctx.obj, SearchKeys(basic4=query))
