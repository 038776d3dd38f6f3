"""systemd units for a real deployment, generated from the same job definitions (definitions.JOBS).

One oneshot ``juki-job-<name>.service`` running ``juki jobs run <name> --trigger systemd`` and one
``juki-job-<name>.timer`` per job, with the job's cron schedule as ``OnCalendar=`` (UTC) and
``Persistent=true`` so a run missed while the machine was off runs at boot. The run is recorded by
juki itself (term.job_runs), so the jobs page is the same whichever scheduler started it.
"""

from __future__ import annotations

from pathlib import Path

from juki.services.operations.definitions import JOBS, JobDefinition

_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def _field(value: str, width: int) -> str:
    if value == "*":
        return "*"
    if value.startswith("*/"):
        return f"{0:0{width}d}/{int(value[2:])}"
    return ",".join(f"{int(part):0{width}d}" for part in value.split(","))


def _weekday(value: str) -> str:
    """A weekday name (``mon``; definitions.py uses names only), systemd spelling."""
    name = value.strip().capitalize()[:3]
    if name not in _WEEKDAYS:
        raise ValueError(f"weekdays are written as names (mon … sun), not {value!r}")
    return name


def on_calendar(cron: str) -> str:
    """The five-field cron form as a systemd calendar expression in UTC."""
    minute, hour, day, month, weekday = cron.split()
    days = "" if weekday == "*" else ",".join(_weekday(w) for w in weekday.split(",")) + " "
    return f"{days}*-{_field(month, 2)}-{_field(day, 2)} {_field(hour, 2)}:{_field(minute, 2)}:00 UTC"


def units(job: JobDefinition, juki: str, environment: dict[str, str], user: str) -> dict[str, str]:
    env = "".join(f"Environment={key}={value}\n" for key, value in sorted(environment.items()))
    service = (
        "[Unit]\n"
        f"Description=juki: {job.name} ({job.requirement})\n"
        "After=network-online.target postgresql.service\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"User={user}\n"
        f"{env}"
        f"ExecStart={juki} jobs run {job.name} --trigger systemd\n"
        "NoNewPrivileges=true\nPrivateTmp=true\nProtectSystem=full\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=juki: {job.name} on schedule ({job.cron})\n\n"
        "[Timer]\n"
        f"OnCalendar={on_calendar(job.cron)}\n"
        "Persistent=true\n"
        "RandomizedDelaySec=60\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"juki-job-{job.name}.service": service, f"juki-job-{job.name}.timer": timer}


def write_units(output: Path, juki: str, environment: dict[str, str], user: str = "juki") -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for job in JOBS:
        for name, text in units(job, juki, environment, user).items():
            path = output / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
