"""Soil (soil/farmland_safe_use and soil/contaminated_plots, DEPARTMENTS.md #15): CSV deliveries written
here in the division's layout, safe-use rates per county, city and province worked out by hand
((safely used + strictly controlled) ÷ contaminated farmland, of the sums for a city), a later
delivery superseding a county-year, parts above the whole and unknown pollutants quarantined with
their reasons, a file of such rows held, every batch reconciled; the contract option itemSeparator
tested on its own."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.contracts import ContractError, bind_standards, load_contract, row_rules, typed_value
from tests.helpers import REPO, ingest_landed, query

SAFE_USE = Path("soil") / "farmland_safe_use"
PLOTS = Path("soil") / "contaminated_plots"
SAFE_USE_CONTRACT = REPO / "contracts" / "soil" / "farmland_safe_use.odcs.yaml"
PLOTS_CONTRACT = REPO / "contracts" / "soil" / "contaminated_plots.odcs.yaml"
SAFE_USE_HEADER = [
    "序号",
    "统计年度",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "受污染耕地面积(亩)",
    "安全利用面积(亩)",
    "严格管控面积(亩)",
]
PLOTS_HEADER = [
    "序号",
    "地块编码",
    "地块名称",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "面积(亩)",
    "主要污染物",
    "土壤环境质量类别",
]
CHENGDU, ZIGONG, LUZHOU = "510100", "510300", "510500"

Y23 = [
    [2023, "成都市", "甲县", "510121", 1000, 800, 100],  # 0.9
    [2023, "成都市", "乙县", "510122", 2000, 1500, 300],  # 0.9, corrected below to 1700 safely used
    [2023, "自贡市", "丙县", "510321", 500, 400, 150],  # 550 above 500: refused
    [2023, "自贡市", "丁县", "510322", 0, 0, 0],  # no contaminated farmland: no rate
    *[[2023, "泸州市", f"县{n}", f"5105{n:02d}", 100, 90, 5] for n in range(21, 41)],  # 0.95 each
]
Y22 = [[2022, "成都市", "甲县", "510121", 1000, 700, 100]]
CORRECTION = [[2023, "成都市", "乙县", "510122", 2000, 1700, 300]]
# by hand: 成都 2023 (800 + 1700 + 100 + 300) ÷ 3000; 自贡 only 丁县, no contaminated farmland;
# 泸州 20 × (90 + 5) ÷ (20 × 100); the province (2500 + 400 + 1800 + 100) ÷ 5000
COUNTY_RATES = {("510121", 2023): 0.9, ("510122", 2023): 1.0, ("510322", 2023): None, ("510121", 2022): 0.8}
REGION_RATES = {  # (region, year): (counties, contaminated, safely used, strictly controlled, rate)
    (CHENGDU, 2023): (2, 3000, 2500, 400, 2900 / 3000),
    (ZIGONG, 2023): (1, 0, 0, 0, None),
    (LUZHOU, 2023): (20, 2000, 1800, 100, 0.95),
    ("510000", 2023): (23, 5000, 4300, 500, 0.96),
    (CHENGDU, 2022): (1, 1000, 700, 100, 0.8),
    ("510000", 2022): (1, 1000, 700, 100, 0.8),
}

PLOT_ROWS = [
    ["510121DK0001", "甲地块", "成都市", "甲县", "510121", 120.5, "镉、砷", "安全利用类"],
    ["510121DK0002", "乙地块", "成都市", "甲县", "510121", 80, "", "优先保护类"],
    ["510121DK0003", "丙地块", "成都市", "甲县", "510121", 45, "砷、镉、铅、镉", "严格管控类"],  # 镉 twice
    ["510321DK0001", "丁地块", "自贡市", "丙县", "510321", 60, "镉、铀", "安全利用类"],  # 铀 unknown: refused
    ["510321DK0002", "戊地块", "自贡市", "丙县", "510321", 0, "镉", "安全利用类"],  # area 0: refused
    ["510321DK0003", "己地块", "自贡市", "丙县", "510321", 30, "镉", "中度污染类"],  # unknown class: refused
    *[[f"510521DK{n:04d}", f"地块{n}", "泸州市", "县", "510521", 10, "镉", "安全利用类"] for n in range(1, 61)],
]


def write(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8-sig") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([n, *row] for n, row in enumerate(rows, start=1))
    return path


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    landing = warehouse / "landing"
    first = write(landing / SAFE_USE / "受污染耕地安全利用情况_2023年.csv", SAFE_USE_HEADER, Y23)
    write(landing / SAFE_USE / "受污染耕地安全利用情况_2022年.csv", SAFE_USE_HEADER, Y22)
    correction = write(landing / SAFE_USE / "2023年_更正.csv", SAFE_USE_HEADER, CORRECTION)
    stamp = first.stat().st_mtime
    os.utime(first, (stamp - 86_400, stamp - 86_400))
    os.utime(correction, (stamp, stamp))
    write(landing / PLOTS / "农用地地块清单_2023年.csv", PLOTS_HEADER, PLOT_ROWS)


def land_mess(warehouse: Path) -> None:
    """Then a 2021 file where most counties report more safely used and controlled farmland than
    they have contaminated: held, the contract check fails, nothing of 2021 is served."""
    rows = [
        [2021, "成都市", "甲县", "510121", 1000, 1000, 100],
        [2021, "成都市", "乙县", "510122", 2000, 1900, 200],
        [2021, "自贡市", "丁县", "510322", 0, 0, 0],
    ]
    write(warehouse / "landing" / SAFE_USE / "受污染耕地安全利用情况_2021年.csv", SAFE_USE_HEADER, rows)


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def approx(value):
    return None if value is None else pytest.approx(value, abs=1e-12)


def test_county_safe_use_rates_by_hand_with_the_correction(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select county_code, year, region_code, safe_use_rate, source_file from soil.farmland_safe_use_county_year",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert len(got) == 24  # 2023: 23 of 24 counties (one refused); 2022: one county
    for key, rate in COUNTY_RATES.items():
        assert got[key][1] == approx(rate), key
    assert got[("510122", 2023)][0] == CHENGDU and got[("510122", 2023)][2].endswith("2023年_更正.csv")


def test_city_and_province_safe_use_rates_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select region_code, year, counties, contaminated_area_mu, safely_used_area_mu, "
        "strictly_controlled_area_mu, safe_use_rate from soil.farmland_safe_use_city_year",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert set(got) == set(REGION_RATES)
    for key, (counties, total, safe, strict, rate) in REGION_RATES.items():
        assert got[key] == (counties, total, safe, strict, approx(rate)), key


def test_plots_served_with_class_and_pollutant_codes(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select plot_code, region_code, area_mu, risk_class, is_contaminated, pollutant_codes, pollutant_count "
        "from soil.contaminated_plots where county_code = '510121' order by plot_code",
    )
    assert rows == [
        ("510121DK0001", CHENGDU, 120.5, "safe_use", True, ["cd", "as"], 2),
        ("510121DK0002", CHENGDU, 80.0, "priority_protection", False, [], 0),
        ("510121DK0003", CHENGDU, 45.0, "strict_control", True, ["cd", "as", "pb"], 3),  # GB 15618 order, once
    ]
    assert query(warehouse, "select count(*) from soil.contaminated_plots") == [(63,)]


def test_parts_above_the_whole_and_unknown_codes_are_quarantined_with_reasons(warehouse: Path) -> None:
    farmland = query(
        warehouse,
        "select _source_line, rule, field, reason from quarantine.soil__farmland_safe_use "
        "where _source_file like '%2023年.csv'",
    )
    assert farmland == [
        (
            4,
            "sum_of_fields.at_least",
            "contaminated_area",
            "contaminated_area=500 is below safely_used_area + strictly_controlled_area = 550.0 亩",
        )
    ]
    plots = query(
        warehouse, "select _source_line, rule, field, reason from quarantine.soil__contaminated_plots order by 1"
    )
    assert plots == [
        (
            5,
            "valid_values.item",
            "main_pollutants",
            "main_pollutants=镉、铀 has the item(s) 铀 that are not a name_zh of standards.soil_pollutants",
        ),
        (6, "range.exclusive_minimum", "area", "area=0 is not above 0 亩"),
        (
            7,
            "valid_values",
            "risk_class",
            "risk_class=中度污染类 is not a name_zh of standards.farmland_risk_classes",
        ),
    ]


def test_batches_reconcile_and_a_file_of_parts_above_the_whole_is_held(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset in ('soil/farmland_safe_use', 'soil/contaminated_plots')",
    )
    status = {Path(b[0]).name: b[1:] for b in batches}
    assert status == {
        "受污染耕地安全利用情况_2023年.csv": ("published", 24, 23, 1),
        "受污染耕地安全利用情况_2022年.csv": ("published", 1, 1, 0),
        "2023年_更正.csv": ("published", 1, 1, 0),
        "农用地地块清单_2023年.csv": ("published", 66, 63, 3),
        "受污染耕地安全利用情况_2021年.csv": ("held", 3, 1, 2),
    }
    assert query(warehouse, "select count(*) from soil.farmland_safe_use_county_year where year = 2021") == [(0,)]


# ------------------------------------------------------------------------------------------
# the contract option itemSeparator on its own


def test_item_separator_checks_every_item_of_a_list() -> None:
    contract = bind_standards(load_contract(PLOTS_CONTRACT), REPO / "standards")
    values = ["镉", "镉、砷", " 镉 、 汞 ", "镉、", "Cd", "镉、铀、钚", None]
    frame = pl.DataFrame({f.name: [None] * len(values) for f in contract.fields}, schema_overrides=None)
    frame = frame.with_columns(pl.Series("main_pollutants", values, dtype=pl.String)).with_columns(
        pl.col(f.name).cast(pl.String) for f in contract.fields
    )
    typed = frame.with_columns([typed_value(f).alias(f"{f.name}__typed") for f in contract.fields])
    rule = next(r for r in row_rules(contract) if r.rule == "valid_values.item")
    flagged = typed.with_row_index("_i").filter(rule.violation).select("_i", rule.reason).rows()
    assert [i for i, _ in flagged] == [3, 4, 5]  # an empty item, a symbol instead of a name, two unknowns
    assert flagged[2][1].startswith("main_pollutants=镉、铀、钚 has the item(s) 铀, 钚 that are not")


def test_an_item_separator_without_valid_values_is_refused_when_the_contract_loads(tmp_path: Path) -> None:
    text = PLOTS_CONTRACT.read_text(encoding="utf-8").replace(
        "    - {property: validValuesFrom, value: soil_pollutants.name_zh}\n", ""
    )
    path = tmp_path / "soil" / PLOTS_CONTRACT.name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match="itemSeparator must be a non-empty string, on a string field"):
        load_contract(path)


def test_demo_files_ingest_with_their_mess_quarantined(tmp_path: Path) -> None:
    from pipelines.demo.soil import generate_soil

    summary = generate_soil(tmp_path / "landing", date(2021, 1, 1), date(2023, 12, 31), 2021)
    assert summary["safe_use_files"] == 3 and summary["plots"] > 100
    for path in (SAFE_USE_CONTRACT, PLOTS_CONTRACT):
        report = ingest_landed(tmp_path, path)
        assert report.passed, path
    batches = query(
        tmp_path, "select dataset, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches"
    )
    assert {b[1] for b in batches} == {"published"} and len(batches) == 4
    assert all(b[2] == b[3] + b[4] for b in batches)
    farmland = [b for b in batches if b[0] == "soil/farmland_safe_use"]
    assert len(farmland) == 3 and all(b[4] == 1 for b in farmland)  # one county a year above 100%
    rules = {r[0] for r in query(tmp_path, "select distinct rule from quarantine.soil__farmland_safe_use")}
    assert rules == {"sum_of_fields.at_least"}
