"""`juki query code|my-number|basic4`: query J-LIS (全国サーバ / 附票全国サーバ) over mutual TLS (F1-5, F2-5).

The query presents the file's own client certificate from the PKI directory (``pref-server`` for
``--file pref``, ``fuhyo-server`` for ``--file fuhyo``) and goes to ``JUKI_NATIONAL_URL`` /
``JUKI_FUHYO_NATIONAL_URL``, like ``juki relay run``. Every query leaves a communication record in the
file's ``jlis_query_log`` (REC-4). ``--local-first`` searches the prefecture's own file first and asks
J-LIS only when nobody is found there (the F1-2 flow for persons of other prefectures).

Exit codes: 0 answered (also when nobody was found: the count says so), 1 refused or failed (the
server's code is shown), 2 usage error.
"""

from __future__ import annotations

import getpass
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from juki.domain.records import FileKind
from juki.interfaces.common import console, emit_json, open_database
from juki.services.access.pki import Pki, client_context
from juki.services.jlis import query as jlis
from juki.services.jlis.relay import Peer

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


def _run(
    file: FileChoice,
    keys: jlis.SearchKeys,
    *,
    local_first: bool,
    as_json: bool,
    national_url: str | None,
    fuhyo_national_url: str | None,
    pki_dir: Path | None,
    pref_cert: str,
    fuhyo_cert: str,
    operator: str | None,
    terminal: str | None,
    timeout: float,
) -> None:
    kind = FileKind(file.value)
    url, cert_name = (national_url, pref_cert) if kind is FileKind.PREF else (fuhyo_national_url, fuhyo_cert)
    if not url:
        option = (
            "--national-url / JUKI_NATIONAL_URL"
            if kind is FileKind.PREF
            else "--fuhyo-national-url / JUKI_FUHYO_NATIONAL_URL"
        )
        raise _fail(f"{kind.value} の照会先 URL を {option} で指定してください")
    db = open_database()
    pki = Pki(pki_dir) if pki_dir else Pki(db.settings.data_dir / "pki")
    try:
        crl = pki.crl_path if pki.crl_path.exists() else None
        ctx = client_context(pki.cert_path(cert_name), pki.key_path(cert_name), pki.ca_cert_path, crl)
    except (OSError, ValueError) as exc:
        raise _fail(f"証明書 {cert_name} を読めません（{pki.directory}）: {exc}") from None
    function = "F1-5" if kind is FileKind.PREF else "F2-5"
    if local_first:
        function = "F1-2" if kind is FileKind.PREF else "F2-2"
    caller = jlis.Caller(
        operator_id=operator or f"cli:{getpass.getuser()}",
        terminal_id=terminal or f"cli:{socket.gethostname()}",
        function=function,
    )
    try:
        with (
            jlis.jlis_connection(db, kind) as conn,
            jlis.JlisClient(Peer(url, ctx), kind, conn, caller=caller, timeout=timeout) as client,
        ):
            if local_first:
                result = jlis.search_person(conn, client, keys, caller=caller)
            else:
                answer = client.query(keys)
                result = jlis.SearchResult(jlis.Source.NATIONAL, keys.kind, answer.matches, answer.log_id)
    except jlis.JlisError as exc:
        if as_json:
            emit_json({"file": kind.value, "error": {"code": exc.code, "message": exc.message}})
        raise _fail(f"{exc.code} {exc.message}") from None
    out: dict[str, Any] = {"file": kind.value, **result.to_dict()}
    if as_json:
        emit_json(out)
        return
    source = "自県のファイル" if result.source is jlis.Source.LOCAL else client.label
    if not result.matches:
        console.print(f"該当なし（照会先: {source}）")
        return
    columns = ["住民票コード", "氏名", "ふりがな", "生年月日", "性別", "住所"]
    if kind is FileKind.PREF:
        columns.append("個人番号")
    table = Table(*columns, title=f"{len(result.matches)} 件（照会先: {source}）")
    for match in result.matches:
        record = match.record
        cells = [match.juminhyo_code] + [
            str(record.get(k) or "") for k in ("name_kanji", "name_kana", "birth_date", "sex", "address")
        ]
        if kind is FileKind.PREF:
            cells.append(str(record.get("my_number") or ""))
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


@app.command("code")
def code_cmd(
    juminhyo_code: Annotated[str, typer.Argument(help="住民票コード（11 桁）")],
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
    """住民票コードで本人確認情報を照会する。"""
    _run(
        file,
        jlis.SearchKeys(juminhyo_code=juminhyo_code),
        local_first=local_first,
        as_json=as_json,
        national_url=national_url,
        fuhyo_national_url=fuhyo_national_url,
        pki_dir=pki_dir,
        pref_cert=pref_cert,
        fuhyo_cert=fuhyo_cert,
        operator=operator,
        terminal=terminal,
        timeout=timeout,
    )


@app.command("my-number")
def my_number_cmd(
    my_number: Annotated[str, typer.Argument(help="個人番号（12 桁）")],
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
    """個人番号で本人確認情報を照会する（全国サーバのみ。附票全国サーバは個人番号を扱わない）。"""
    if file is FileChoice.fuhyo:
        raise _fail("E_QUERY_KEY 附票全国サーバには個人番号で照会できません")
    _run(
        file,
        jlis.SearchKeys(my_number=my_number),
        local_first=local_first,
        as_json=as_json,
        national_url=national_url,
        fuhyo_national_url=fuhyo_national_url,
        pki_dir=pki_dir,
        pref_cert=pref_cert,
        fuhyo_cert=fuhyo_cert,
        operator=operator,
        terminal=terminal,
        timeout=timeout,
    )


@app.command("basic4")
def basic4_cmd(
    name_kana: Annotated[str | None, typer.Option(help="氏名のふりがな（氏と名、空白は無視）")] = None,
    family_kana: Annotated[str | None, typer.Option(help="氏のふりがな")] = None,
    given_kana: Annotated[str | None, typer.Option(help="名のふりがな")] = None,
    prefix: Annotated[bool, typer.Option("--prefix", help="ふりがなを前方一致で検索する")] = False,
    birth_date: Annotated[
        str | None, typer.Option(help="生年月日（1980-04-01、昭和55年4月1日など。年・年月のみは期間検索）")
    ] = None,
    sex: Annotated[str | None, typer.Option(help="性別（1: 男、2: 女）")] = None,
    address: Annotated[str | None, typer.Option(help="住所（前方一致。都道府県・市区町村は省略可）")] = None,
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
    """4情報（氏名・生年月日・性別・住所）の組合せで照会する。氏名に加えて生年月日または住所が必要。"""
    query = jlis.Basic4(
        name_kana=name_kana,
        family_kana=family_kana,
        given_kana=given_kana,
        name_match=jlis.NameMatch.PREFIX if prefix else jlis.NameMatch.EXACT,
        birth_date=birth_date,
        sex=sex,
        address=address,
    )
    try:
        jlis.basic4_keys(query)  # the minimum conditions, before anything else
    except jlis.JlisError as exc:
        raise _fail(f"{exc.code} {exc.message}") from None
    _run(
        file,
        jlis.SearchKeys(basic4=query),
        local_first=local_first,
        as_json=as_json,
        national_url=national_url,
        fuhyo_national_url=fuhyo_national_url,
        pki_dir=pki_dir,
        pref_cert=pref_cert,
        fuhyo_cert=fuhyo_cert,
        operator=operator,
        terminal=terminal,
        timeout=timeout,
    )
