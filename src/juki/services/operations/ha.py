"""High availability on pg_auto_failover (Debian `pg-auto-failover-cli`, `postgresql-15-auto-failover`).

One monitor and two PostgreSQL nodes (primary + standby) with synchronous replication to the standby
(REQUIREMENTS S-49, issue 14 item 2). The replication, the health checks, the promotion and the
fencing of the old primary are pg_auto_failover's: juki only writes down the commands, the monitor's
timers and the multi-host URL its servers connect with, so that the deployment guide, `juki ha plan`
and the failover fault test use the same ones.

* **Synchronous commit.** With one standby and `replication-quorum true` (the default),
  pg_auto_failover sets the primary's `synchronous_standby_names` to `ANY 1 (the standby)`: a COMMIT —
  and so the intake's `accepted` — returns only once the standby has the WAL. If the standby is lost
  the monitor moves the primary to `wait_primary` and drops the synchronous standby (availability),
  so RPO 0 holds for one failure at a time, not for both nodes lost in a row.
* **Clients follow the primary.** `JUKI_DATABASE_URL` lists both nodes with
  `target_session_attrs=read-write`: libpq tries them in order and keeps the one that accepts writes.
* **Timers.** The monitor's defaults (health check every 5 s, unhealthy after 20 s, demote timeout
  30 s) give a failover of about a minute. `FAST_TIMERS` shortens them for the loopback drill; the
  keepers' `network_partition_timeout` stays below `primary_demote_timeout` either way, so an old
  primary cut off from the monitor has stopped accepting writes before the standby is promoted.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

#: Debian's PostgreSQL 15, whose extension package pg_auto_failover needs.
PG_CTL = Path("/usr/lib/postgresql/15/bin/pg_ctl")

#: Monitor settings (milliseconds) for a loopback drill: failure seen in ~3 s, promotion ~5 s later.
FAST_TIMERS: dict[str, int] = {
    "pgautofailover.health_check_period": 1000,
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 3000,
    "pgautofailover.primary_demote_timeout": 5000,
}
#: Keeper setting (seconds) that goes with FAST_TIMERS: below primary_demote_timeout (no split brain).
FAST_NETWORK_PARTITION_TIMEOUT = 3


@dataclass(frozen=True)
class HaPlan:
    """Where the monitor and the two nodes live and how they authenticate each other.

    ``auth``/``ssl`` are pg_autoctl's: ``trust`` and ``--no-ssl`` only for the loopback drill; a real
    deployment uses ``scram-sha-256`` and ``--ssl-ca-file``/``--server-cert``/``--server-key`` from the
    prefecture's CA (docs/deployment.md).
    """

    base: Path
    monitor_port: int
    node_ports: tuple[int, int]
    host: str = "127.0.0.1"
    auth: str = "trust"
    ssl_options: tuple[str, ...] = ("--no-ssl",)
    database: str = "juki"
    pg_ctl: Path = PG_CTL

    @property
    def monitor_pgdata(self) -> Path:
        return self.base / "monitor"

    def node_pgdata(self, index: int) -> Path:
        return self.base / f"node{index + 1}"

    def node_name(self, index: int) -> str:
        return f"node{index + 1}"

    @property
    def monitor_uri(self) -> str:
        sslmode = "disable" if "--no-ssl" in self.ssl_options else "require"
        return f"postgres://autoctl_node@{self.host}:{self.monitor_port}/pg_auto_failover?sslmode={sslmode}"

    def database_url(self, user: str = "juki_admin", *, read_write: bool = True) -> str:
        """The multi-host URL juki connects with (JUKI_DATABASE_URL): both nodes, the writable one wins."""
        hosts = ",".join(f"{self.host}:{port}" for port in self.node_ports)
        attrs = "read-write" if read_write else "prefer-standby"
        return f"postgresql://{user}@{hosts}/{self.database}?target_session_attrs={attrs}&connect_timeout=3"

    def create_monitor(self) -> list[str]:
        return [
            "pg_autoctl", "create", "monitor", "--pgctl", str(self.pg_ctl),
            "--pgdata", str(self.monitor_pgdata), "--pgport", str(self.monitor_port),
            "--hostname", self.host, "--auth", self.auth, *self.ssl_options,
        ]  # fmt: skip

    def monitor_listen(self) -> list[str]:
        """`create monitor` has no --listen: its PostgreSQL would listen on every address."""
        return [
            "pg_autoctl", "config", "set", "--pgdata", str(self.monitor_pgdata),
            "postgresql.listen_addresses", self.host,
        ]  # fmt: skip

    def create_node(self, index: int) -> list[str]:
        """The second node finds the first primary on the monitor and becomes its standby (pg_basebackup)."""
        return [
            "pg_autoctl", "create", "postgres", "--pgctl", str(self.pg_ctl),
            "--pgdata", str(self.node_pgdata(index)), "--pgport", str(self.node_ports[index]),
            "--listen", self.host, "--hostname", self.host, "--name", self.node_name(index),
            "--monitor", self.monitor_uri, "--auth", self.auth, *self.ssl_options,
        ]  # fmt: skip

    def run(self, pgdata: Path) -> list[str]:
        """The keeper (or monitor) service, supervising its PostgreSQL (`pg_autoctl show systemd`)."""
        return ["pg_autoctl", "run", "--pgdata", str(pgdata)]

    def keeper_timeout(self, index: int, seconds: int) -> list[str]:
        return [
            "pg_autoctl", "config", "set", "--pgdata", str(self.node_pgdata(index)),
            "timeout.network_partition_timeout", str(seconds),
        ]  # fmt: skip

    def monitor_settings_sql(self, timers: dict[str, int]) -> list[str]:
        return [f"ALTER SYSTEM SET {name} = {int(value)}" for name, value in timers.items()] + [
            "SELECT pg_reload_conf()"
        ]

    def script(self, timers: dict[str, int] | None = None) -> str:
        """The whole set-up as shell lines, in order (what `juki ha plan` prints)."""

        def line(argv: list[str]) -> str:
            return shlex.join(argv)

        out = [
            line(self.create_monitor()),
            line(self.monitor_listen()),
            line(self.run(self.monitor_pgdata)) + " &",
        ]
        for statement in self.monitor_settings_sql(timers or {}) if timers else []:
            out.append(
                line(["psql", "-X", "-h", self.host, "-p", str(self.monitor_port), "-d", "pg_auto_failover",
                      "-c", statement])
            )  # fmt: skip
        for index in (0, 1):
            out.append(line(self.create_node(index)))
            if timers:
                out.append(line(self.keeper_timeout(index, FAST_NETWORK_PARTITION_TIMEOUT)))
            out.append(line(self.run(self.node_pgdata(index))) + " &")
        out.append(line(["pg_autoctl", "show", "state", "--pgdata", str(self.monitor_pgdata)]))
        return "\n".join(out) + "\n"
