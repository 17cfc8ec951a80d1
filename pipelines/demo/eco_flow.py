"""Demo deliveries of the ecological flow at river control sections (DEPARTMENTS.md #7).

One XLSX workbook per month, as the Water Resources Department (水利厅) sends it: one sheet per
city (市州; the sheet's title is the city's full name), a title row merged across the sheet, then
序号, 河流, 控制断面, 日期, 实测流量(m³/s), 生态流量目标(m³/s), 备注. Sections and their flows are
in ``eco_flow_sections_sichuan.csv`` (25 sections on the main rivers, every city one or more;
names of real hydrological stations, targets and flows made up for the demo, not real values).

Flows follow the season: low from December to April (the dry season, near the target on the tight
sections of 沱江, 安宁河, 巴河, 琼江 …), a flood peak in July–August; 2022's summer drought lowers
July–September. Daily values wander around the seasonal level (AR(1) in log space). The target is
the dry-season value December–April and the wet-season value May–November.

The mess, in small proportions: missing days (gauge outages of 1–6 days and single days: no row),
a blank flow (not measured, with a note), ``缺测`` written in the flow cell (quarantined), and
sheets whose flow headers are in L/s (实测流量(L/s), values × 1000) — more often for 德阳市, whose
section is a small river.
"""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.styles import Font

SECTIONS_CSV = Path(__file__).with_name("eco_flow_sections_sichuan.csv")
DATASET = Path("water_resources") / "eco_flow_daily"
HEADER = ("序号", "河流", "控制断面", "日期", "实测流量({unit})", "生态流量目标({unit})", "备注")

# share of the way from the dry-season to the wet-season flow, by month
SEASON = {1: 0.0, 2: 0.0, 3: 0.03, 4: 0.08, 5: 0.2, 6: 0.5, 7: 0.9, 8: 1.0, 9: 0.8, 10: 0.45, 11: 0.15, 12: 0.01}
DRY_MONTHS = (12, 1, 2, 3, 4)
DROUGHT = {(2022, 7): 0.7, (2022, 8): 0.45, (2022, 9): 0.6, (2023, 1): 0.95, (2023, 2): 0.93, (2023, 3): 0.95}
AR = 0.85  # day-to-day persistence of the deviation from the seasonal level
SIGMA = 0.12  # stationary spread of the log deviation

P_OUTAGE = 0.2  # per section-month: a gauge outage of 1–6 days (no rows)
P_DAY_MISSING = 0.004  # per day: the row is missing
P_BLANK = 0.002  # per day: the row is there, the flow is blank (not measured)
P_QUEXIAN = 0.0015  # per day: 缺测 written in the flow cell (quarantined by the contract)
P_LITRES = 0.08  # per sheet: flows in L/s
P_LITRES_SMALL_RIVER = 0.5  # the same for 德阳市 (绵远河)
SMALL_RIVER_CITY = "德阳市"


def _sections() -> list[dict]:
    with SECTIONS_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _level(section: dict, day: date) -> float:
    dry, wet = float(section["flow_dry"]), float(section["flow_wet"])
    return (dry + (wet - dry) * SEASON[day.month]) * DROUGHT.get((day.year, day.month), 1.0)


def _target(section: dict, day: date) -> float:
    return float(section["target_dry"] if day.month in DRY_MONTHS else section["target_wet"])


def _flows(section: dict, days: list[date], rng: np.random.Generator) -> list[float]:
    """The daily mean flow (m³/s) of one section over consecutive days."""
    x, out = rng.normal(0, SIGMA), []
    for day in days:
        x = AR * x + rng.normal(0, SIGMA * math.sqrt(1 - AR * AR))
        out.append(_level(section, day) * math.exp(x))
    return out


def _written(value: float, litres: bool) -> float | int:
    """As the office types it: L/s in whole litres; m³/s to 3 significant-ish digits."""
    if litres:
        return int(round(value * 1000))
    if value >= 100:
        return int(round(value))
    return round(value, 1 if value >= 10 else 2)


def _missing_days(days: list[date], rng: np.random.Generator) -> set[date]:
    missing = {d for d in days if rng.random() < P_DAY_MISSING}
    if rng.random() < P_OUTAGE:
        length = int(rng.integers(1, 7))
        first = int(rng.integers(0, max(1, len(days) - length)))
        missing |= set(days[first : first + length])
    return missing


def _write_month(
    path: Path, month: date, days: list[date], by_city: dict, flows: dict, rng: np.random.Generator
) -> int:
    book = openpyxl.Workbook()
    book.remove(book.active)
    rows = 0
    for city, sections in by_city.items():
        p_litres = P_LITRES_SMALL_RIVER if city == SMALL_RIVER_CITY else P_LITRES
        litres = rng.random() < p_litres
        unit = "L/s" if litres else "m³/s"
        sheet = book.create_sheet(city)
        sheet.cell(1, 1, f"{month.year}年{month.month}月主要河流控制断面生态流量监测日报表（{city}）").font = Font(
            bold=True
        )
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
        for c, header in enumerate(HEADER, start=1):
            sheet.cell(2, c, header.format(unit=unit))
        r = 3
        for section in sections:
            key = (section["river"], section["section_name"])
            missing = _missing_days(days, rng)
            for day in days:
                if day in missing:
                    continue
                flow, note = _written(flows[key][day], litres), None
                roll = rng.random()
                if roll < P_BLANK:
                    flow, note = None, "设备故障，当日未测"
                elif roll < P_BLANK + P_QUEXIAN:
                    flow = "缺测"
                values = (r - 2, section["river"], section["section_name"], day, flow, None, note)
                for c, value in enumerate(values, start=1):
                    if value is not None:
                        sheet.cell(r, c, value)
                sheet.cell(r, 6, _written(_target(section, day), litres))
                sheet.cell(r, 4).number_format = "yyyy-mm-dd"
                r += 1
                rows += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return rows


def generate_eco_flow(landing: Path, start: date, end: date, seed: int) -> dict:
    """One workbook for every month of [start, end] (the days of the month inside the range)."""
    sections = _sections()
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    flows = {}
    for i, section in enumerate(sections):
        series = _flows(section, days, np.random.default_rng([seed, 7, i]))
        flows[(section["river"], section["section_name"])] = dict(zip(days, series, strict=True))
    by_city: dict[str, list[dict]] = {}
    for section in sections:
        by_city.setdefault(section["city_name"], []).append(section)
    months = sorted({date(d.year, d.month, 1) for d in days})
    folder = landing / DATASET
    rows = 0
    for month in months:
        month_days = [d for d in days if (d.year, d.month) == (month.year, month.month)]
        rng = np.random.default_rng([seed, 7, month.year, month.month])
        path = folder / str(month.year) / f"四川省主要河流控制断面生态流量日监测_{month.year}年{month.month:02d}月.xlsx"
        rows += _write_month(path, month, month_days, by_city, flows, rng)
    return {"files": len(months), "section_days": rows, "sections": len(sections)}
