"""Forestry (forestry/land_cover_county, forestry/protected_areas): UTF-8-with-BOM deliveries written
here; forest coverage and the protected areas' county-year counts and areas worked out by hand; a
land area smaller than its forest, grassland and wetland quarantined and its correction served; a
protected-area type outside the code table and a code under another county quarantined; a list
saved in GBK rejected whole; every batch reconciled."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import REPO, ingest_landed, query

LAND_COVER = Path("forestry") / "land_cover_county"
PROTECTED = Path("forestry") / "protected_areas"
LAND_HEADER = [
    "统计年度",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "国土面积(公顷)",
    "森林面积(公顷)",
    "草地面积(公顷)",
    "湿地面积(公顷)",
]
PROTECTED_HEADER = [
    "统计年度",
    "自然保护地编码",
    "自然保护地名称",
    "类型",
    "级别",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "面积(公顷)",
    "设立年份",
]
CHENGDU, ZIGONG, MIANYANG = "510100", "510300", "510700"

# 20 more counties of 绵阳, each with two provincial forest parks of 100 ha, so that the refused rows
# of 2022 stay within the tolerated 5%
FILLER = range(22, 42)
LAND_22 = [
    [2022, "成都市", "甲县", "510121", "100000", "40000", "5000", "2000"],
    [2022, "成都市", "乙县", "510122", "50000", "20000.5", "20000", "10000"],  # 50000.5: within the 0.5 ha
    [2022, "自贡市", "丙县", "510321", "800", "30000", "2000", "1000"],  # land area in km²: refused
    [2022, "绵阳市", "丁县", "510721", "200000", "120000", "10000", "3000"],
    *[[2022, "绵阳市", f"绵{n}县", f"5107{n}", "10000", "5000", "1000", "100"] for n in FILLER],
]
LAND_23 = [[2023, "成都市", "甲县", "510121", "100000", "40500", "4800", "2000"]]
LAND_CORRECTION = [[2022, "自贡市", "丙县", "510321", "80000", "30000", "2000", "1000"]]


def area(year: int, code: str, name: str, kind: str, level: str, county: tuple[str, str, str], ha: str, since: int):
    return [year, code, name, kind, level, *county, ha, since]


JIA = ("成都市", "甲县", "510121")  # city, county, county code
YI = ("成都市", "乙县", "510122")
BING = ("自贡市", "丙县", "510321")
DING = ("绵阳市", "丁县", "510721")
PROTECTED_22 = [
    area(2022, "510121GY001", "大熊猫国家公园", "国家公园", "国家级", JIA, "150000", 2021),
    area(2022, "510121ZR001", "甲县自然保护区", "自然保护区", "省级", JIA, "20000", 1995),
    area(2022, "510121SL001", "甲县森林公园", "森林公园", "国家级", JIA, "3000", 2005),
    area(2022, "510122SD001", "乙县湿地公园", "湿地公园", "省级", YI, "1500", 2018),
    area(2022, "510122SL002", "乙县风景名胜区", "风景名胜区", "省级", YI, "5000", 1990),  # SL: letters of another type
    area(2022, "510321ZR001", "丙县自然保护区", "自然保护区（省级）", "省级", BING, "9000", 2001),  # not a type
    area(2022, "510122ZR001", "乙县鹤鸣自然保护区", "自然保护区", "市县级", BING, "4000", 2003),  # code of 乙县
    area(2022, "510721DZ001", "丁县地质公园", "地质公园", "市县级", DING, "8000", 2010),
    *[
        area(
            2022,
            f"5107{n}SL00{k}",
            f"绵{n}县森林公园{k}",
            "森林公园",
            "省级",
            ("绵阳市", f"绵{n}县", f"5107{n}"),
            "100",
            2000,
        )
        for n in FILLER
        for k in (1, 2)
    ],
]
PROTECTED_23 = [
    area(2023, "510121GY001", "大熊猫国家公园", "国家公园", "国家级", JIA, "150000", 2021),
    area(2023, "510121ZR001", "甲县自然保护区", "自然保护区", "省级", JIA, "20500", 1995),
    area(2023, "510121SL001", "甲县森林公园", "森林公园", "国家级", JIA, "3000", 2005),
    area(2023, "510122SD001", "乙县湿地公园", "湿地公园", "省级", YI, "1500", 2018),
    area(2023, "510721DZ001", "丁县地质公园", "地质公园", "市县级", DING, "8000", 2010),
]

# by hand: (year, county) → count, ha, national parks, nature reserves, nature parks, national level
PROTECTED_COUNTY_YEAR = {
    (2022, "510121"): (3, 173_000, 1, 1, 1, 2),
    (2022, "510122"): (2, 6_500, 0, 0, 2, 0),
    (2022, "510321"): (0, 0, 0, 0, 0, 0),  # in the land cover, its only area refused
    (2022, "510721"): (1, 8_000, 0, 0, 1, 0),
    **{(2022, f"5107{n}"): (2, 200, 0, 0, 2, 0) for n in FILLER},
    (2023, "510121"): (3, 173_500, 1, 1, 1, 2),
    (2023, "510122"): (1, 1_500, 0, 0, 1, 0),  # no land cover in 2023: known from the list alone
    (2023, "510721"): (1, 8_000, 0, 0, 1, 0),
}


def write(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8-sig") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _arrive(path: Path, days_ago: float) -> None:
    stamp = path.stat().st_mtime - days_ago * 86_400
    os.utime(path, (stamp, stamp))


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    landing = warehouse / "landing"
    _arrive(write(landing / LAND_COVER / "2022年县域森林草地湿地面积.csv", LAND_HEADER, LAND_22), 3)
    _arrive(write(landing / LAND_COVER / "2023年县域森林草地湿地面积.csv", LAND_HEADER, LAND_23), 2)
    _arrive(write(landing / LAND_COVER / "2022年_更正.csv", LAND_HEADER, LAND_CORRECTION), 1)
    write(landing / PROTECTED / "2022年自然保护地名录.csv", PROTECTED_HEADER, PROTECTED_22)
    write(landing / PROTECTED / "2023年自然保护地名录.csv", PROTECTED_HEADER, PROTECTED_23)


def land_mess(warehouse: Path) -> None:
    """Then a supplement to the 2023 list saved in GBK: rejected whole, nothing of it served."""
    extra = [area(2023, "510721SD001", "丁县湿地公园", "湿地公园", "省级", DING, "2500", 2023)]
    write(warehouse / "landing" / PROTECTED / "2023年自然保护地名录_补充.csv", PROTECTED_HEADER, extra, "gbk")


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_forest_coverage_and_shares_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select year, county_code, region_code, land_area_ha, forest_coverage, grassland_share, wetland_share "
        "from ecology.land_cover_county_year",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert set(got) == {(2022, "510121"), (2022, "510122"), (2022, "510321"), (2022, "510721"), (2023, "510121")} | {
        (2022, f"5107{n}") for n in FILLER
    }
    expected = {
        (2022, "510121"): (CHENGDU, 100_000, 0.40, 0.05, 0.02),
        (2022, "510122"): (CHENGDU, 50_000, 0.40001, 0.40, 0.20),
        (2022, "510321"): (ZIGONG, 80_000, 0.375, 0.025, 0.0125),  # the correction in 公顷
        (2022, "510721"): (MIANYANG, 200_000, 0.60, 0.05, 0.015),
        (2023, "510121"): (CHENGDU, 100_000, 0.405, 0.048, 0.02),
    }
    for key, (region, land_ha, *shares) in expected.items():
        assert got[key][:2] == (region, land_ha), key
        assert list(got[key][2:]) == pytest.approx(shares, abs=1e-12), key


def test_protected_areas_served_with_codes_and_flags(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select protected_area_code, type_code, category_code, level_code, region_code, area_ha, is_code_consistent "
        "from ecology.protected_areas where year = 2022 and area_ha > 100 order by protected_area_code",
    )
    assert rows == [
        ("510121GY001", "national_park", "national_park", "national", CHENGDU, 150_000, True),
        ("510121SL001", "forest_park", "natural_park", "national", CHENGDU, 3_000, True),
        ("510121ZR001", "nature_reserve", "nature_reserve", "provincial", CHENGDU, 20_000, True),
        ("510122SD001", "wetland_park", "natural_park", "provincial", CHENGDU, 1_500, True),
        ("510122SL002", "scenic_area", "natural_park", "provincial", CHENGDU, 5_000, False),
        ("510721DZ001", "geopark", "natural_park", "city_county", MIANYANG, 8_000, True),
    ]
    fillers = query(warehouse, "select count(*) from ecology.protected_areas where year = 2022 and area_ha = 100")
    assert fillers == [(2 * len(FILLER),)]


def test_protected_area_county_year_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select year, county_code, protected_area_count, protected_area_ha, national_park_count, "
        "nature_reserve_count, natural_park_count, national_level_count from ecology.protected_area_county_year",
    )
    assert {(r[0], r[1]): r[2:] for r in rows} == PROTECTED_COUNTY_YEAR
    county = query(
        warehouse,
        "select county_name, region_code, national_park_ha, nature_reserve_ha, natural_park_ha "
        "from ecology.protected_area_county_year where year = 2022 and county_code = '510121'",
    )
    assert county == [("甲县", CHENGDU, 150_000, 20_000, 3_000)]


def test_land_area_below_its_parts_and_bad_protected_areas_are_quarantined(warehouse: Path) -> None:
    land_q = query(
        warehouse,
        "select _source_file, _source_line, rule, field, reason from quarantine.forestry__land_cover_county",
    )
    assert land_q == [
        (
            "forestry/land_cover_county/2022年县域森林草地湿地面积.csv",
            4,
            "sum_of_fields.at_least",
            "land_area_ha",
            "land_area_ha=800 is below forest_ha + grassland_ha + wetland_ha = 33000.0 公顷 (tolerance 0.5 公顷)",
        )
    ]
    protected_q = query(
        warehouse,
        "select _source_line, rule, field, reason from quarantine.forestry__protected_areas "
        "where _source_file like '%2022年%' order by _source_line",
    )
    assert protected_q == [
        (
            7,
            "valid_values",
            "type_name",
            "type_name=自然保护区（省级） is not a name_zh of standards.protected_area_types",
        ),
        (
            8,
            "starts_with_field",
            "protected_area_code",
            "protected_area_code=510122ZR001 does not start with county_code=510321",
        ),
    ]


def test_batches_reconcile_and_the_gbk_list_is_rejected(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select dataset, source_file, status, rows_in, rows_published, rows_quarantined, error "
        "from catalog.ingest_batches where dataset like 'forestry/%'",
    )
    status = {Path(b[1]).name: b[2:6] for b in batches}
    assert status == {
        "2022年县域森林草地湿地面积.csv": ("published", 24, 23, 1),
        "2023年县域森林草地湿地面积.csv": ("published", 1, 1, 0),
        "2022年_更正.csv": ("published", 1, 1, 0),
        "2022年自然保护地名录.csv": ("published", 48, 46, 2),
        "2023年自然保护地名录.csv": ("published", 5, 5, 0),
        "2023年自然保护地名录_补充.csv": ("rejected", 1, 0, 1),
    }
    error = next(b[6] for b in batches if b[1].endswith("_补充.csv"))
    assert "line 1: cannot decode" in error and "utf-8-sig" in error


def test_demo_forestry_ingests_with_its_mess_quarantined(tmp_path: Path) -> None:
    from pipelines.demo.forestry import generate_forestry

    summary = generate_forestry(tmp_path / "landing", date(2021, 1, 1), date(2023, 12, 31), 2021)
    assert summary["land_cover_rows"] == 3 * 80 and summary["land_cover_corrections"] == 3
    quarantined = {}
    for name in ("land_cover_county", "protected_areas"):
        report = ingest_landed(tmp_path, REPO / "contracts" / "forestry" / f"{name}.odcs.yaml")
        assert report.passed, name
        quarantined[name] = report.quarantine_by_rule
    assert quarantined == {
        "land_cover_county": {"sum_of_fields.at_least": 3},  # one land area in km² a year
        "protected_areas": {"starts_with_field": 2, "valid_values": 3},  # a type with its level a year; moved seats
    }
    batches = query(tmp_path, "select status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches")
    assert len(batches) == 9 and {b[0] for b in batches} == {"published"}
    assert all(b[1] == b[2] + b[3] for b in batches)
    # the demo's forest coverage, corrections served: about 40% (Sichuan's level) across the counties
    coverage = query(
        tmp_path,
        "select sum(forest_ha) / sum(land_area_ha) from raw.forestry__land_cover_county where year = 2022 "
        "and land_area_ha >= forest_ha + grassland_ha + wetland_ha",
    )[0][0]
    assert 0.3 < coverage < 0.5
