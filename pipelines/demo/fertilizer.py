"""Demo deliveries of chemical fertilizer use per county (DEPARTMENTS.md #9).

One CSV per year, as the Agriculture and Rural Affairs department exports it from Excel on Chinese
Windows (GBK, CRLF): ``agriculture/fertilizer_use/<year>年各县（市、区）农用化肥施用量.csv`` with 序号,
统计年度, 市（州）, 县（市、区）, 县级代码, 氮肥(吨), 磷肥(吨), 钾肥(吨), 复合肥(吨), 合计(吨) — tonnes of
pure nutrient (折纯量), two decimals, the total the sum of the rounded parts.

FOR DEMO PURPOSES ONLY: the counties are the invented ones of ``pipelines/demo/counties.py`` and the
amounts are invented around plausible levels — a basin county applies some 8,000–25,000 t a year, a
plateau county (阿坝, 甘孜, 凉山) a few hundred to 3,000 t; about 45% nitrogen, 18% phosphate, 8%
potash and the rest compound fertilizer; use falls by some 2.5% a year (the zero-growth action on
fertilizer). Each county-year's draws come from a generator keyed on (seed, county, year), and
every year is reached from 2021 by the same steps, so a county-year does not depend on the span.

The mess, in small proportions, in every yearly file: one county whose total (合计) is last year's
figure left in the template (it no longer equals the sum of the parts: quarantined); one county with
a reduction entered as a negative potash amount (quarantined). Then a correction file
(``<year>年各县（市、区）农用化肥施用量_更正.csv``) for the middle year of the span, arriving an hour
later, re-delivers that year's mistaken total correctly and revises two other counties' figures:
the latest delivery of a county-year is served.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.demo.counties import County, demo_counties

DATASET = Path("agriculture") / "fertilizer_use"
HEADER = (
    "序号",
    "统计年度",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "氮肥(吨)",
    "磷肥(吨)",
    "钾肥(吨)",
    "复合肥(吨)",
    "合计(吨)",
)
BASE_YEAR = 2021  # the year the county profiles describe
BASIN_TOTAL, PLATEAU_TOTAL = (8_000, 25_000), (300, 3_000)  # tonnes of pure nutrient in the base year
SHARES = {"nitrogen": (0.45, 0.04), "phosphate": (0.18, 0.03), "potash": (0.08, 0.02)}  # mean, sd; rest compound
YEARLY_CHANGE = (-0.025, 0.015)  # mean, sd of the yearly change of a county's use
REVISED_COUNTIES = 2  # counties whose figures the correction file revises besides the mistaken total


def _profile(county: County, seed: int) -> tuple[float, list[float]]:
    """A county's base-year total and its shares of nitrogen, phosphate, potash and compound."""
    rng = np.random.default_rng([seed, 9, int(county.county_code)])
    total = float(rng.uniform(*(PLATEAU_TOTAL if county.plateau else BASIN_TOTAL)))
    shares = [max(0.02, float(rng.normal(mean, sd))) for mean, sd in SHARES.values()]
    return total, [*shares, 1.0 - sum(shares)]


def _total(county: County, year: int, seed: int) -> float:
    """The county's total in ``year``, reached from the base year by yearly changes."""
    total, _ = _profile(county, seed)

    def change(y: int) -> float:  # from year y - 1 to year y
        return float(np.random.default_rng([seed, 9, int(county.county_code), y]).normal(*YEARLY_CHANGE))

    for y in range(BASE_YEAR + 1, year + 1):
        total *= 1 + change(y)
    for y in range(BASE_YEAR, year, -1):
        total /= 1 + change(y)
    return total


def _row(county: County, year: int, seed: int, revise: float = 1.0) -> list:
    _, shares = _profile(county, seed)
    parts = [round(_total(county, year, seed) * revise * s, 2) for s in shares]
    return [year, county.city_name, county.county_name, county.county_code, *parts, round(sum(parts), 2)]


def _cell(value: object) -> object:
    """Amounts as Excel saves them: at most two decimals, no trailing zeros (7116.0 → 7116)."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else value


def _write(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([n, *map(_cell, row)] for n, row in enumerate(rows, start=1))


def _mistaken(year: int, seed: int) -> tuple[County, County]:
    """(the basin county whose total is last year's, the county with a negative potash amount)."""
    rng = np.random.default_rng([seed, 9, year])
    basin = [c for c in demo_counties() if not c.plateau]
    stale, negative = rng.choice(len(basin), size=2, replace=False)
    return basin[int(stale)], basin[int(negative)]


def generate_fertilizer_use(landing: Path, start: date, end: date, seed: int) -> dict:
    """One file for every year of [start, end], then a correction of the middle year."""
    counties = demo_counties()
    years = list(range(start.year, end.year + 1))
    rows = 0
    for year in years:
        stale, negative = _mistaken(year, seed)
        lines = []
        for county in counties:
            row = _row(county, year, seed)
            if county is stale:  # the template's total of the year before
                row[-1] = round(sum(_row(county, year - 1, seed)[4:8]), 2)
            elif county is negative:  # a reduction entered as a negative amount
                row[6] = -row[6]
            lines.append(row)
        path = landing / DATASET / f"{year}年各县（市、区）农用化肥施用量.csv"
        _write(path, lines)
        stamp = path.stat().st_mtime - 3600  # the yearly files arrive before the correction
        os.utime(path, (stamp, stamp))
        rows += len(lines)
    revised_year = years[len(years) // 2]
    stale, _ = _mistaken(revised_year, seed)
    rng = np.random.default_rng([seed, 9, revised_year, 1])
    others = [c for c in counties if c is not stale]
    revised = [others[int(i)] for i in rng.choice(len(others), size=REVISED_COUNTIES, replace=False)]
    correction = [_row(stale, revised_year, seed)]
    correction += [_row(c, revised_year, seed, revise=float(rng.uniform(0.97, 1.03))) for c in revised]
    _write(landing / DATASET / f"{revised_year}年各县（市、区）农用化肥施用量_更正.csv", correction)
    return {"files": len(years) + 1, "rows": rows + len(correction), "revised_year": revised_year}
