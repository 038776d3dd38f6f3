"""The `juki` command: the interfaces' CLI plus the peer simulators' and the tools' commands.

Lives above every layer so that the CLI (interfaces) never imports the simulators (peers) or the
tooling (benchmarks, demo) in `juki.tools`.
"""

from __future__ import annotations

from juki.interfaces.cli import app
from juki.interfaces.cli import main as _main
from juki.peers.cli_sim import app as sim_app
from juki.tools import demo
from juki.tools.cli_bench import app as bench_app

app.add_typer(sim_app, name="sim")
app.add_typer(bench_app, name="bench")
app.add_typer(demo.app)


def main() -> None:
    _main()


if __name__ == "__main__":
    main()
