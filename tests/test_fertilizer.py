"""Fertilizer use (agriculture/fertilizer_use): GBK deliveries of county-year amounts written here,
the county, city and province figures worked out by hand, a revision superseding a county-year, a
total that is not the sum of its parts and a negative amount quarantined with their reasons, a
batch held for too many refused rows and not served, and every batch reconciled."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import REPO, ingest_landed, query

DATASET = Path("agriculture") / "fertilizer_use"
CONTRACT = REPO / "contracts" / DATASET.with_suffix(".odcs.yaml")
HEADER = [
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
]
CHENGDU, ZIGONG, LUZHOU, SICHUAN = "510100", "510300", "510500", "510000"

# year, city, county, county code, N, P2O5, K2O, compound, total (as delivered)
Y22 = [
    [2022, "成都市", "甲县", "510121", "100", "40", "20", "60", "220"],
    [2022, "成都市", "乙县", "510122", "200.25", "80.5", "30.25", "100", "411"],
    [2022, "自贡市", "丙县", "510321", "50", "20", "10", "30", "120"],  # 50+20+10+30 = 110: refused
    [2022, "自贡市", "丁县", "510322", "50", "20", "-5", "30", "95"],  # a negative amount: refused
    [2022, "自贡市", "戊县", "510323", "10.11", "20.22", "30.33", "40.44", "101.4"],  # 101.1 within 0.5 t
    [2022, "泸州市", "己县", "510521", "300", "100", "50", "150", "600"],  # revised to 610 later
    # 40 more counties of 泸州 (10 + 5 + 2 + 3 = 20 t each), so that two refused rows stay within 5%
    *[[2022, "泸州市", f"泸{n}县", f"5105{n}", "10", "5", "2", "3", "20"] for n in range(22, 62)],
]
Y23 = [
    [2023, "成都市", "甲县", "510121", "90", "38", "19", "55", "202"],
    [2023, "自贡市", "丙县", "510321", "45", "18", "9", "28", "100"],
]
CORRECTION = [
    [2022, "泸州市", "己县", "510521", "310", "100", "50", "150", "610"],
    [2022, "自贡市", "丙县", "510321", "50", "20", "10", "40", "120"],  # the refused row, now adding up
]
# a late supplement: two of three totals do not add up (over the 5% tolerated): held, nothing served
HELD = [
    [2023, "成都市", "甲县", "510121", "1", "1", "1", "1", "4"],
    [2023, "自贡市", "丙县", "510321", "1", "1", "1", "1", "5"],
    [2023, "自贡市", "丁县", "510322", "1", "1", "1", "1", "6"],
]

# by hand (N, P2O5, K2O, compound, total, counties): 2022 after the revision and the correction
CITY_YEAR = {
    (2022, CHENGDU): (300.25, 120.5, 50.25, 160, 631, 2),
    (2022, ZIGONG): (60.11, 40.22, 40.33, 80.44, 221.4, 2),
    (2022, LUZHOU): (310 + 400, 100 + 200, 50 + 80, 150 + 120, 610 + 800, 41),
    (2022, SICHUAN): (1070.36, 460.72, 220.58, 510.44, 2262.4, 45),
    (2023, CHENGDU): (90, 38, 19, 55, 202, 1),
    (2023, ZIGONG): (45, 18, 9, 28, 100, 1),
    (2023, SICHUAN): (135, 56, 28, 83, 302, 2),
}


def write(path: Path, rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([n, *row] for n, row in enumerate(rows, start=1))
    return path


def _arrive(path: Path, days_ago: float) -> None:
    stamp = path.stat().st_mtime - days_ago * 86_400
    os.utime(path, (stamp, stamp))


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    folder = warehouse / "landing" / DATASET
    _arrive(write(folder / "2022年各县（市、区）农用化肥施用量.csv", Y22), 3)
    _arrive(write(folder / "2023年各县（市、区）农用化肥施用量.csv", Y23), 2)
    _arrive(write(folder / "2022年_更正.csv", CORRECTION), 1)  # sorts first: only arrival orders them


def land_mess(warehouse: Path) -> None:
    """Then a supplement the contract holds (more refused rows than tolerated): nothing of it served."""
    write(warehouse / "landing" / DATASET / "2023年_补报.csv", HELD)


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_county_year_served_with_the_revision_and_the_correction(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select year, county_code, region_code, nitrogen_t, phosphate_t, potash_t, compound_t, total_t, source_file "
        "from agriculture.fertilizer_county_year order by year, county_code",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert set(got) == {
        (2022, "510121"),
        (2022, "510122"),
        (2022, "510321"),
        (2022, "510323"),
        (2022, "510521"),
        *[(2022, f"5105{n}") for n in range(22, 62)],
        (2023, "510121"),
        (2023, "510321"),
    }  # 510322's negative row refused; nothing of the held supplement
    assert got[(2022, "510521")] == (LUZHOU, 310, 100, 50, 150, 610, "agriculture/fertilizer_use/2022年_更正.csv")
    assert got[(2022, "510321")][:6] == (ZIGONG, 50, 20, 10, 40, 120)
    assert got[(2022, "510323")][:6] == (ZIGONG, 10.11, 20.22, 30.33, 40.44, 101.4)  # within the rounding
    assert got[(2023, "510121")][:6] == (CHENGDU, 90, 38, 19, 55, 202)


def test_city_and_province_sums_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select year, region_code, region_level, nitrogen_t, phosphate_t, potash_t, compound_t, total_t, "
        "counties_reported from agriculture.fertilizer_city_year",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert set(got) == set(CITY_YEAR)
    for key, (n, p, k, c, total, counties) in CITY_YEAR.items():
        level, *values, reported = got[key]
        assert level == ("province" if key[1] == SICHUAN else "city"), key
        assert values == pytest.approx([n, p, k, c, total], abs=1e-9), key
        assert reported == counties, key


def test_total_not_the_sum_and_negative_amount_are_quarantined_with_reasons(warehouse: Path) -> None:
    quarantined = query(
        warehouse,
        "select _source_line, rule, field, reason from quarantine.agriculture__fertilizer_use "
        "where _source_file like '%2022年各县%' order by _source_line",
    )
    assert quarantined == [
        (
            4,
            "sum_of_fields.equals",
            "total_t",
            "total_t=120 differs from nitrogen_t + phosphate_t + potash_t + compound_t = 110.0 by more than 0.5 t",
        ),
        (5, "range.minimum", "potash_t", "potash_t=-5 is below the minimum 0 t"),
    ]


def test_batches_reconcile_and_the_supplement_is_held(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'agriculture/fertilizer_use'",
    )
    status = {Path(b[0]).name: b[1:] for b in batches}
    assert status == {
        "2022年各县（市、区）农用化肥施用量.csv": ("published", 46, 44, 2),
        "2023年各县（市、区）农用化肥施用量.csv": ("published", 2, 2, 0),
        "2022年_更正.csv": ("published", 2, 2, 0),
        "2023年_补报.csv": ("held", 3, 1, 2),
    }
    rules = query(
        warehouse,
        "select _source_line, rule from quarantine.agriculture__fertilizer_use where _source_file like '%补报%' "
        "order by _source_line",
    )
    assert rules == [(3, "sum_of_fields.equals"), (4, "sum_of_fields.equals")]


def test_demo_fertilizer_ingests_with_its_mess_quarantined(tmp_path: Path) -> None:
    from pipelines.demo.fertilizer import generate_fertilizer_use

    summary = generate_fertilizer_use(tmp_path / "landing", date(2021, 1, 1), date(2023, 12, 31), 2021)
    assert summary["files"] == 4 and summary["revised_year"] == 2022
    report = ingest_landed(tmp_path, CONTRACT)
    assert report.passed
    batches = query(
        tmp_path, "select source_file, rows_in, rows_published, rows_quarantined from catalog.ingest_batches"
    )
    assert len(batches) == 4 and all(b[1] == b[2] + b[3] for b in batches)
    yearly = [b for b in batches if "更正" not in b[0]]
    assert all(b[3] == 2 for b in yearly)  # the stale total and the negative amount of every year
    by_rule = dict(query(tmp_path, "select rule, count(*) from quarantine.agriculture__fertilizer_use group by rule"))
    assert by_rule == {"sum_of_fields.equals": 3, "range.minimum": 3}
    # the demo's province total for 2021: about 80 counties, 300 t to 25,000 t each
    total = query(tmp_path, "select sum(total_t) from raw.agriculture__fertilizer_use where year = 2021")[0][0]
    assert 400_000 < total < 1_500_000
