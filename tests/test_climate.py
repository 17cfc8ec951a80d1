"""Climate: energy consumption in mixed units (development_reform/energy_consumption) and GDP with a
revision (statistics/gdp) written here, CO2 and CO2 per unit GDP checked against values worked out
by hand from the emission factors' sources (GB/T 2589 net calorific values × IPCC 2006 default CO2
factors; the 2022 national grid factor 0.5703 tCO2/MWh), and the deliveries' mess quarantined."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from pipelines.contracts import load_contract
from tests.helpers import REPO, query

ENERGY = Path("development_reform") / "energy_consumption"
GDP = Path("statistics") / "gdp"
FUELS = ["原煤", "焦炭", "汽油", "柴油", "燃料油", "液化石油气", "天然气", "电力"]
DEFAULT_UNIT = {"天然气": "亿立方米", "电力": "亿千瓦时"}  # the others in 万吨
GDP_HEADER = [
    "统计年度",
    "行政区划代码",
    "地区",
    "地区生产总值当年价格(亿元)",
    "地区生产总值不变价格(亿元)",
    "不变价格基期",
]

# t CO2 per canonical unit, from the sources the standard names (not from the table under test)
COAL = 20.908 * 94.6 / 1000  # per t: NCV 20 908 kJ/kg × 94 600 kg CO2/TJ
GASOLINE = 43.070 * 69.3 / 1000  # per t: NCV 43 070 kJ/kg × 69 300 kg CO2/TJ
GAS = 0.038931 * 56.1 / 1000  # per m³: NCV 38 931 kJ/m³ × 56 100 kg CO2/TJ
ELECTRICITY = 0.5703 / 1000  # per kWh: 0.5703 t CO2/MWh
WAN_YUAN_PER_YI_YUAN = 10_000  # 1 亿元 = 10 000 万元

with (REPO / "standards" / "regions" / "gbt2260_sichuan.csv").open(encoding="utf-8") as _fh:
    CITIES = {r["name_zh"]: r["region_code"] for r in csv.DictReader(_fh) if r["level"] == "city"}
A, C, D, E = "成都市", "遂宁市", "德阳市", "绵阳市"  # the crafted cases; the other 17 cities are plain


def city_rows(city: str, **values: tuple[str, float] | float) -> list[tuple[str, str, str, float]]:
    """Every fuel of a city, 0 unless given; a value alone is in the fuel's usual unit."""
    rows = []
    for fuel in FUELS:
        given = values.get(fuel, 0)
        unit, value = given if isinstance(given, tuple) else (DEFAULT_UNIT.get(fuel, "万吨"), given)
        rows.append((city, fuel, unit, value))
    return rows


def plain(city: str, coal_wan_t: float) -> list[tuple[str, str, str, float]]:
    return city_rows(city, 原煤=coal_wan_t, 电力=1)


ENERGY_SHEETS = {
    "2021年": [
        *city_rows(A, 原煤=10, 天然气=2, 电力=50, 汽油=5),
        *[row for city in CITIES if city != A for row in plain(city, 1)],
    ],
    "2023年": [  # the same fuels in other units and spellings
        *city_rows(A, 原煤=("吨", 80000), 天然气=("万立方米", 25000), 电力=("万千瓦时", 520000), 汽油=("万t", 5.5)),
        *[row for city in CITIES if city != A for row in plain(city, 0.9)],
    ],
    "2022年": [
        *city_rows(D, 原煤=("万吨标准煤", 0.7)),  # coal equivalent: refused
        ("成都", "原煤", "万吨", 1),  # the city's short name: refused
        *city_rows(E, 原煤=1, 电力=("万吨", 1)),  # a unit of mass for electricity: passes, cannot be converted
    ],
}
EXPECTED_CONVERSIONS = {  # A, 2023: fuel → (reported, unit, consumption in t / m³ / kWh)
    "raw_coal": (80000, "吨", 80_000),
    "natural_gas": (25000, "万立方米", 250_000_000),
    "electricity": (520000, "万千瓦时", 5_200_000_000),
    "gasoline": (5.5, "万t", 55_000),
}


def gdp_row(year: int, code: str, name: str, constant: float, current: float | None = None) -> list:
    return [year, code, name, current if current is not None else constant, constant, 2020]


GDP_FIRST = [
    gdp_row(2021, "510000", "四川省", 4000),
    gdp_row(2023, "510000", "四川省", 4400),
    gdp_row(2021, CITIES[A], A, 2000),
    gdp_row(2023, CITIES[A], A, 2200),
    *[gdp_row(2021, code, city, 100) for city, code in CITIES.items() if city not in (A, C)],  # no 2021 for C
    *[gdp_row(2023, code, city, 110) for city, code in CITIES.items() if city != A],
    *[gdp_row(2022, code, city, 105) for city, code in CITIES.items()],  # every city, no province row
    gdp_row(2023, "519999", "不存在市", 50),  # not a GB/T 2260 code of Sichuan: refused
]
GDP_REVISION = [gdp_row(2023, CITIES[A], A, 2250, 2400), gdp_row(2023, "510000", "四川省", 4450)]


def co2(coal_t: float = 0, gas_m3: float = 0, kwh: float = 0, gasoline_t: float = 0) -> float:
    return coal_t * COAL + gas_m3 * GAS + kwh * ELECTRICITY + gasoline_t * GASOLINE


A_2021 = co2(coal_t=100_000, gas_m3=200_000_000, kwh=5_000_000_000, gasoline_t=50_000)
A_2023 = co2(coal_t=80_000, gas_m3=250_000_000, kwh=5_200_000_000, gasoline_t=55_000)
PLAIN_2021 = co2(coal_t=10_000, kwh=100_000_000)
PLAIN_2023 = co2(coal_t=9_000, kwh=100_000_000)
INTENSITY = {  # t per 万元 at constant prices
    (A, 2021): A_2021 / (2000 * WAN_YUAN_PER_YI_YUAN),
    (A, 2023): A_2023 / (2250 * WAN_YUAN_PER_YI_YUAN),  # the revised GDP
    ("自贡市", 2021): PLAIN_2021 / (100 * WAN_YUAN_PER_YI_YUAN),
    ("自贡市", 2023): PLAIN_2023 / (110 * WAN_YUAN_PER_YI_YUAN),
    ("四川省", 2021): (A_2021 + 20 * PLAIN_2021) / (4000 * WAN_YUAN_PER_YI_YUAN),
    ("四川省", 2023): (A_2023 + 20 * PLAIN_2023) / (4450 * WAN_YUAN_PER_YI_YUAN),
}
CODE = CITIES | {"四川省": "510000"}


def write_energy(path: Path, sheets: dict[str, list[tuple[str, str, str, float]]]) -> Path:
    """The commission's layout: a merged title row, the header, each city's cell merged over its fuels."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        sheet.cell(1, 1, f"{title}各市（州）分品种能源消费量")
        sheet.merge_cells("A1:E1")
        for c, header in enumerate(["市（州）", "能源品种", "计量单位", "消费量", "备注"], start=1):
            sheet.cell(2, c, header)
        blocks: list[list[tuple[str, str, str, float]]] = []
        for row in rows:  # consecutive rows of one city form its block
            if blocks and blocks[-1][0][0] == row[0]:
                blocks[-1].append(row)
            else:
                blocks.append([row])
        r = 3
        for block in blocks:
            sheet.cell(r, 1, block[0][0])
            if len(block) > 1:
                sheet.merge_cells(start_row=r, start_column=1, end_row=r + len(block) - 1, end_column=1)
            for _, fuel, unit, value in block:
                sheet.cell(r, 2, fuel)
                sheet.cell(r, 3, unit)
                sheet.cell(r, 4, value)
                r += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_gdp(path: Path, rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(GDP_HEADER)
        writer.writerows(rows)
    return path


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    landing = warehouse / "landing"
    write_energy(landing / ENERGY / "2021-2023.xlsx", ENERGY_SHEETS)
    first = write_gdp(landing / GDP / "gdp_2021_2023.csv", GDP_FIRST)
    # the revision arrives a day later; its name sorts first, so only the arrival time can order them
    revision = write_gdp(landing / GDP / "2023_revised.csv", GDP_REVISION)
    stamp = first.stat().st_mtime
    os.utime(first, (stamp - 86_400, stamp - 86_400))
    os.utime(revision, (stamp, stamp))


@pytest.fixture(scope="module")
def climate_warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_mixed_units_are_converted_to_the_fuels_canonical_units(climate_warehouse: Path) -> None:
    rows = query(
        climate_warehouse,
        "select fuel_code, reported_consumption, reported_unit, consumption, canonical_unit, co2_t "
        "from climate.co2_city_year_fuel where region_code = ? and year = 2023",
        [CITIES[A]],
    )
    by_fuel = {r[0]: r[1:] for r in rows}
    assert len(by_fuel) == len(FUELS)
    for fuel, (reported, unit, canonical) in EXPECTED_CONVERSIONS.items():
        assert by_fuel[fuel][:2] == (reported, unit), fuel
        assert by_fuel[fuel][2] == pytest.approx(canonical), fuel
    assert by_fuel["raw_coal"][3] == "t" and by_fuel["natural_gas"][3] == "m³" and by_fuel["electricity"][3] == "kWh"
    assert by_fuel["raw_coal"][4] == pytest.approx(80_000 * COAL)
    assert by_fuel["natural_gas"][4] == pytest.approx(250_000_000 * GAS)
    assert by_fuel["electricity"][4] == pytest.approx(5_200_000_000 * ELECTRICITY)
    assert by_fuel["coke"][2:] == (0, "t", 0)
    # electricity delivered in 万吨: kept, not convertible, and the city-year has no CO2 rather than a short one
    wrong = query(
        climate_warehouse,
        "select is_convertible, consumption, co2_t from climate.co2_city_year_fuel "
        "where region_code = ? and year = 2022 and fuel_code = 'electricity'",
        [CITIES[E]],
    )
    assert wrong == [(False, None, None)]
    totals = dict(query(climate_warehouse, "select region_code, co2_t from climate.co2_intensity where year = 2022"))
    assert totals[CITIES[E]] is None
    assert totals[CITIES[D]] is None  # its coal row was refused: 7 of 8 fuels
    assert totals["510000"] is None  # not every city has 2022


def test_a_later_gdp_delivery_supersedes_the_earlier_one(climate_warehouse: Path) -> None:
    raw = query(
        climate_warehouse,
        "select _source_file, gdp_constant_price from raw.statistics__gdp where region_code = ? and year = 2023 "
        "order by _arrived_at",
        [CITIES[A]],
    )
    assert [(Path(f).name, v) for f, v in raw] == [("gdp_2021_2023.csv", 2200), ("2023_revised.csv", 2250)]
    served = dict(
        query(
            climate_warehouse,
            "select region_code, gdp_constant_price from climate.co2_intensity where year = 2023",
        )
    )
    assert served[CITIES[A]] == 2250 and served["510000"] == 4450
    assert served[CITIES["自贡市"]] == 110  # not revised: the first delivery stands


def test_co2_intensity_and_its_change_against_2021_by_hand(climate_warehouse: Path) -> None:
    rows = query(
        climate_warehouse,
        "select region_code, year, co2_t, co2_intensity, baseline_year, co2_intensity_change, gdp_basis "
        "from climate.co2_intensity where year in (2021, 2023)",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert got[(CITIES[A], 2021)][0] == pytest.approx(A_2021)
    assert got[(CITIES[A], 2023)][0] == pytest.approx(A_2023)
    assert got[("510000", 2021)][0] == pytest.approx(A_2021 + 20 * PLAIN_2021)
    for (name, year), intensity in INTENSITY.items():
        assert got[(CODE[name], year)][1] == pytest.approx(intensity), (name, year)
        assert got[(CODE[name], year)][2] == 2021
    for name in (A, "自贡市", "四川省"):
        change = INTENSITY[(name, 2023)] / INTENSITY[(name, 2021)] - 1
        assert got[(CODE[name], 2023)][3] == pytest.approx(change), name
        assert got[(CODE[name], 2021)][3] == pytest.approx(0)
    assert got[("510000", 2023)][4] == "delivered"
    province_2022 = query(
        climate_warehouse,
        "select gdp_constant_price, price_base_year, gdp_basis from climate.co2_intensity "
        "where region_code = '510000' and year = 2022",
    )
    assert province_2022 == [(pytest.approx(len(CITIES) * 105), 2020, "sum_of_cities")]


def test_change_is_null_not_a_failure_without_2021(climate_warehouse: Path) -> None:
    rows = query(
        climate_warehouse,
        "select year, co2_t, gdp_constant_price, co2_intensity, co2_intensity_change from climate.co2_intensity "
        "where region_code = ? order by year",
        [CITIES[C]],
    )
    assert rows[0][0] == 2021 and rows[0][1] == pytest.approx(PLAIN_2021) and rows[0][2:] == (None, None, None)
    assert rows[-1][0] == 2023 and rows[-1][3] == pytest.approx(PLAIN_2023 / (110 * WAN_YUAN_PER_YI_YUAN))
    assert rows[-1][4] is None
    board = query(
        climate_warehouse,
        "select value, is_on_track from assessment.scoreboard "
        "where indicator_code = 'co2_intensity_change_vs_2021' and region_code = ? and period_end = date '2023-12-01'",
        [CITIES[C]],
    )
    assert board == [(None, None)]


def test_scoreboard_rows_per_year_for_cities_and_province(climate_warehouse: Path) -> None:
    rows = query(
        climate_warehouse,
        "select region_code, period_type, period_start, period_end, value, target, is_on_track, source_datasets "
        "from assessment.scoreboard where indicator_code = 'co2_intensity_change_vs_2021'",
    )
    got = {(r[0], r[3].year): r for r in rows}
    assert {r[1] for r in rows} == {"year"}
    assert {year for _, year in got} == {2022, 2023}  # years after the baseline only
    assert len([k for k in got if k[1] == 2023]) == len(CITIES) + 1
    for name in (A, "自贡市", "四川省"):
        row = got[(CODE[name], 2023)]
        change = INTENSITY[(name, 2023)] / INTENSITY[(name, 2021)] - 1
        assert row[2:4] == (date(2023, 1, 1), date(2023, 12, 1))
        assert float(row[4]) == pytest.approx(round(change, 4), abs=1e-9)
        assert row[6] is (change <= -0.08), name
        assert row[7] == ["development_reform/energy_consumption", "statistics/gdp"]
    assert got[(CITIES[A], 2023)][6] is False and got[(CITIES["自贡市"], 2023)][6] is True  # −6.3 % vs −11.4 %


def test_refused_rows_are_quarantined_with_the_reason_and_batches_reconcile(climate_warehouse: Path) -> None:
    energy = query(
        climate_warehouse,
        "select rule, field, reason from quarantine.development_reform__energy_consumption order by _source_line",
    )
    assert [(r[0], r[1]) for r in energy] == [("valid_values", "unit"), ("valid_values", "city_name")]
    assert "万吨标准煤" in energy[0][2] and "standards.unit_conversions" in energy[0][2]
    assert "成都" in energy[1][2]
    gdp = query(climate_warehouse, "select rule, field, reason from quarantine.statistics__gdp")
    assert gdp == [("valid_values", "region_code", gdp[0][2])] and "519999" in gdp[0][2]
    batches = query(
        climate_warehouse,
        "select dataset, source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset in ('development_reform/energy_consumption', 'statistics/gdp')",
    )
    status = {Path(b[1]).name: b[2:] for b in batches}
    energy_rows = sum(len(rows) for rows in ENERGY_SHEETS.values())
    assert status == {
        "2021-2023.xlsx": ("published", energy_rows, energy_rows - 2, 2),
        "gdp_2021_2023.csv": ("published", len(GDP_FIRST), len(GDP_FIRST) - 1, 1),
        "2023_revised.csv": ("published", len(GDP_REVISION), len(GDP_REVISION), 0),
    }
    for table, dataset in (
        ("development_reform__energy_consumption", "development_reform/energy_consumption"),
        ("statistics__gdp", "statistics/gdp"),
    ):
        raw = query(climate_warehouse, f"select count(*) from raw.{table}")[0][0]
        quarantined = query(climate_warehouse, f"select count(*) from quarantine.{table}")[0][0]
        assert raw == sum(b[4] for b in batches if b[0] == dataset)
        assert quarantined == sum(b[5] for b in batches if b[0] == dataset)


def test_emission_factor_rows_hold_their_own_arithmetic() -> None:
    """co2_t_per_unit is the product of the row's NCV, CO2 per TJ and oxidation rate (GJ → TJ)."""
    with (REPO / "standards" / "climate" / "co2_emission_factors.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fossil = [r for r in rows if r["ncv_gj_per_unit"]]
    assert len(fossil) == 7
    for r in fossil:
        product = float(r["ncv_gj_per_unit"]) * float(r["co2_t_per_tj"]) * float(r["oxidation_rate"]) / 1000
        assert float(r["co2_t_per_unit"]) == pytest.approx(product, rel=1e-9), r["fuel_code"]
    assert {r["fuel_code"]: float(r["co2_t_per_unit"]) for r in rows}["electricity"] == pytest.approx(ELECTRICITY)
    assert all(r["source"] and r["verification"] for r in rows)


def test_demo_mess_stays_within_the_contracts_tolerance(tmp_path: Path) -> None:
    from pipelines.demo.climate import generate_energy_consumption, generate_gdp

    summary = generate_energy_consumption(tmp_path, date(2021, 1, 1), date(2021, 12, 31), 2021)
    generate_gdp(tmp_path, date(2021, 1, 1), date(2022, 12, 31), 2021)
    tolerated = load_contract(
        REPO / "contracts" / ENERGY.parent / f"{ENERGY.name}.odcs.yaml"
    ).tolerated_quarantine_share
    book = openpyxl.load_workbook(next((tmp_path / ENERGY).rglob("*_2021.xlsx")))
    units = [row[2] for row in book["2021年"].iter_rows(min_row=3, values_only=True)]
    assert len(units) == len(CITIES) * len(FUELS)
    assert 0 < units.count("万吨标准煤") / len(units) < tolerated
    assert summary["rows_in_other_units"] > 0 and summary["corrections"] == 1
    assert len(list((tmp_path / GDP).glob("*.csv"))) == 2
