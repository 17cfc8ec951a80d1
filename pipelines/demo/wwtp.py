"""Demo deliveries of urban sewage treatment plants' monthly operation (DEPARTMENTS.md #10).

One XLSX workbook per year, as the Housing and Urban-Rural Development Department (住建厅) sends it:
``housing/wwtp_monthly/<year>/城镇污水处理厂运行月报_<year>年.xlsx``, one sheet per month (title
2023年01月), a title row merged across the sheet, then 序号, 污水处理厂编码, 污水处理厂名称, 市（州）,
县（市、区）, 县级代码, 设计处理能力(万吨/日), 污水处理量(万吨), 进水COD(mg/L), 出水COD(mg/L),
进水氨氮(mg/L), 出水氨氮(mg/L), 备注.

FOR DEMO PURPOSES ONLY: the cities are the 21 real ones, the counties are the shared invented ones
(``pipelines.demo.counties``), and the plants, their codes (county code + WS + number), capacities
and every figure are invented. Each county has one to three plants (one on the plateau); capacities
are a few 万吨/日 in the basin, larger in 成都市, a fraction of one on the plateau. The load rate
follows the season (more inflow in the wet season, June–September, when rain dilutes the sewage:
influent concentrations are lower then); effluent COD and NH3-N are those of plants meeting 一级A
(about 10–30 and 0.3–3 mg/L). Plants and their capacities come from a generator keyed on the seed
alone, months from one keyed on the seed and the year, so a plant-month does not depend on the span.

The mess, in small proportions, per row: an effluent concentration above the influent one (the
two cells swapped, for COD or NH3-N: quarantined), a design capacity typed as 0 (quarantined); and,
valid, a month a plant did not run (0 treated, concentrations blank, 停运 in 备注).
"""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl

from pipelines.demo.counties import demo_counties

DATASET = Path("housing") / "wwtp_monthly"
HEADER = (
    "序号",
    "污水处理厂编码",
    "污水处理厂名称",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "设计处理能力(万吨/日)",
    "污水处理量(万吨)",
    "进水COD(mg/L)",
    "出水COD(mg/L)",
    "进水氨氮(mg/L)",
    "出水氨氮(mg/L)",
    "备注",
)
PROVINCIAL_CAPITAL = "成都市"
NAME_SUFFIXES = ("城区污水处理厂", "第二污水处理厂", "工业园区污水处理厂")
WET_SEASON = {6: 1.12, 7: 1.2, 8: 1.2, 9: 1.1}  # inflow factor; influent concentrations divided by it

P_SWAPPED = 0.003  # per row: influent and effluent of COD or NH3-N swapped (quarantined)
P_ZERO_CAPACITY = 0.002  # per row: design capacity typed as 0 (quarantined)
P_IDLE = 0.003  # per row: the plant did not run that month (valid)


def _plants(seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 10])
    plants = []
    for county in demo_counties():
        count = 1 if county.plateau else int(rng.integers(1, 4))
        for n in range(1, count + 1):
            if county.plateau:
                capacity = rng.uniform(0.2, 1.5)
            elif county.city_name == PROVINCIAL_CAPITAL:
                capacity = rng.uniform(5, 40)
            else:
                capacity = rng.uniform(1, 10)
            plants.append(
                {
                    "code": f"{county.county_code}WS{n:02d}",
                    "name": county.county_name.removesuffix("县") + NAME_SUFFIXES[n - 1],
                    "city": county.city_name,
                    "county": county.county_name,
                    "county_code": county.county_code,
                    "capacity": round(float(capacity), 2),
                    "load": float(rng.uniform(0.65, 0.95)),  # the plant's usual load rate
                    "cod_in": float(rng.uniform(160, 320)),
                    "nh3n_in": float(rng.uniform(18, 35)),
                }
            )
    return plants


def _row(plant: dict, year: int, month: int, rng: np.random.Generator) -> list:
    days = calendar.monthrange(year, month)[1]
    wet = WET_SEASON.get(month, 1.0)
    load = min(1.15, plant["load"] * wet * float(rng.normal(1, 0.05)))
    row = [
        plant["code"],
        plant["name"],
        plant["city"],
        plant["county"],
        plant["county_code"],
        plant["capacity"],
        round(plant["capacity"] * load * days, 2),
        round(plant["cod_in"] / wet * float(rng.normal(1, 0.08)), 1),
        round(float(rng.uniform(10, 30)), 1),
        round(plant["nh3n_in"] / wet * float(rng.normal(1, 0.08)), 2),
        round(float(rng.uniform(0.3, 3)), 2),
        None,
    ]
    roll = rng.random()
    if roll < P_SWAPPED:
        i = 7 if rng.random() < 0.5 else 9  # COD or NH3-N: influent and effluent cells swapped
        row[i], row[i + 1] = row[i + 1], row[i]
    elif roll < P_SWAPPED + P_ZERO_CAPACITY:
        row[5] = 0
    elif roll < P_SWAPPED + P_ZERO_CAPACITY + P_IDLE:
        row[6:12] = [0, None, None, None, None, "停运"]
    return row


def _write_year(path: Path, year: int, months: list[int], plants: list[dict], seed: int) -> int:
    rng = np.random.default_rng([seed, 10, year])
    # every month of the year is drawn, so a plant-month is the same whatever the span
    drawn = {m: [_row(p, year, m, rng) for p in plants] for m in range(1, 13)}
    book = openpyxl.Workbook()
    book.remove(book.active)
    rows = 0
    for month in months:
        title = f"{year}年{month:02d}月"
        sheet = book.create_sheet(title)
        sheet.cell(1, 1, f"四川省城镇污水处理厂运行情况月报（{title}）")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
        sheet.append(HEADER)
        for n, row in enumerate(drawn[month], start=1):
            sheet.append([n, *row])
        rows += len(drawn[month])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return rows


def generate_wwtp_monthly(landing: Path, start: date, end: date, seed: int) -> dict:
    """One workbook per year of [start, end], a sheet for each month of the span in that year."""
    plants = _plants(seed)
    rows = files = 0
    for year in range(start.year, end.year + 1):
        first = start.month if year == start.year else 1
        last = end.month if year == end.year else 12
        path = landing / DATASET / str(year) / f"城镇污水处理厂运行月报_{year}年.xlsx"
        rows += _write_year(path, year, list(range(first, last + 1)), plants, seed)
        files += 1
    return {"files": files, "rows": rows, "plants": len(plants)}
