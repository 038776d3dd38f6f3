"""docs/deployment.md walked against Debian's PostgreSQL (issue 13 item 5: the guide must not rot).

The guide's ```sh deploy-step``` blocks run in order, in one bash, against a scratch cluster made with
Debian's `initdb` / `pg_ctl` (`/usr/lib/postgresql/15/bin`, installed by `make test` like chromium) on
a loopback port, with password authentication on 127.0.0.1 as Debian configures it. Migrations run
as the guide's non-superuser `juki_admin`; the certificates come from the guide's stand-in CA through
`juki pki import`. Then `juki serve` (mTLS) and `juki serve-admin` start as the systemd units would,
one notification goes in with the stand-in CA's 市町村CS certificate, and the ```sh deploy-check```
blocks run. No step of the guide is repeated here: change the guide and this test runs the change.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import born
from tests.tools.debian_postgres import ROOT, blocks, debian_cluster, free_port, run_bash

__all__ = ["debian_cluster"]  # the fixture (tests/tools/debian_postgres.py), imported for pytest to find


def wait_for(url: str, *, verify: ssl.SSLContext | bool = False, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, verify=verify, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_the_deployment_guide_runs_against_debian_postgresql(
    debian_cluster: dict[str, str], tmp_path: Path
) -> None:
    """Issue 13 item 5: every deploy-step of docs/deployment.md succeeds on Debian's PostgreSQL —
    roles by the superuser, migrations as the non-superuser juki_admin through JUKI_DATABASE_URL,
    certificates imported from the prefecture's (stand-in) CA — and the installed system takes a
    notification over mutual TLS, counts it in /metrics and answers /readyz 200."""
    steps = blocks("deploy-step")
    assert len(steps) >= 6, "the guide lost its tested steps"
    home = tmp_path / "home"
    home.mkdir()
    data_dir = tmp_path / "data"
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT / "src"),
        "JUKI_DATA_DIR": str(data_dir),
        "CA_DIR": str(tmp_path / "ca"),
        **debian_cluster,
    }
    # All steps in one shell, as an administrator pastes them: later steps use earlier variables.
    done = run_bash("\n".join(steps), env, home)
    assert done.returncode == 0, f"a deploy-step failed:\n{done.stdout}\n{done.stderr}"
    assert "適用: 0001 roles_and_pref" in done.stderr  # juki migrate said what it did
    assert "取り込みました: pref-server" in done.stderr

    # The roles really are what the guide says: juki_admin is no superuser, the servers own nothing.
    roles = subprocess.run(
        ["psql", "-X", "-At", "-d", "postgres", "-c",
         "SELECT rolname, rolsuper FROM pg_roles WHERE rolname LIKE 'juki%' ORDER BY 1"],
        env={**env, "PGUSER": "postgres"}, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert "juki_admin|f" in roles and not any(r.endswith("|t") for r in roles)

    # The servers run with the guide's password file without juki_admin: they check the schema as
    # their own roles and never migrate (issue 13 loose end), so they cannot need its password.
    servers_pgpass = home / ".pgpass-servers"
    assert "juki_admin" not in servers_pgpass.read_text(encoding="utf-8")
    server_env = {
        **env,
        "JUKI_DATABASE_URL": f"postgresql://juki_admin@127.0.0.1:{env['PGPORT']}/juki",
        "PGPASSFILE": str(servers_pgpass),
    }
    intake_port, admin_port = free_port(), free_port()
    ca_dir = tmp_path / "ca"
    processes = [
        subprocess.Popen(
            [f"{venv_bin}/juki", "serve", "--port", str(intake_port)],
            env=server_env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [f"{venv_bin}/juki", "serve-admin", "--port", str(admin_port),
             "--require-cert", "pref-server", "--require-cert", "fuhyo-server"],
            env=server_env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        client_ctx = ssl.create_default_context(cafile=str(ca_dir / "ca.crt"))
        client_ctx.load_cert_chain(ca_dir / "cs-141011.crt", ca_dir / "cs-141011.key")
        wait_for(f"https://localhost:{intake_port}/", verify=client_ctx)
        wait_for(f"http://127.0.0.1:{admin_port}/healthz")
        answer = httpx.post(
            f"https://localhost:{intake_port}/cs/v1/pref/notifications",
            content=orjson.dumps(born(1)),
            headers={"content-type": "application/x-ndjson"},
            verify=client_ctx,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert [r["status"] for r in answer.json()["results"]] == ["accepted"]

        ready = httpx.get(f"http://127.0.0.1:{admin_port}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        metrics = httpx.get(f"http://127.0.0.1:{admin_port}/metrics", timeout=30).text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics)
            for s in family.samples
        }
        assert samples[("juki_intake_notifications_total", (("file", "pref"), ("status", "accepted")))] == 1
        assert samples[("juki_outbox_pending", (("file", "pref"),))] == 1
        assert samples[("juki_certificate_expiry_days", (("certificate", "pref-server"),))] > 800

        checks = run_bash(
            "\n".join(steps[:1] + blocks("deploy-check")),
            {**env, "JUKI_ADMIN_PORT": str(admin_port), "JUKI_INTAKE_PORT": str(intake_port)},
            home,
        )
        assert checks.returncode == 0, f"a deploy-check failed:\n{checks.stdout}\n{checks.stderr}"
        assert '"ready":true' in checks.stdout
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
