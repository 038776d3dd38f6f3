"""Issue 14 done-means: two prefectures run side by side from `make run PREFECTURES=14,22`.

`juki demo --prefectures 14,22` runs as the README says (a process of its own, as `make run` starts
it): one child demo per prefecture, each with its own cluster, CA, persons and terminal port; both
terminal URLs printed; everything stopped afterwards.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from juki.centre_config import load_centre
from juki.store import centre_cluster

pytestmark = pytest.mark.slow


def _two_free_ports() -> int:
    """A port p in the loopback range of this project's hand-started servers with p and p + 10 free."""
    for _ in range(50):
        port = random.randrange(57500, 57980)
        if all(_free(p) for p in (port, port + 10)):
            return port
    raise RuntimeError("no free pair of ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.timeout(900)
def test_issue14_make_run_shows_two_prefectures_side_by_side(tmp_path: Path) -> None:
    port = _two_free_ports()
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JUKI_")},
        "JUKI_DATA_DIR": str(data),
        "JUKI_WEBAUTHN_ORIGIN": f"https://localhost:{port}",
        "JUKI_PG_BINARIES": os.environ.get("JUKI_PG_BINARIES", "auto"),
        "COLUMNS": "100",
    }
    args = [sys.executable, "-m", "juki.entry", "demo", "--prefectures", "14,22"]
    args += ["--persons", "300", "--changes", "30", "--terminal-seconds", "2"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=840)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out
    centre = load_centre(data / "centre")
    assert centre.codes == ("14", "22")
    ports = {"14": port, "22": port + 10}
    body, summary = out.split("■ 集約センター\n")
    blocks = re.split(r"^■ 都道府県 (\d\d)（", body, flags=re.M)
    by_code = {blocks[i]: blocks[i + 1] for i in range(1, len(blocks) - 1, 2)}
    assert set(by_code) == {"14", "22"}, out
    samples = {}
    for code, block in by_code.items():
        # Each prefecture's own flow went through: its CSes' notifications answered as generated
        # (none refused as another prefecture's), relayed, and its terminal on its own port.
        assert "すべて生成時の期待どおりの応答です" in block, block
        assert "失敗 0" in block
        assert "E_PEER_PREFECTURE" not in block
        assert re.search(rf"^https://localhost:{ports[code]}/terminal/bind/\S+$", block, re.M), block
        samples[code] = re.findall(r"^ {7}\S.*（.*）  .*$", block, re.M)
        assert samples[code], block
    assert samples["14"] != samples["22"]  # each prefecture its own synthetic persons
    # The two terminal URLs, each alone on its line, after the blocks.
    for code in ("14", "22"):
        assert re.search(rf"^https://localhost:{ports[code]}/$", summary, re.M), summary
    for instance in centre.prefectures:
        assert (instance.data_dir / "demo.log").exists()
        assert not centre_cluster.is_running(instance.data_dir)  # stopped with the demo
    cas = {i.code: (i.data_dir / "pki" / "ca.crt").read_bytes() for i in centre.prefectures}
    assert cas["14"] != cas["22"]
