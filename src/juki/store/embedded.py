"""The embedded PostgreSQL: a private cluster in the data directory, Unix socket only.

ARCHITECTURE.md §2: with no JUKI_DATABASE_URL the program runs its own cluster, using the system's
PostgreSQL binaries when present and otherwise those shipped in the `pgserver` wheel, so that a fresh
machine with only Python can run everything. The cluster listens on no TCP port at all
(`listen_addresses=''`), only on a socket in a directory of its own with mode 0700.

PostgreSQL refuses to run as root; when we are root the cluster runs as a dedicated unprivileged
system user (created on first use), which owns only the cluster directory.

Start and stop are serialised with a file lock and are idempotent: starting a running cluster or
stopping a stopped one does nothing, so running `juki` twice is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The PostgreSQL superuser of the embedded cluster (used only for migrations and administration).
ADMIN_USER = "juki_admin"
#: The OS account the cluster runs as when juki itself runs as root.
SERVICE_ACCOUNT = "juki-pg"
#: Only names the socket file: no TCP listener exists.
SOCKET_PORT = 5432
#: Unix socket paths are limited to 107 bytes; keep a margin.
_MAX_SOCKET_PATH = 100

#: Settings of the embedded cluster. Durability stays on (fsync, synchronous_commit): an acknowledged
#: notification must survive a crash. wal_level=minimal lets bulk COPY into a table created or
#: truncated in the same transaction skip WAL; there are no replicas of an embedded cluster.
EMBEDDED_SETTINGS: dict[str, str] = {
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
    "max_connections": "100",
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "1GB",
    "max_parallel_maintenance_workers": "2",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "15min",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "timezone": "'UTC'",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class EmbeddedError(RuntimeError):
    """The embedded cluster could not be set up or started; the message says why."""


@dataclass(frozen=True)
class Binaries:
    """Where initdb/pg_ctl/postgres live and which kind they are."""

    bindir: Path
    source: str  # "system" or "wheel"


def wheel_bindir() -> Path | None:
    """The pgserver wheel's PostgreSQL bin directory, located without importing pgserver."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def system_bindir() -> Path | None:
    """A system PostgreSQL bin directory: pg_ctl on PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        real = Path(on_path).resolve().parent
        if (real / "initdb").exists() and (real / "postgres").exists():
            return real
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for candidate in reversed(versions):
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def find_binaries(mode: str = "auto") -> Binaries:
    """Choose the PostgreSQL binaries: "system", "wheel", or "auto" (system first)."""
    if mode not in {"auto", "system", "wheel"}:
        raise EmbeddedError(f"JUKI_PG_BINARIES は auto / system / wheel のいずれかです（{mode!r}）")
    if mode in {"auto", "system"}:
        found = system_bindir()
        if found:
            return Binaries(found, "system")
        if mode == "system":
            raise EmbeddedError("システムの PostgreSQL が見つかりません (JUKI_PG_BINARIES=system)")
    found = wheel_bindir()
    if found:
        return Binaries(found, "wheel")
    raise EmbeddedError("PostgreSQL のバイナリが見つかりません（pgserver wheel も未導入です）")


def _service_account() -> pwd.struct_passwd:
    """The unprivileged account the cluster runs as under root, created on first use."""
    try:
        return pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_ACCOUNT],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 9):  # 9 = already exists (a concurrent creator won)
        raise EmbeddedError(f"cannot create the service account {SERVICE_ACCOUNT}: {result.stderr.strip()}")
    return pwd.getpwnam(SERVICE_ACCOUNT)


def _allow_traversal(path: Path) -> None:
    """Let the service account reach ``path``: add search (x) permission on every ancestor.

    Only the execute bit is added (no read), so directory listings stay private.
    """
    for ancestor in [path, *path.parents]:
        mode = ancestor.stat().st_mode
        if mode & 0o001 == 0:
            ancestor.chmod(mode | 0o001)


class EmbeddedCluster:
    """One private PostgreSQL cluster under ``data_dir/pg``."""

    def __init__(self, data_dir: Path, binaries: Binaries) -> None:
        self.data_dir = data_dir.resolve()
        self.binaries = binaries
        self.pgdata = self.data_dir / "pg" / "data"
        self.logfile = self.data_dir / "pg" / "postgres.log"
        socket_dir = self.data_dir / "pg" / "run"
        if len(str(socket_dir / f".s.PGSQL.{SOCKET_PORT}")) > _MAX_SOCKET_PATH:
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
            socket_dir = Path("/tmp") / f"juki-{digest}"
        self.socket_dir = socket_dir
        self._as_root = os.geteuid() == 0

    # -- process helpers ---------------------------------------------------------------------
    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        user: int | None = None
        group: int | None = None
        if self._as_root:
            account = _service_account()
            user, group = account.pw_uid, account.pw_gid
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd="/",
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
        )
        if check and result.returncode != 0:
            raise EmbeddedError(
                f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
            )
        return result

    def _bin(self, name: str) -> str:
        return str(self.binaries.bindir / name)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".pg-launcher.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _prepare_dirs(self) -> None:
        (self.data_dir / "pg").mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o700)
        if self._as_root:
            account = _service_account()
            _allow_traversal(self.data_dir / "pg")
            _allow_traversal(self.binaries.bindir)
            for path in (self.data_dir / "pg", self.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
            if self.logfile.exists():
                os.chown(self.logfile, account.pw_uid, account.pw_gid)

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster (UTF-8, C locale so key columns sort bytewise) if it does not exist."""
        self._prepare_dirs()
        if self.initialised:
            return
        self._run(
            [
                self._bin("initdb"),
                "--pgdata",
                str(self.pgdata),
                "--username",
                ADMIN_USER,
                "--auth",
                "trust",  # socket-only, directory mode 0700: the OS account is the authentication
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-instructions",
            ]
        )
        conf = self.pgdata / "postgresql.conf"
        lines = [f"{key} = {value}" for key, value in EMBEDDED_SETTINGS.items()]
        with open(conf, "a", encoding="utf-8") as handle:
            handle.write("\n# --- juki embedded settings ---\n" + "\n".join(lines) + "\n")

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        return self._run([self._bin("pg_ctl"), "status", "-D", str(self.pgdata)], check=False).returncode == 0

    def start(self) -> None:
        """Initialise if needed and start; a running cluster is left as it is."""
        with self._locked():
            self.init()
            if self.is_running():
                return
            self._prepare_dirs()
            options = f"-k {self.socket_dir} -p {SOCKET_PORT}"
            self._run(
                [
                    self._bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    "120",
                    "-o",
                    options,
                ]
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop cleanly (``fast``: roll back open transactions); a stopped cluster is left as it is."""
        with self._locked():
            if not self.is_running():
                return
            self._run([self._bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "120"])

    def restart(self, mode: str = "fast") -> None:
        """Stop (``immediate`` simulates a crash) and start again."""
        self.stop(mode)
        self.start()

    def postmaster_pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        first = pidfile.read_text().splitlines()[:1]
        return int(first[0]) if first and first[0].isdigit() else None

    def conninfo(self, dbname: str, user: str = ADMIN_USER) -> str:
        return f"host={self.socket_dir} port={SOCKET_PORT} user={user} dbname={dbname}"
