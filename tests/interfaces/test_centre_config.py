"""Issue 14 — the consolidation centre's configuration (centre.toml) and routing by prefecture.

No database here: the file, its checks and the routing table, and the `juki centre env` / `route`
commands that read it. Preparing the prefectures (clusters, passwords, CAs) is exercised by
tests/interfaces/test_centre_isolation.py through `juki centre init`.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from juki.centre_config import (
    CentreError,
    load_centre,
    new_centre,
    parse_prefectures,
    settings_for,
    write_centre,
)
from juki.config import Settings
from juki.interfaces.cli import app as cli_app


def test_issue14_parse_prefectures_takes_codes_once_each() -> None:
    assert parse_prefectures("14,22") == ("14", "22")
    assert parse_prefectures(" 1, 47 ") == ("01", "47")
    for bad in ("", "14,14", "48", "00", "kanagawa", "14;22"):
        with pytest.raises(CentreError) as refused:
            parse_prefectures(bad)
        assert refused.value.code == "C_PREFECTURES" and refused.value.message


def test_issue14_a_new_centre_gives_each_prefecture_its_own_directory_and_ports(tmp_path: Path) -> None:
    centre = new_centre(tmp_path, ("14", "22"), base_port=57400)
    first, second = centre.prefectures
    assert (first.data_dir, second.data_dir) == (tmp_path / "pref-14", tmp_path / "pref-22")
    assert (first.intake_port, first.terminal_port) == (57400, 57401)
    assert (second.intake_port, second.terminal_port) == (57410, 57411)
    assert first.database_url is None and first.intake_url == "https://127.0.0.1:57400"
    write_centre(centre)
    assert load_centre(tmp_path) == centre  # the file says exactly what was made
    with pytest.raises(CentreError) as exists:
        write_centre(centre)
    assert exists.value.code == "C_CENTRE_EXISTS"


def test_issue14_routing_by_the_prefecture_prefix_of_the_municipality_code(tmp_path: Path) -> None:
    centre = new_centre(tmp_path, ("14", "22"))
    assert centre.route("141011").code == "14"  # 横浜市鶴見区
    assert centre.route("221007").code == "22"  # 静岡市
    with pytest.raises(CentreError) as other:
        centre.route("131016")  # 千代田区: Tokyo is not hosted here
    assert other.value.code == "C_PREFECTURE_NOT_HOSTED" and "13" in other.value.message
    for malformed in ("14101", "141012", "14101a", "１４１０１１"):
        with pytest.raises(CentreError) as bad:
            centre.route(malformed)
        assert bad.value.code == "C_LG_CODE"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ('code = "14"', "都道府県コード 14"),  # both entries prefecture 14
        ('data_dir = "pref-14"', "データディレクトリ"),
        ("intake_port = 57400", "ポート"),
        ("terminal_port = 57400", "ポート"),
    ],
)
def test_issue14_two_prefectures_never_share_a_code_directory_port_or_database(
    tmp_path: Path, change: str, needle: str
) -> None:
    """Two instances sharing a data directory, a database or a port would share data or listeners."""
    write_centre(new_centre(tmp_path, ("14", "22"), base_port=57400))
    path = tmp_path / "centre.toml"
    text = path.read_text(encoding="utf-8")
    head, second = text.split("[[prefecture]]")[1:]
    key = change.split(" = ")[0]
    lines = [change if line.startswith(f"{key} = ") else line for line in second.splitlines()]
    path.write_text(text.replace(second, "\n".join(lines) + "\n"), encoding="utf-8")
    assert head  # the first prefecture kept as written
    with pytest.raises(CentreError) as refused:
        load_centre(tmp_path)
    assert refused.value.code == "C_CENTRE_FILE" and needle in refused.value.message


def test_issue14_two_prefectures_never_share_an_external_database(tmp_path: Path) -> None:
    write_centre(new_centre(tmp_path, ("14", "22"), base_port=57400))
    path = tmp_path / "centre.toml"
    shared = 'database_url = "host=db.example port=5432 dbname=juki"'
    path.write_text(path.read_text(encoding="utf-8").replace('database_url = ""', shared), encoding="utf-8")
    with pytest.raises(CentreError) as refused:
        load_centre(tmp_path)
    assert refused.value.code == "C_CENTRE_FILE" and "データベース" in refused.value.message


def test_issue14_a_missing_or_broken_file_is_a_clear_refusal(tmp_path: Path) -> None:
    with pytest.raises(CentreError) as missing:
        load_centre(tmp_path)
    assert missing.value.code == "C_CENTRE_MISSING" and "juki centre init" in missing.value.message
    (tmp_path / "centre.toml").write_text("version = 1\n[[prefecture]]\ncode = 14\n", encoding="utf-8")
    with pytest.raises(CentreError) as broken:
        load_centre(tmp_path)
    assert broken.value.code == "C_CENTRE_FILE"


def test_issue14_settings_of_an_instance_are_its_own(tmp_path: Path) -> None:
    centre = new_centre(tmp_path, ("14", "22"))
    base = Settings(pki_dir=tmp_path / "shared-pki", search_cap=7)
    settings = settings_for(centre.get("22"), base, "host=/x dbname=juki")
    assert settings.prefecture == "22" and settings.data_dir == tmp_path / "pref-22"
    assert settings.pki_directory == tmp_path / "pref-22" / "pki"  # never a PKI shared by prefectures
    assert settings.webauthn_origin == "https://localhost:8454" and settings.search_cap == 7


def test_issue14_cli_env_and_route(tmp_path: Path) -> None:
    write_centre(new_centre(tmp_path, ("14", "22"), base_port=57400))
    runner = CliRunner()
    env = runner.invoke(cli_app, ["centre", "env", str(tmp_path), "22"])
    assert env.exit_code == 0, env.output
    exported = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in env.stdout.splitlines()
    )
    assert exported["JUKI_PREFECTURE"] == "22"
    assert exported["JUKI_DATA_DIR"] == str(tmp_path / "pref-22")
    assert "passfile=" + str(tmp_path / "pref-22" / "pgpass") in exported["JUKI_DATABASE_URL"]
    routed = runner.invoke(cli_app, ["centre", "route", str(tmp_path), "141011", "--json"])
    assert routed.exit_code == 0 and json.loads(routed.stdout) == {
        "lg_code": "141011",
        "prefecture": "14",
        "intake": "https://127.0.0.1:57400",
    }
    refused = runner.invoke(cli_app, ["centre", "route", str(tmp_path), "131016"])
    assert refused.exit_code == 2 and "C_PREFECTURE_NOT_HOSTED" in refused.output
    unknown = runner.invoke(cli_app, ["centre", "env", str(tmp_path), "13"])
    assert unknown.exit_code == 2 and "C_PREFECTURE_NOT_HOSTED" in unknown.output


def test_issue14_cli_status_lists_each_prefecture(tmp_path: Path) -> None:
    write_centre(new_centre(tmp_path, ("14", "22"), base_port=57400))
    status = CliRunner().invoke(cli_app, ["centre", "status", str(tmp_path), "--json"])
    assert status.exit_code == 0, status.output
    rows = json.loads(status.stdout)
    assert [(r["prefecture"], r["database"], r["running"]) for r in rows] == [
        ("14", "embedded", False),
        ("22", "embedded", False),
    ]
    assert (
        rows[1]["terminal"] == "https://localhost:57411/" and rows[1]["intake"] == "https://127.0.0.1:57410"
    )
    missing = CliRunner().invoke(cli_app, ["centre", "status", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "C_CENTRE_MISSING" in missing.output
