"""Demo deliveries of the climate datasets: city energy consumption (DEPARTMENTS.md #11) and GDP (#12).

``generate_energy_consumption`` writes, per year of the span,
``development_reform/energy_consumption/<year>/四川省各市（州）分品种能源消费量_<year>.xlsx``: one sheet
``<year>年`` with a merged title row, the header 市（州）| 能源品种 | 计量单位 | 消费量 | 备注 and, for each
of the 21 cities, one row per fuel of ``standards/climate/energy_fuels.csv``, the city cell merged over
its fuel rows.

``generate_gdp`` writes ``statistics/gdp/四川省各市（州）地区生产总值_<first>-<last>.csv`` (GB18030, as
Excel on Chinese Windows saves it): the province (510000) and its cities for every year, at current
prices and at constant 2020 prices (亿元), then a revision of one year (the middle of the span),
``…_<year>年修订.csv``, arriving an hour later: its figures supersede the first ones.

Values follow ``climate_cities_sichuan.csv`` (2021 levels: Chengdu the largest economy and electricity
user, coal and coke where the steel, power and chemical plants are — 攀枝花, 宜宾, 达州, 泸州 — little
of anything on the plateau), with GDP growing at roughly the province's real rates and every city's
fuels on their own trends: coal falling, gas and electricity (hydro-rich Sichuan) rising. Each
city-year's draws come from a generator keyed on (seed, stream, city, year), and every year is
reached from 2021 by the same steps, so a city-year's values do not depend on the requested span.

The mess, in small proportions: mixed units — most rows in 万吨, 亿立方米 and 亿千瓦时, some in 吨,
万立方米 and 万千瓦时 (the value scaled accordingly) or spelled 万t, 亿m³, 亿kWh; and in every workbook
one coal row reported in standard coal equivalent (万吨标准煤), which the contract refuses (quarantined),
re-delivered in 万吨 by a correction workbook (``…_<year>_更正.xlsx``) arriving an hour later.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.styles import Alignment, Font

REPO_ROOT = Path(__file__).resolve().parents[2]
CITIES_CSV = Path(__file__).with_name("climate_cities_sichuan.csv")
FUELS_CSV = REPO_ROOT / "standards" / "climate" / "energy_fuels.csv"
ENERGY_DATASET = Path("development_reform") / "energy_consumption"
GDP_DATASET = Path("statistics") / "gdp"

BASE_YEAR = 2021  # the year the city profile gives
PRICE_BASE_YEAR = 2020  # constant prices of the bureau's deliveries
# province-wide real GDP growth and GDP deflator by year (rough, for realism); other years: the defaults
REAL_GROWTH = {2019: 0.074, 2020: 0.038, 2021: 0.082, 2022: 0.029, 2023: 0.060}
DEFLATOR = {2020: 0.015, 2021: 0.040, 2022: 0.030, 2023: 0.010}
DEFAULT_GROWTH, DEFAULT_DEFLATOR = 0.055, 0.02
PROVINCE_SHARE = 0.996  # the province's own GDP is a little below the sum of its cities'
# yearly trend of each fuel's consumption
FUEL_TREND = {
    "raw_coal": -0.05,
    "coke": -0.02,
    "gasoline": 0.0,
    "diesel": -0.01,
    "fuel_oil": -0.03,
    "lpg": 0.02,
    "natural_gas": 0.05,
    "electricity": 0.045,
}
# the unit each fuel is reported in (the profile's unit), the smaller unit some cities use, their ratio,
# and the symbol spelling some rows use
UNITS = {
    "t": ("万吨", "吨", 10_000, "万t"),
    "m³": ("亿立方米", "万立方米", 10_000, "亿m³"),
    "kWh": ("亿千瓦时", "万千瓦时", 10_000, "亿kWh"),
}
P_SMALL_UNIT = 0.06  # per row: reported in the smaller unit
P_SYMBOL = 0.04  # per row: the unit spelled with symbols
COAL_EQUIVALENT_UNIT = "万吨标准煤"
COAL_EQUIVALENT_RATIO = 0.7143  # rough tce per t of raw coal: only to make the refused row look real
HEADER = ("市（州）", "能源品种", "计量单位", "消费量", "备注")
GDP_HEADER = (
    "统计年度",
    "行政区划代码",
    "地区",
    "地区生产总值当年价格(亿元)",
    "地区生产总值不变价格(亿元)",
    "不变价格基期",
)
PROVINCE = ("510000", "四川省")


def _cities() -> list[dict]:
    with CITIES_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _fuels() -> list[dict]:
    with FUELS_CSV.open(encoding="utf-8") as fh:
        return sorted(csv.DictReader(fh), key=lambda f: int(f["fuel_order"]))


def _rng(seed: int, stream: int, city: dict, year: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, int(city["region_code"]), year])


def _steps(year: int) -> tuple[range, int]:
    """The years stepped through from BASE_YEAR to ``year`` and the direction (+1 forward, -1 back)."""
    return (range(BASE_YEAR + 1, year + 1), 1) if year >= BASE_YEAR else (range(BASE_YEAR, year, -1), -1)


def _gdp(city: dict, year: int, seed: int) -> tuple[float, float]:
    """(current, constant 2020 prices) GDP in 亿元 of a city in a year."""
    constant = float(city["gdp_2021"]) / (1 + DEFLATOR[BASE_YEAR])
    price_index = 1 + DEFLATOR[BASE_YEAR]  # 2021 prices over 2020 prices
    years, direction = _steps(year)
    for y in years:
        growth = REAL_GROWTH.get(y, DEFAULT_GROWTH) + _rng(seed, 2589, city, y).normal(0, 0.01)
        deflator = DEFLATOR.get(y, DEFAULT_DEFLATOR)
        if direction > 0:
            constant *= 1 + growth
            price_index *= 1 + deflator
        else:
            constant /= 1 + growth
            price_index /= 1 + deflator
    return constant * price_index, constant


def _consumption(city: dict, fuel: dict, year: int, seed: int) -> float:
    """A city's consumption of a fuel in a year, in the profile's unit (万吨, 亿立方米, 亿千瓦时)."""
    level = float(city[fuel["fuel_code"]])
    city_trend = np.random.default_rng([seed, 1041, int(city["region_code"])]).normal(0, 0.015)
    years, direction = _steps(year)
    for y in years:
        change = FUEL_TREND[fuel["fuel_code"]] + city_trend + _rng(seed, 1041, city, y).normal(0, 0.02)
        level = level * (1 + change) if direction > 0 else level / (1 + change)
    return level


def _age(path: Path, seconds: float) -> None:
    """Date a file back so that the later deliveries written next arrive after it."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def _energy_sheet(book: openpyxl.Workbook, year: int, rows: list[tuple[str, str, str, float, str | None]]) -> None:
    sheet = book.create_sheet(f"{year}年")
    sheet.cell(1, 1, f"{year}年各市（州）分品种能源消费量（实物量）").font = Font(bold=True)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    for c, header in enumerate(HEADER, start=1):
        sheet.cell(2, c, header).font = Font(bold=True)
    r = 3
    while rows:
        city = rows[0][0]
        block = [row for row in rows if row[0] == city]
        rows = [row for row in rows if row[0] != city]
        sheet.cell(r, 1, city).alignment = Alignment(vertical="center")
        if len(block) > 1:
            sheet.merge_cells(start_row=r, start_column=1, end_row=r + len(block) - 1, end_column=1)
        for _, fuel, unit, value, note in block:
            sheet.cell(r, 2, fuel)
            sheet.cell(r, 3, unit)
            sheet.cell(r, 4, value)
            if note:
                sheet.cell(r, 5, note)
            r += 1


def generate_energy_consumption(landing: Path, start: date, end: date, seed: int) -> dict:
    cities, fuels = _cities(), _fuels()
    folder = landing / ENERGY_DATASET
    files = rows_total = other_units = 0
    corrections = []
    for year in range(start.year, end.year + 1):
        rng = np.random.default_rng([seed, 11, year])
        coal_equivalent_city = cities[rng.integers(len(cities))]["name_zh"]
        rows: list[tuple[str, str, str, float, str | None]] = []
        correction = None
        for city in cities:
            for fuel in fuels:
                unit, small, ratio, symbol = UNITS[fuel["canonical_unit"]]
                value = _consumption(city, fuel, year, seed)
                note = "全社会用电量" if fuel["fuel_code"] == "electricity" else None
                roll = rng.random()
                if city["name_zh"] == coal_equivalent_city and fuel["fuel_code"] == "raw_coal":
                    correction = (city["name_zh"], fuel["name_zh"], unit, round(value, 2), "更正：按实物量报送")
                    rows.append(
                        (
                            city["name_zh"],
                            fuel["name_zh"],
                            COAL_EQUIVALENT_UNIT,
                            round(value * COAL_EQUIVALENT_RATIO, 2),
                            None,
                        )
                    )
                elif roll < P_SMALL_UNIT:
                    rows.append((city["name_zh"], fuel["name_zh"], small, round(value * ratio), note))
                    other_units += 1
                elif roll < P_SMALL_UNIT + P_SYMBOL:
                    rows.append((city["name_zh"], fuel["name_zh"], symbol, round(value, 2), note))
                    other_units += 1
                else:
                    rows.append((city["name_zh"], fuel["name_zh"], unit, round(value, 2), note))
        book = openpyxl.Workbook()
        book.remove(book.active)
        rows_total += len(rows)
        _energy_sheet(book, year, rows)
        path = folder / str(year) / f"四川省各市（州）分品种能源消费量_{year}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        book.save(path)
        _age(path, 3600)
        files += 1
        if correction:  # the department re-sends the refused row in physical units
            fix = openpyxl.Workbook()
            fix.remove(fix.active)
            _energy_sheet(fix, year, [correction])
            fix.save(path.with_name(f"四川省各市（州）分品种能源消费量_{year}_更正.xlsx"))
            corrections.append(year)
            files += 1
    return {
        "files": files,
        "rows": rows_total + len(corrections),
        "rows_in_other_units": other_units,
        "rows_in_coal_equivalent": len(corrections),
        "corrections": len(corrections),
    }


def _gdp_rows(cities: list[dict], year: int, seed: int, revise: np.random.Generator | None = None) -> list[list]:
    rows, current_sum, constant_sum = [], 0.0, 0.0
    for city in cities:
        current, constant = _gdp(city, year, seed)
        current_sum, constant_sum = current_sum + current, constant_sum + constant
        rows.append([city["region_code"], city["name_zh"], current, constant])
    rows.insert(0, [*PROVINCE, current_sum * PROVINCE_SHARE, constant_sum * PROVINCE_SHARE])
    out = []
    for code, name, current, constant in rows:
        if revise is not None:  # the verified figure differs a little from the preliminary one
            factor = 1 + revise.normal(0, 0.006)
            current, constant = current * factor, constant * factor
        out.append([year, code, name, f"{current:.2f}", f"{constant:.2f}", PRICE_BASE_YEAR])
    return out


def _write_gdp(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(GDP_HEADER)
        writer.writerows(rows)


def generate_gdp(landing: Path, start: date, end: date, seed: int) -> dict:
    cities = _cities()
    years = list(range(start.year, end.year + 1))
    folder = landing / GDP_DATASET
    first = folder / f"四川省各市（州）地区生产总值_{years[0]}-{years[-1]}.csv"
    _write_gdp(first, [row for year in years for row in _gdp_rows(cities, year, seed)])
    _age(first, 3600)
    revised_year = years[len(years) // 2]
    revision = folder / f"四川省各市（州）地区生产总值_{revised_year}年修订.csv"
    revised = _gdp_rows(cities, revised_year, seed, revise=np.random.default_rng([seed, 12, revised_year]))
    _write_gdp(revision, revised)
    return {"files": 2, "rows": len(years) * (len(cities) + 1) + len(revised), "revised_year": revised_year}
