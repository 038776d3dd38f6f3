"""The statistics tables (F1-8, REC-10) as the page, the exports and `juki stats --json` show them,
built from the raw cells of `residents` and `activity`.

Roll-ups happen here, not in SQL: the cells are few (municipality × sex × band is under 3,000), and
summing wards into their designated city and everything into the prefecture from the same cells
guarantees that a city's row is exactly the sum of its wards' rows on every table.

A table is plain data (title, column labels, rows of text and integers) so every output — HTML,
CSV, XLSX, JSON — renders the same content and nothing is computed twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from juki.domain.errors import CATALOG
from juki.domain.lgcodes import LgTable
from juki.domain.provision import RESULT_LABELS, ResultCode
from juki.domain.reasons import ChangeReason
from juki.domain.refusals import REFUSALS
from juki.files import FileSpec
from juki.services.provision.records import ProvisionCount
from juki.services.statistics.activity import ActivityCounts
from juki.services.statistics.request import StatsRequest, all_bands, band_label
from juki.services.statistics.residents import ResidentCounts

Cell = str | int

SEXES: Final = (("1", "男"), ("2", "女"))
JLIS_KINDS: Final = {"juminhyo_code": "住民票コード", "my_number": "個人番号", "basic4": "4情報"}
JLIS_OUTCOMES: Final = {
    "found": "該当あり",
    "not_found": "該当なし",
    "refused": "拒否",
    "error": "エラー",
    "sent": "応答なし",
}
TOTAL: Final = "合計"


@dataclass(frozen=True)
class StatsTable:
    """One table: ``key`` names it in exports and JSON; ``header`` rows of text, ``rows`` of cells.

    ``level`` per row: 0 an ordinary row, 1 a sum (a city of its wards, the prefecture)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    levels: tuple[int, ...] = ()
    note: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "note": self.note,
        }


@dataclass(frozen=True)
class StatsReport:
    """Every table of one request, in display order."""

    request: StatsRequest
    file_title: str
    subject: str
    tables: tuple[StatsTable, ...]
    omitted: tuple[str, ...] = field(default=())

    def table(self, key: str) -> StatsTable:
        return next(t for t in self.tables if t.key == key)

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.request.file.value,
            "as_of": self.request.as_of.isoformat(),
            "file_title": self.file_title,
            "subject": self.subject,
            "tables": [t.as_json() for t in self.tables],
            "omitted": list(self.omitted),
        }


@dataclass(frozen=True)
class _Area:
    """A row of the municipality tables: a municipality or ward (its own code), or a sum."""

    code: str
    name: str
    members: tuple[str, ...]  # the 市町村コード summed into this row
    level: int


def areas(codes: Iterable[str], lg: LgTable) -> list[_Area]:
    """The municipality rows for ``codes``: in code-table order, each designated city's wards
    followed by the city's sum, then codes the table does not know, then the prefecture total.
    A city's sum counts every ward it ever had (浜松市's seven old wards and three new ones): a
    ward abolished on the as-of date simply has no residents left."""
    present = set(codes)
    rows: list[_Area] = []
    known: set[str] = set()
    for gov in lg:
        if gov.is_designated_city:
            wards = [w.code for w in lg if lg.city_of(w.code) == gov]
            known.update(wards)
            shown = [w for w in wards if w in present]
            if not shown:
                continue
            rows.extend(_Area(w, lg.name_of(w), (w,), 0) for w in shown)
            rows.append(_Area(gov.code, f"{gov.name}（計）", tuple(wards), 1))
        elif gov.is_resident_register_municipality and not gov.is_ward:
            known.add(gov.code)
            if gov.code in present:
                rows.append(_Area(gov.code, gov.name, (gov.code,), 0))
    rows.extend(_Area(c, "（コード表にない市町村）", (c,), 0) for c in sorted(present - known))
    rows.append(_Area(lg.prefecture().code, f"{lg.prefecture().name}（{TOTAL}）", tuple(sorted(present)), 1))
    return rows


def _sum(counts: Counter[tuple[str, ...]], members: Iterable[str], *rest: str) -> int:
    return sum(counts.get((m, *rest), 0) for m in members)


def population_tables(cells: ResidentCounts, request: StatsRequest) -> list[StatsTable]:
    """人口: by municipality and sex; by sex and age band (prefecture); municipality × sex × band."""
    pop = cells.population
    by_sex: Counter[tuple[str, ...]] = Counter()
    by_band: Counter[tuple[str, ...]] = Counter()
    for (m, sex, band), n in pop.items():
        by_sex[(m, sex)] += n
        by_band[(m, sex, str(band))] += n
    rows = areas({m for m, _, _ in pop}, request.lg_table)
    day = request.as_of.isoformat()
    municipal = StatsTable(
        "population_by_municipality",
        f"人口（市町村別・男女別、{day} 現在）",
        ("市町村コード", "市町村", "男", "女", "計"),
        tuple(
            (a.code, a.name, *(men := [_sum(by_sex, a.members, s) for s, _ in SEXES]), sum(men)) for a in rows
        ),
        tuple(a.level for a in rows),
        note="行政区は別々に、指定都市はその行政区の合計（計）として示します。",
    )
    everyone = rows[-1].members
    bands = all_bands()
    pyramid_rows: list[tuple[Cell, ...]] = []
    for b in bands:
        pair = [_sum(by_band, everyone, s, str(b)) for s, _ in SEXES]
        pyramid_rows.append((band_label(b), *pair, sum(pair)))
    both = [_sum(by_sex, everyone, s) for s, _ in SEXES]
    pyramid_rows.append((TOTAL, *both, sum(both)))
    pyramid = StatsTable(
        "population_by_age",
        f"人口（男女別・5歳階級別、{day} 現在）",
        ("年齢", "男", "女", "計"),
        tuple(pyramid_rows),
        (*(0 for _ in bands), 1),
        note="年齢は基準日現在の満年齢。生年月日の月日が不詳の者、年が不詳の者は「不詳」に計上します。",
    )
    cross_rows: list[tuple[Cell, ...]] = []
    cross_levels: list[int] = []
    for a in rows:
        for sex, label in (*SEXES, ("", "計")):
            sexes = [sex] if sex else [s for s, _ in SEXES]
            values = [sum(_sum(by_band, a.members, s, str(b)) for s in sexes) for b in bands]
            cross_rows.append((a.code, a.name, label, *values, sum(values)))
            cross_levels.append(a.level)
    cross = StatsTable(
        "population_by_municipality_age",
        f"人口（市町村別・男女別・5歳階級別、{day} 現在）",
        ("市町村コード", "市町村", "男女", *(band_label(b) for b in bands), "計"),
        tuple(cross_rows),
        tuple(cross_levels),
    )
    return [municipal, pyramid, cross]


def _reason_label(value: str) -> str:
    try:
        return ChangeReason(value).label
    except ValueError:
        return value


def movement_tables(cells: ResidentCounts, request: StatsRequest) -> list[StatsTable]:
    """異動: per month by 異動事由 (prefecture), and per month by municipality and 異動事由."""
    months = request.months
    by_reason: Counter[tuple[str, ...]] = Counter()
    by_area: Counter[tuple[str, ...]] = Counter()
    for (month, reason, m), n in cells.movements.items():
        by_reason[(reason, month)] += n
        by_area[(m, reason, month)] += n
    reasons = [r.value for r in ChangeReason if any((r.value, mo) in by_reason for mo in months)]
    reasons += sorted({r for r, _ in by_reason} - set(reasons))
    span = f"{months[0]}〜{months[-1]}"
    reason_rows: list[tuple[Cell, ...]] = [
        (_reason_label(r), *(v := [by_reason[(r, mo)] for mo in months]), sum(v)) for r in reasons
    ]
    totals = [sum(by_reason[(r, mo)] for r in reasons) for mo in months]
    summary = StatsTable(
        "movements_by_reason",
        f"異動件数（月別・異動事由別、{span}）",
        ("異動事由", *months, "計"),
        (*reason_rows, (TOTAL, *totals, sum(totals))),
        (*(0 for _ in reason_rows), 1),
        note="異動年月日の属する月に計上します（通知を受けた日ではありません）。",
    )
    detail_rows: list[tuple[Cell, ...]] = []
    detail_levels: list[int] = []
    for a in areas({m for m, _, _ in by_area}, request.lg_table):
        for r in reasons:
            values = [sum(by_area[(m, r, mo)] for m in a.members) for mo in months]
            if any(values):
                detail_rows.append((a.code, a.name, _reason_label(r), *values, sum(values)))
                detail_levels.append(a.level)
    detail = StatsTable(
        "movements_by_municipality",
        f"異動件数（月別・市町村別・異動事由別、{span}）",
        ("市町村コード", "市町村", "異動事由", *months, "計"),
        tuple(detail_rows),
        tuple(detail_levels),
    )
    return [summary, detail]


def _message(code: str) -> str:
    spec = CATALOG.get(code) or REFUSALS.get(code)
    return spec.message_ja if spec is not None else ""


def activity_tables(cells: ActivityCounts, request: StatsRequest, spec: FileSpec) -> list[StatsTable]:
    """更新件数 per municipality and day; 不受理 by code and month; J-LIS queries by month."""
    days = [d.isoformat() for d in request.days]
    months = request.months
    updates: Counter[tuple[str, ...]] = Counter({k: v for k, v in cells.updates.items()})
    rows = areas({m for m, _ in cells.updates}, request.lg_table)
    day_labels = tuple(_short(d) for d in request.days)
    update_table = StatsTable(
        "updates_by_municipality_day",
        f"更新件数（市町村別・日別、{days[0]}〜{days[-1]}）",
        ("市町村コード", "市町村", *day_labels, "計"),
        tuple((a.code, a.name, *(v := [_sum(updates, a.members, d) for d in days]), sum(v)) for a in rows),
        tuple(a.level for a in rows),
        note=f"{spec.server_label}が受理した通知の件数（受信日、日本時間）。市町村コードは通知元です。",
    )
    codes = sorted({c for c, _ in cells.rejections})
    rejection_rows: list[tuple[Cell, ...]] = [
        (c, _message(c), *(v := [cells.rejections.get((c, mo), 0) for mo in months]), sum(v)) for c in codes
    ]
    reject_totals = [sum(cells.rejections.get((c, mo), 0) for c in codes) for mo in months]
    rejections = StatsTable(
        "rejections_by_code",
        f"不受理件数（エラーコード別・月別、{months[0]}〜{months[-1]}）",
        ("エラーコード", "内容", *months, "計"),
        (*rejection_rows, (TOTAL, "", *reject_totals, sum(reject_totals))),
        (*(0 for _ in rejection_rows), 1),
    )
    pairs = sorted({(k, o) for _, k, o in cells.jlis})
    jlis_rows: list[tuple[Cell, ...]] = [
        (
            JLIS_KINDS.get(k, k),
            JLIS_OUTCOMES.get(o, o),
            *(v := [cells.jlis.get((mo, k, o), 0) for mo in months]),
            sum(v),
        )
        for k, o in pairs
    ]
    jlis_totals = [sum(cells.jlis.get((mo, k, o), 0) for k, o in pairs) for mo in months]
    jlis = StatsTable(
        "jlis_queries",
        f"{spec.national_label}への照会件数（月別、{months[0]}〜{months[-1]}）",
        ("照会の鍵", "結果", *months, "計"),
        (*jlis_rows, (TOTAL, "", *jlis_totals, sum(jlis_totals))),
        (*(0 for _ in jlis_rows), 1),
        note="通信記録（照会の開始日、日本時間）から集計します。",
    )
    return [update_table, rejections, jlis]


def _short(day: date) -> str:
    return f"{day.month}/{day.day}"


def _result_label(code: str) -> str:
    try:
        return RESULT_LABELS[ResultCode(code)][0]
    except ValueError:
        return code


def provision_table(counts: Iterable[ProvisionCount], request: StatsRequest) -> StatsTable:
    """提供件数: per requester, task and result, by month (the provision records, REC-1/REC-10)."""
    months = request.months
    cells: Counter[tuple[str, ...]] = Counter()
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for c in counts:
        key = (c.requester_code, c.task_code, c.result_code)
        cells[(*key, c.month.isoformat()[:7])] += c.count
        names[(c.requester_code, c.task_code)] = (c.requester_name, c.task_name)
    keys = sorted({k[:3] for k in cells})
    rows: list[tuple[Cell, ...]] = []
    for requester, task, result in keys:
        requester_name, task_name = names[(requester, task)]
        values = [cells[(requester, task, result, mo)] for mo in months]
        rows.append(
            (requester_name or requester, task_name or task, _result_label(result), *values, sum(values))
        )
    totals = [sum(cells[(*k, mo)] for k in keys) for mo in months]
    rows.append((TOTAL, "", "", *totals, sum(totals)))
    return StatsTable(
        "provisions",
        f"提供・移転の件数（依頼元・事務・結果別、月別、{months[0]}〜{months[-1]}）",
        ("依頼元", "事務", "結果", *months, "計"),
        tuple(rows),
        (*(0 for _ in keys), 1),
        note="提供の記録から、1人への回答を1件として数えます（拒否した依頼も結果別に計上）。",
    )
