"""Runtime settings, read from the environment once.

Everything the operator may change lives here so the rest of the code takes a `Settings` value
instead of reading the environment itself (tests build their own `Settings`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from juki.domain.codes import CheckDigitMode
from juki.domain.lgcodes import DEFAULT_PREFECTURE, LgTable, for_prefecture
from juki.domain.offices import Offices, offices_for, parse_offices


@dataclass(frozen=True)
class Settings:
    """Process-wide settings.

    data_dir: where the embedded PostgreSQL cluster and outputs live (JUKI_DATA_DIR).
    database_url: an external PostgreSQL (JUKI_DATABASE_URL); None = start the embedded cluster.
    pg_binaries: "auto" (system binaries when found, else the pgserver wheel's), "system" or "wheel"
        (JUKI_PG_BINARIES) — "wheel" proves a machine without PostgreSQL is covered.
    juminhyo_check_digit: the 住民票コード check-digit policy (DOMAIN.md §2), default warn.
    idle_lock_seconds: a terminal session idle longer than this is locked (S-04;
        JUKI_IDLE_LOCK_SECONDS, default 600 = 10 minutes).
    lockout_threshold: consecutive sign-in failures for one ID at one terminal that throttle that
        terminal for that ID (JUKI_LOCKOUT_THRESHOLD).
    lockout_terminals: how many terminals must each reach the threshold for one ID before the ID
        itself is locked until an administrator unlocks it (JUKI_LOCKOUT_TERMINALS, default 2: one
        terminal alone can never lock an operator out).
    throttle_seconds: how long a throttled terminal must wait for that ID (JUKI_THROTTLE_SECONDS,
        default 900 = 15 minutes).
    webauthn_rp_id / webauthn_origin: the WebAuthn relying party (JUKI_WEBAUTHN_RP_ID, a host name,
        never an IP address; JUKI_WEBAUTHN_ORIGIN, the terminal UI's https origin).
    one_time_token_seconds: validity of enrolment links and terminal binding tokens
        (JUKI_ONE_TIME_TOKEN_SECONDS, default one day).
    search_cap: more 4情報 search results than this is T_SEARCH_TOO_MANY (JUKI_SEARCH_CAP, default 100).
    crl_reload_seconds: a running mTLS server looks at its CRL (and certificate files) at most this
        often and loads a changed one without a restart (JUKI_CRL_RELOAD_SECONDS, default 30).
    national_url / fuhyo_national_url: the 全国サーバ / 附票全国サーバ the terminal's J-LIS queries
        (F1-5, F2-5) go to (JUKI_NATIONAL_URL / JUKI_FUHYO_NATIONAL_URL, the relay's variables);
        None = not configured, the query page refuses with T_JLIS_NOT_CONFIGURED.
    pki_dir: the PKI directory holding the servers' client certificates (JUKI_PKI_DIR, default
        ``<data_dir>/pki``, as for the relay); see `pki_directory`.
    audit_patterns_file: the thresholds of the operation-log review's unusual patterns
        (JUKI_AUDIT_PATTERNS, a TOML file like juki/data/audit_patterns.toml; None = those defaults;
        docs/audit-review.md).
    bulk_approval_rows: a bulk request with more rows than this waits for the prior approval of the
        requesting department's head (S-26; JUKI_BULK_APPROVAL_ROWS, default 10,000).
    role_conflict_mode: "warn" or "refuse" for roles one operator should not hold together
        (JUKI_ROLE_CONFLICT_MODE); None = the mode in data/role_conflicts.toml.
    disclose_staff_views: the provision-status statement (S-55) also lists the prefecture staff's
        views of the person's record from the operation log (JUKI_DISCLOSE_STAFF_VIEWS=1; off by
        default).
    prefecture: the 都道府県コード (2 digits, JIS X 0401) this server serves (JUKI_PREFECTURE, default
        "14" 神奈川県). The prefecture is configuration, not code (issue 14); a consolidation centre
        runs one instance per prefecture, each with its own database.
    offices_file: a TOML file of per-prefecture offices (issuer, counters, contact, signature reason)
        that adds to or replaces entries of juki/data/prefecture_offices.toml (JUKI_OFFICES_FILE;
        None = the shipped entries only); see `offices`.
    """

    data_dir: Path = field(default_factory=lambda: Path(".juki-data"))
    database_url: str | None = None
    database_name: str = "juki"
    pg_binaries: str = "auto"
    juminhyo_check_digit: CheckDigitMode = CheckDigitMode.WARN
    idle_lock_seconds: int = 600
    lockout_threshold: int = 5
    lockout_terminals: int = 2
    throttle_seconds: int = 900
    webauthn_rp_id: str = "localhost"
    webauthn_origin: str = "https://localhost:8444"
    one_time_token_seconds: int = 86400
    search_cap: int = 100
    crl_reload_seconds: float = 30.0
    national_url: str | None = None
    fuhyo_national_url: str | None = None
    pki_dir: Path | None = None
    audit_patterns_file: Path | None = None
    bulk_approval_rows: int = 10_000
    role_conflict_mode: str | None = None
    disclose_staff_views: bool = False
    prefecture: str = DEFAULT_PREFECTURE
    offices_file: Path | None = None

    @property
    def lg_table(self) -> LgTable:
        """The 地方公共団体コード table of the configured prefecture (one object per process)."""
        return for_prefecture(self.prefecture)

    def offices(self) -> Offices:
        """The configured prefecture's offices as forms print them; raises OfficesNotConfigured
        (E_OFFICES_NOT_CONFIGURED) when neither JUKI_OFFICES_FILE nor the shipped file has them.
        The file is read on each call (forms are few), so a corrected file needs no restart."""
        return offices_for(self.prefecture, read_offices_file(self.offices_file))

    @property
    def pki_directory(self) -> Path:
        """The PKI directory: ``pki_dir`` when set, else ``<data_dir>/pki``."""
        return self.pki_dir if self.pki_dir is not None else self.data_dir / "pki"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            data_dir=Path(env.get("JUKI_DATA_DIR", ".juki-data")).resolve(),
            database_url=env.get("JUKI_DATABASE_URL") or None,
            database_name=env.get("JUKI_DATABASE_NAME", "juki"),
            pg_binaries=env.get("JUKI_PG_BINARIES", "auto"),
            juminhyo_check_digit=CheckDigitMode(env.get("JUKI_JUMINHYO_CHECK_DIGIT", "warn")),
            idle_lock_seconds=int(env.get("JUKI_IDLE_LOCK_SECONDS", "600")),
            lockout_threshold=int(env.get("JUKI_LOCKOUT_THRESHOLD", "5")),
            lockout_terminals=int(env.get("JUKI_LOCKOUT_TERMINALS", "2")),
            throttle_seconds=int(env.get("JUKI_THROTTLE_SECONDS", "900")),
            webauthn_rp_id=env.get("JUKI_WEBAUTHN_RP_ID", "localhost"),
            webauthn_origin=env.get("JUKI_WEBAUTHN_ORIGIN", "https://localhost:8444"),
            one_time_token_seconds=int(env.get("JUKI_ONE_TIME_TOKEN_SECONDS", "86400")),
            search_cap=int(env.get("JUKI_SEARCH_CAP", "100")),
            crl_reload_seconds=float(env.get("JUKI_CRL_RELOAD_SECONDS", "30")),
            national_url=env.get("JUKI_NATIONAL_URL") or None,
            fuhyo_national_url=env.get("JUKI_FUHYO_NATIONAL_URL") or None,
            pki_dir=Path(env["JUKI_PKI_DIR"]).resolve() if env.get("JUKI_PKI_DIR") else None,
            audit_patterns_file=(
                Path(env["JUKI_AUDIT_PATTERNS"]).resolve() if env.get("JUKI_AUDIT_PATTERNS") else None
            ),
            bulk_approval_rows=int(env.get("JUKI_BULK_APPROVAL_ROWS", "10000")),
            role_conflict_mode=_conflict_mode(env.get("JUKI_ROLE_CONFLICT_MODE")),
            disclose_staff_views=env.get("JUKI_DISCLOSE_STAFF_VIEWS", "").lower()
            in ("1", "true", "yes", "on"),
            prefecture=prefecture_code(env.get("JUKI_PREFECTURE", DEFAULT_PREFECTURE)),
            offices_file=_offices_file(env.get("JUKI_OFFICES_FILE")),
        )


def prefecture_code(value: str) -> str:
    """A 都道府県コード as JUKI_PREFECTURE and the centre's configuration take it: 01..47, two digits."""
    if not (len(value) == 2 and value.isdigit() and 1 <= int(value) <= 47):
        raise ValueError(f"JUKI_PREFECTURE must be a 都道府県コード 01..47, not {value!r}")
    return value


def read_offices_file(path: Path | None) -> dict[str, Offices]:
    """The entries of a JUKI_OFFICES_FILE (none when unset); ValueError names what is wrong."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"JUKI_OFFICES_FILE {path} を読めません: {exc}") from None
    return parse_offices(text, str(path))


def _offices_file(value: str | None) -> Path | None:
    """JUKI_OFFICES_FILE, read once at start: a typo in it must stop the server, not a form later."""
    if not value:
        return None
    path = Path(value).resolve()
    read_offices_file(path)
    return path


def _conflict_mode(value: str | None) -> str | None:
    """JUKI_ROLE_CONFLICT_MODE, checked at start: a typo must not silently keep the other mode."""
    if not value:
        return None
    if value not in ("warn", "refuse"):
        raise ValueError(f"JUKI_ROLE_CONFLICT_MODE must be warn or refuse, not {value!r}")
    return value
