"""`juki bench search`: latency of the 4情報 search service (F1-6, F2-6) against the bare index lookup.

The benchmark runs on a loaded benchmark database (loading the synthetic population with the
ordinary loader, as `bench update` does, when the database holds fewer persons than asked for) and
draws its queries from the persons actually stored there: a realistic mix of what operators type
(see :data:`MIX`), including searches that find nobody and searches for 消除者.

* **Ours** is the whole service as the terminal calls it: conditions read and checked (S-25), the
  rights check, the query, the operation-log row (hash-chained append) and the commit — one
  transaction per search on an autocommit connection of the file's role.
* **Baseline**, in the same run and on the same queries: the very same SQL (the compiled WHERE, the
  same LIMIT cap + 1) executed directly, no service, no log, no transaction of ours.

Both are timed per query, interleaved (alternating which goes first) after an untimed warm-up pass,
so neither profits from the other's cache. The JSON has the fields of the other benchmarks plus
``p50_ms``/``p99_ms`` and the baseline's, and their ratio. Target: p99 ≤ 20 ms.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from juki.domain.dates import JukiDate, format_wareki
from juki.domain.records import FileKind, FuhyoStatus
from juki.domain.refusals import Refusal
from juki.files import PREF, file_spec
from juki.services.access.actor import Actor, TerminalKind
from juki.services.search.conditions import DEFAULT_SEARCH_CAP, NameMatch, NamePart, SearchConditions
from juki.services.search.matcher import compile_search
from juki.services.search.service import search
from juki.store.db import Database
from juki.tools.bench.registry import bench_load, machine, peak_rss_mib

__all__ = ["MIX", "bench_search", "build_queries"]

#: The query mix: kind → share. Kinds are described in :func:`_make`.
MIX: Final[dict[str, float]] = {
    "kana_prefix_birth": 0.30,
    "kanji_exact_address": 0.20,
    "birth_sex_address": 0.15,
    "given_birth_address": 0.15,
    "kana_exact_birth_period": 0.10,
    "no_hit": 0.05,
    "ended": 0.05,
}

_SPACE: Final = re.compile(r"[ \u3000]")
_NUMBER: Final = re.compile(r"[0-9０-９一二三四五六七八九十]")


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    conditions: SearchConditions


def _bench_actor(file: FileKind) -> Actor:
    """The benchmark's operator: the file's operator role at a 代表端末 named "bench". It has no row in
    the term schema and no session: its log rows go through the "bench" system channel
    (audit_api.append_system, migration 0018), naming no operator or terminal."""
    return Actor(
        operator_id=0,
        login="bench",
        roles=frozenset({file_spec(file).operator_role}),
        terminal_id=0,
        terminal_name="bench",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
        session_id=None,
        system="bench",
    )


def _town(address: str) -> str:
    """The address up to its first number (prefecture, municipality, 町字): what an operator types."""
    m = _NUMBER.search(address)
    return address[: m.start()] if m else address


def _parts(name: str) -> tuple[str, str]:
    parts = _SPACE.split(name, maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _birth_text(birth: str, rng: random.Random) -> str:
    """The stored date as an operator might type it: ISO, or 和暦 for a complete calendar date."""
    d = JukiDate.parse_canonical(birth)
    return format_wareki(d) if d.is_calendar_date and rng.random() < 0.3 else birth


def _make(kind: str, row: dict[str, Any], file: FileKind, rng: random.Random) -> SearchConditions | None:
    """Conditions of one ``kind`` for the stored person ``row``; None when the row cannot serve it
    (e.g. a birth date without a day where a full date is needed)."""
    birth = JukiDate.parse_canonical(row["birth_date"])
    family_kana, given_kana = _parts(row["name_kana"])
    town = _town(row["address"])
    if kind == "kana_prefix_birth":  # family name prefix as typed (3–4 kana) + full birth date
        if not birth.is_complete or len(family_kana) < 3:
            return None
        prefix = family_kana[: rng.randint(3, min(4, len(family_kana)))]
        return SearchConditions(
            file, name=prefix, name_match=NameMatch.PREFIX, birth_date=_birth_text(row["birth_date"], rng)
        )
    if kind == "kanji_exact_address":  # kanji full name exactly + address down to the 町字
        return SearchConditions(file, name=row["name_kanji"], address=town)
    if kind == "birth_sex_address":  # no name: full date + sex + address
        if not birth.is_complete:
            return None
        return SearchConditions(file, birth_date=row["birth_date"], sex=row["sex"], address=town)
    if kind == "given_birth_address":  # given name (kana) + birth year or full date + municipality
        if not given_kana or birth.year is None:
            return None
        date = row["birth_date"] if rng.random() < 0.5 or birth.month is None else f"{birth.year:04d}"
        municipality = _municipality(town)
        return SearchConditions(
            file, name=given_kana, name_part=NamePart.GIVEN, birth_date=date, address=municipality
        )
    if kind == "kana_exact_birth_period":  # whole kana name + birth year-month (or year)
        if birth.year is None:
            return None
        period = f"{birth.year:04d}-{birth.month:02d}" if birth.month else f"{birth.year:04d}"
        return SearchConditions(file, name=row["name_kana"], birth_date=period)
    if kind == "no_hit":  # a name nobody has, with a real person's birth date and address
        if birth.year is None:
            return None
        return SearchConditions(file, name="ムメイ\u3000ナナシ", birth_date=f"{birth.year:04d}", address=town)
    if kind == "ended":  # a 消除者, searched for on purpose
        if birth.year is None:
            return None
        return SearchConditions(file, name=row["name_kana"], birth_date=row["birth_date"], include_ended=True)
    raise ValueError(kind)


_MUNICIPALITY: Final = re.compile(r"^(?:.{2,3}[都道府県])?(?:.+?郡)?.+?[市区町村]")


def _municipality(town: str) -> str:
    """The municipality part of an address (with the prefecture): 神奈川県横浜市鶴見区 → itself."""
    m = _MUNICIPALITY.match(town)
    if not m:
        return town
    end = m.end()
    if town[:end].endswith("市") and "区" in town[end : end + 5]:
        end = town.index("区", end) + 1  # a designated city's ward
    return town[:end]


def _sample(db: Database, file: FileKind, n: int, seed: int, *, ended: bool) -> list[dict[str, Any]]:
    """About ``n`` stored persons (present or ended), sampled by block: quick even on 10M rows."""
    spec = file_spec(file)
    table = spec.current
    # File 2's living persons abroad have a country for an address: they cannot serve the mix.
    living = sorted(spec.present_statuses - {FuhyoStatus.ABROAD.value})
    status = f"status = '{spec.ended_status}'" if ended else f"status = '{living[0]}'"
    with db.connect() as conn:
        total_row = conn.execute(
            f"SELECT reltuples::bigint FROM pg_class WHERE oid = '{table}'::regclass"
        ).fetchone()
        total = max(int(total_row[0]) if total_row else 0, 1)
        share = 0.2 if ended else 1.0  # the ended are a few percent of the file
        percent = min(100.0, 100.0 * 4 * n / (total * share) + 0.01)
        rows = conn.execute(
            f"SELECT name_kanji, name_kana, birth_date, sex, address, status FROM {table}"
            f" TABLESAMPLE SYSTEM (%s) REPEATABLE (%s) WHERE {status} LIMIT %s",
            (percent, seed, 4 * n),
        ).fetchall()
    keys = ("name_kanji", "name_kana", "birth_date", "sex", "address", "status")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    random.Random(seed).shuffle(out)
    return out


def build_queries(db: Database, file: FileKind, count: int, seed: int) -> list[BenchQuery]:
    """``count`` queries in the proportions of :data:`MIX`, from persons stored in the file."""
    rng = random.Random(seed)
    present = _sample(db, file, count, seed, ended=False)
    ended = _sample(db, file, max(1, int(count * MIX["ended"])), seed, ended=True)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    queries: list[BenchQuery] = []
    pools = {"present": iter(present * 3), "ended": iter(ended * 20)}
    attempts = 0
    while len(queries) < count and attempts < count * 20:
        attempts += 1
        kind = rng.choices(kinds, weights)[0]
        row = next(pools["ended" if kind == "ended" else "present"], None)
        if row is None:
            break
        conditions = _make(kind, row, file, rng)
        if conditions is None:
            continue
        try:
            compile_search(conditions)
        except Refusal:  # e.g. a 3-kana prefix whose key is 2 characters (サトー → サト): too short
            continue
        queries.append(BenchQuery(kind, conditions))
    return queries


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def bench_search(
    db: Database,
    work_dir: Path,
    persons: int,
    seed: int = 1,
    queries: int = 2000,
    cap: int = DEFAULT_SEARCH_CAP,
    file: FileKind = FileKind.PREF,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Run the search benchmark; returns the JSON object `juki bench search` prints."""
    spec = file_spec(file)
    table = spec.current
    with db.connect() as conn:
        # bench_load loads File 1's population (and File 2's with it): its count says what is loaded.
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    loaded = int(row[0]) if row else 0
    if loaded < persons:
        bench_load(db, work_dir, persons, seed, progress)
        loaded = persons
    with db.connect(autocommit=True) as conn:
        conn.execute(f"ANALYZE {table}")
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    rows_in_file = int(row[0]) if row else 0
    plan = build_queries(db, file, queries, seed)
    compiled = [compile_search(q.conditions).query(cap + 1) for q in plan]
    actor = _bench_actor(file)
    role = spec.db_role
    ours: list[float] = []
    base: list[float] = []
    by_kind: dict[str, list[float]] = {}
    outcomes: Counter[str] = Counter()
    hits = 0
    with db.connect(role, autocommit=True) as service_conn, db.connect(role, autocommit=True) as base_conn:

        def baseline(i: int) -> float:
            query, params = compiled[i]
            t0 = time.perf_counter()
            base_conn.execute(query, params, prepare=False).fetchall()
            return time.perf_counter() - t0

        def service(i: int) -> tuple[float, str, int]:
            t0 = time.perf_counter()
            try:
                result = search(service_conn, actor, plan[i].conditions, limit=cap)
                outcome, count = ("found" if result.hits else "none"), len(result.hits)
            except Refusal as refusal:
                outcome, count = refusal.code, 0
            return time.perf_counter() - t0, outcome, count

        for i in range(len(plan)):  # warm-up: both paths' pages and the planner's caches
            baseline(i)
        started = time.monotonic()
        for i in range(len(plan)):
            if i % 2:
                base.append(baseline(i))
                seconds, outcome, count = service(i)
            else:
                seconds, outcome, count = service(i)
                base.append(baseline(i))
            ours.append(seconds)
            by_kind.setdefault(plan[i].kind, []).append(seconds)
            outcomes[outcome] += 1
            hits += count
            if progress:
                progress("search", i + 1)
        elapsed = time.monotonic() - started
    n = len(plan)
    p50, p99 = _percentile(ours, 0.5), _percentile(ours, 0.99)
    b50, b99 = _percentile(base, 0.5), _percentile(base, 0.99)
    rate, baseline_rate = n / sum(ours), n / sum(base)
    return {
        "benchmark": "search",
        "file": file.value,
        "persons": loaded,
        "rows_in_file": rows_in_file,
        "queries": n,
        "cap": cap,
        "mix": dict(Counter(q.kind for q in plan)),
        "outcomes": dict(outcomes),
        "hits": hits,
        "seconds": round(elapsed, 2),
        "rate_per_s": round(rate, 1),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "p50_ms": _ms(p50),
        "p99_ms": _ms(p99),
        "max_ms": _ms(max(ours)),
        "mean_ms": _ms(statistics.fmean(ours)),
        "baseline_p50_ms": _ms(b50),
        "baseline_p99_ms": _ms(b99),
        "p99_ratio": round(p99 / b99, 3),
        "by_kind_ms": {
            kind: {"p50": _ms(_percentile(v, 0.5)), "p99": _ms(_percentile(v, 0.99)), "n": len(v)}
            for kind, v in sorted(by_kind.items())
        },
        "peak_rss_mib": peak_rss_mib(),
        "target": {"p99_ms": 20},
        "machine": machine(),
    }
