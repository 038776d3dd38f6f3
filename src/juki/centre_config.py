"""The consolidation centre's configuration (集約センター, REQUIREMENTS Q-08, issue 14): ``centre.toml``.

The centre hosts several prefectures on one set of machines as **one juki instance per prefecture**:
each has its own PostgreSQL cluster (login roles are cluster-global and the migrations name fixed
roles, so two prefectures in one cluster would share `juki_pref`), its own PKI (CA, server and
client certificates), its own operation log and checkpoints, and its own intake and terminal ports.
This file lists them; `juki centre …` acts on them and `settings_for` gives one instance's `Settings`,
the same settings a single-prefecture deployment reads from the environment.

Routing is by the municipality code: a 地方公共団体コード starts with its 都道府県コード, so `route`
names the prefecture whose intake takes a municipality's notifications (docs/deployment.md).

Layer: configuration (like `juki.config`): reads a file, no database, no network.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from juki.config import Settings, prefecture_code
from juki.domain.codes import is_valid_lg_code, prefecture_of_lg_code

#: The centre's configuration file in its directory.
CENTRE_FILE = "centre.toml"
#: First port of the first prefecture: its intake; the terminal UI is the next one (the single
#: instance's defaults, 8443 and 8444).
DEFAULT_BASE_PORT = 8443
#: Ports a prefecture takes from the base on (intake, terminal, room for more services).
PORTS_PER_PREFECTURE = 10
FORMAT_VERSION = 1


class CentreError(ValueError):
    """A centre configuration or a routing question that cannot be answered: a stable code and a
    Japanese message for the operator."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PrefectureInstance:
    """One prefecture's instance in the centre: where its data, database and services are."""

    code: str  # 都道府県コード, 2 digits
    data_dir: Path  # absolute: the instance's JUKI_DATA_DIR (cluster, PKI, checkpoints, outputs)
    #: An external PostgreSQL (its own cluster, e.g. Debian's `pg_createcluster 15 pref22`); None =
    #: the centre's embedded cluster in ``data_dir`` (password authentication, see store/centre_cluster).
    database_url: str | None
    host: str  # the address its intake and terminal UI listen on
    intake_port: int
    terminal_port: int
    terminal_host: str = "localhost"  # the terminal UI's host name (WebAuthn relying party)

    @property
    def pki_directory(self) -> Path:
        """The prefecture's own PKI (its CA and certificates), inside its data directory: a centre's
        JUKI_PKI_DIR would put every prefecture's keys in one place, so it is not applied here."""
        return self.data_dir / "pki"

    @property
    def intake_url(self) -> str:
        return f"https://{'127.0.0.1' if self.host in ('0.0.0.0', '::') else self.host}:{self.intake_port}"

    @property
    def terminal_origin(self) -> str:
        return f"https://{self.terminal_host}:{self.terminal_port}"

    @property
    def label(self) -> str:
        return f"都道府県コード {self.code}"


@dataclass(frozen=True)
class Centre:
    """The prefectures the centre hosts, in the order of the file."""

    path: Path  # the centre.toml
    prefectures: tuple[PrefectureInstance, ...]

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.prefectures)

    def get(self, code: str) -> PrefectureInstance:
        """The instance of prefecture ``code``; C_PREFECTURE_NOT_HOSTED when the centre has none."""
        for instance in self.prefectures:
            if instance.code == code:
                return instance
        raise CentreError(
            "C_PREFECTURE_NOT_HOSTED",
            f"都道府県コード {code} の都道府県サーバはこのセンターにありません（{', '.join(self.codes)}）",
        )

    def route(self, lg_code: str) -> PrefectureInstance:
        """The instance whose intake takes the notifications of municipality ``lg_code``.

        C_LG_CODE for a malformed code; C_PREFECTURE_NOT_HOSTED when its prefecture is not here.
        """
        if not is_valid_lg_code(lg_code):
            raise CentreError(
                "C_LG_CODE", f"地方公共団体コード {lg_code!r} が不正です（半角数字6桁、検査数字が合うこと）"
            )
        return self.get(prefecture_of_lg_code(lg_code))


def parse_prefectures(text: str) -> tuple[str, ...]:
    """``"14,22"`` → ("14", "22"): each a 都道府県コード, none twice (C_PREFECTURES otherwise)."""
    codes = [part.strip() for part in text.split(",") if part.strip()]
    if not codes:
        raise CentreError(
            "C_PREFECTURES", "都道府県コードを1つ以上、カンマ区切りで指定してください（例 14,22）"
        )
    out: list[str] = []
    for code in codes:
        try:
            code = prefecture_code(code.zfill(2) if code.isdigit() else code)
        except ValueError:
            raise CentreError("C_PREFECTURES", f"{code!r} は都道府県コード（01〜47）ではありません") from None
        if code in out:
            raise CentreError("C_PREFECTURES", f"都道府県コード {code} が2回指定されています")
        out.append(code)
    return tuple(out)


def new_centre(
    directory: Path, codes: Iterable[str], *, base_port: int = DEFAULT_BASE_PORT, host: str = "127.0.0.1"
) -> Centre:
    """A centre of ``codes`` in ``directory``: prefecture NN's data in ``pref-NN/``, ports from ``base_port``
    on (``PORTS_PER_PREFECTURE`` each, in the order given), every database embedded."""
    directory = directory.resolve()
    instances = tuple(
        PrefectureInstance(
            code=code,
            data_dir=directory / f"pref-{code}",
            database_url=None,
            host=host,
            intake_port=base_port + i * PORTS_PER_PREFECTURE,
            terminal_port=base_port + i * PORTS_PER_PREFECTURE + 1,
        )
        for i, code in enumerate(codes)
    )
    centre = Centre(directory / CENTRE_FILE, instances)
    _check(centre)
    return centre


def centre_path(where: Path) -> Path:
    """``where`` itself when it is a file, else ``where/centre.toml``."""
    return where if where.suffix == ".toml" else where / CENTRE_FILE


def load_centre(where: Path) -> Centre:
    """Read and check ``centre.toml`` (``where``: the file or its directory)."""
    path = centre_path(where).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CentreError(
            "C_CENTRE_MISSING", f"{path} がありません（`juki centre init --prefectures 14,22 <dir>` で作成）"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CentreError("C_CENTRE_FILE", f"{path} を TOML として読めません: {exc}") from None
    if data.get("version") != FORMAT_VERSION:
        raise CentreError("C_CENTRE_FILE", f"{path}: version = {FORMAT_VERSION} が必要です")
    rows = data.get("prefecture")
    if not isinstance(rows, list) or not rows:
        raise CentreError("C_CENTRE_FILE", f"{path}: [[prefecture]] が1つもありません")
    instances = []
    for row in rows:
        try:
            code = prefecture_code(str(row["code"]))
            data_dir = Path(str(row["data_dir"]))
            instances.append(
                PrefectureInstance(
                    code=code,
                    data_dir=(path.parent / data_dir).resolve(),
                    database_url=str(row.get("database_url") or "") or None,
                    host=str(row.get("host", "127.0.0.1")),
                    intake_port=int(row["intake_port"]),
                    terminal_port=int(row["terminal_port"]),
                    terminal_host=str(row.get("terminal_host", "localhost")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CentreError("C_CENTRE_FILE", f"{path}: [[prefecture]] の項目が不正です: {exc}") from None
    centre = Centre(path, tuple(instances))
    _check(centre)
    return centre


def _check(centre: Centre) -> None:
    """No prefecture, data directory or port twice: two instances sharing one would share data."""
    seen: dict[object, str] = {}
    for instance in centre.prefectures:
        for what, key in (
            ("都道府県コード", ("code", instance.code)),
            ("データディレクトリ", ("dir", instance.data_dir)),
            ("ポート", ("port", instance.intake_port)),
            ("ポート", ("port", instance.terminal_port)),
            ("データベース", ("db", instance.database_url or instance.data_dir)),
        ):
            if key in seen:
                raise CentreError(
                    "C_CENTRE_FILE",
                    f"{what} {key[1]} を都道府県 {seen[key]} と {instance.code} が共有しています"
                    "（都道府県ごとに別にしてください）",
                )
            seen[key] = instance.code
        if not (0 < instance.intake_port < 65536 and 0 < instance.terminal_port < 65536):
            raise CentreError("C_CENTRE_FILE", f"都道府県 {instance.code} のポートが範囲外です")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_centre(centre: Centre) -> Path:
    """Write ``centre.toml`` (refusing to replace one: the data directories it names hold data)."""
    if centre.path.exists():
        raise CentreError("C_CENTRE_EXISTS", f"{centre.path} は既にあります（上書きしません）")
    lines = [
        "# juki consolidation centre (集約センター): one instance per prefecture, each with its own",
        "# PostgreSQL cluster, PKI, operation log and ports (docs/deployment.md).",
        f"version = {FORMAT_VERSION}",
        "",
    ]
    for p in centre.prefectures:
        try:
            data_dir = str(p.data_dir.relative_to(centre.directory))
        except ValueError:
            data_dir = str(p.data_dir)
        lines += [
            "[[prefecture]]",
            f"code = {_quote(p.code)}",
            f"data_dir = {_quote(data_dir)}",
            "# empty: the centre's embedded cluster in data_dir; else this prefecture's own cluster",
            f"database_url = {_quote(p.database_url or '')}",
            f"host = {_quote(p.host)}",
            f"intake_port = {p.intake_port}",
            f"terminal_port = {p.terminal_port}",
            f"terminal_host = {_quote(p.terminal_host)}",
            "",
        ]
    centre.directory.mkdir(parents=True, exist_ok=True)
    centre.path.write_text("\n".join(lines), encoding="utf-8")
    return centre.path


def settings_for(instance: PrefectureInstance, base: Settings, database_url: str | None) -> Settings:
    """The settings of one prefecture's instance: ``base`` (the operator's other settings) with this
    prefecture's data directory, code, database and terminal origin. ``database_url`` is the URL to
    use (the instance's own, or its embedded cluster's with password file)."""
    return replace(
        base,
        data_dir=instance.data_dir,
        prefecture=instance.code,
        database_url=database_url,
        pki_dir=instance.pki_directory,  # the prefecture's own CA and certificates
        webauthn_origin=instance.terminal_origin,
        webauthn_rp_id=instance.terminal_host,
    )
