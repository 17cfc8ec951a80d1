"""Demo deliveries of the soil division (土壤处, DEPARTMENTS.md #15): contaminated farmland's safe use
per county and year, and the register of farmland plots.

``soil/farmland_safe_use/受污染耕地安全利用情况_<year>年.csv`` — one CSV per year ("CSV UTF-8" as
Excel saves it: UTF-8 with a byte-order mark, CRLF), one row per county: 序号, 统计年度, 市（州）,
县（市、区）, 县级代码, 受污染耕地面积(亩), 安全利用面积(亩), 严格管控面积(亩).
``soil/contaminated_plots/农用地地块清单_<year>年.csv`` — the register as at the end of the span:
序号, 地块编码, 地块名称, 市（州）, 县（市、区）, 县级代码, 面积(亩), 主要污染物, 土壤环境质量类别.

FOR DEMO PURPOSES ONLY: the cities are the 21 real ones, the counties the shared invented ones
(``pipelines.demo.counties``); every area, plot, code (county code + DK + number) and pollutant is
invented. Basin counties have a few thousand to tens of thousands of 亩 of contaminated farmland
(cadmium the most frequent pollutant, as in Sichuan's surveys), the plateau little or none. The
province's safe-use rate rises from about 91% in 2021 to about 94% in 2023; about a tenth of the
contaminated farmland is strictly controlled.

The mess: in each year's file one county whose safely used + strictly controlled farmland is above
its contaminated farmland (a share above 100%: quarantined). The plot register has none.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.demo.counties import County, demo_counties

SAFE_USE = Path("soil") / "farmland_safe_use"
PLOTS = Path("soil") / "contaminated_plots"
SAFE_USE_HEADER = (
    "序号",
    "统计年度",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "受污染耕地面积(亩)",
    "安全利用面积(亩)",
    "严格管控面积(亩)",
)
PLOTS_HEADER = (
    "序号",
    "地块编码",
    "地块名称",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "面积(亩)",
    "主要污染物",
    "土壤环境质量类别",
)
BASE_YEAR = 2021
RATE_BASE = 0.91  # the province's safe-use rate in 2021
RATE_STEP = 0.015  # its rise per year
STRICT_SHARE = 0.1  # contaminated farmland under strict control
POLLUTANTS = (("镉", 0.75), ("砷", 0.2), ("铅", 0.2), ("汞", 0.08), ("铬", 0.06))  # name, chance on a plot
CLASSES = (("优先保护类", 0.25), ("安全利用类", 0.6), ("严格管控类", 0.15))
FIELD_STEMS = "上坝 下湾 河坝 沟口 坪上 塘边 大田 新田".split()


def _contaminated(seed: int) -> dict[str, float]:
    """Contaminated farmland per county (亩), the same every year; 0 for about half the plateau."""
    rng = np.random.default_rng([seed, 15])
    areas = {}
    for county in demo_counties():
        if county.plateau:
            area = float(rng.uniform(200, 3_000)) if rng.random() < 0.5 else 0.0
        else:
            area = float(rng.uniform(2_000, 60_000))
        areas[county.county_code] = round(area)
    return areas


def _safe_use_rows(year: int, areas: dict[str, float], rng: np.random.Generator) -> list[list]:
    rows = []
    counties = demo_counties()
    messy = int(rng.integers(len([c for c in counties if areas[c.county_code] > 0])))
    n_contaminated = 0
    for county in counties:
        total = areas[county.county_code]
        rate = min(1.0, RATE_BASE + RATE_STEP * (year - BASE_YEAR) + float(rng.normal(0, 0.03)))
        strict = round(total * STRICT_SHARE * float(rng.uniform(0.6, 1.4)))
        safe = max(0, round(total * rate) - strict)
        if total > 0:
            if n_contaminated == messy:  # the parts reported above the whole (a share above 100%)
                safe = round(total * 1.04) - strict
            n_contaminated += 1
        rows.append([year, county.city_name, county.county_name, county.county_code, total, safe, strict])
    return rows


def _plots(areas: dict[str, float], rng: np.random.Generator) -> list[list]:
    rows = []
    for county in demo_counties():
        if areas[county.county_code] == 0:
            continue
        for n in range(1, int(rng.integers(3, 13)) + 1):
            rows.append(_plot(county, n, rng))
    return rows


def _plot(county: County, n: int, rng: np.random.Generator) -> list:
    names = [p for p, _ in CLASSES]
    risk_class = names[int(rng.choice(len(CLASSES), p=[w for _, w in CLASSES]))]
    pollutants = [] if risk_class == "优先保护类" else [p for p, chance in POLLUTANTS if rng.random() < chance]
    if risk_class != "优先保护类" and not pollutants:
        pollutants = ["镉"]
    return [
        f"{county.county_code}DK{n:04d}",
        f"{county.county_name}{FIELD_STEMS[n % len(FIELD_STEMS)]}地块{n}",
        county.city_name,
        county.county_name,
        county.county_code,
        round(float(rng.uniform(20, 2_000)), 1),
        "、".join(pollutants),
        risk_class,
    ]


def _write(path: Path, header: tuple[str, ...], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([n, *row] for n, row in enumerate(rows, start=1))


def generate_soil(landing: Path, start: date, end: date, seed: int) -> dict:
    """A safe-use file for every year of [start, end]; the plot register as at the span's end."""
    areas = _contaminated(seed)
    rows = 0
    for year in range(start.year, end.year + 1):
        year_rows = _safe_use_rows(year, areas, np.random.default_rng([seed, 15, year]))
        _write(landing / SAFE_USE / f"受污染耕地安全利用情况_{year}年.csv", SAFE_USE_HEADER, year_rows)
        rows += len(year_rows)
    plots = _plots(areas, np.random.default_rng([seed, 15, 0]))
    _write(landing / PLOTS / f"农用地地块清单_{end.year}年.csv", PLOTS_HEADER, plots)
    return {"safe_use_files": end.year - start.year + 1, "safe_use_rows": rows, "plots": len(plots)}
