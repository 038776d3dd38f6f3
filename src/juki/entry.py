"""The `juki` command: the interfaces' CLI plus the peer simulators' commands.

Lives above every layer so that the CLI (interfaces) never imports the simulators (peers).
"""

from __future__ import annotations

from juki.interfaces.cli import app
from juki.interfaces.cli import main as _main
from juki.interfaces.cli_bench import app as bench_app
from juki.peers.bench_intake import intake_cmd
from juki.peers.cli_sim import app as sim_app
from juki.peers.demo import demo

app.add_typer(sim_app, name="sim")
app.command("demo")(demo)
bench_app.command("intake")(intake_cmd)


def main() -> None:
    _main()


if __name__ == "__main__":
    main()
