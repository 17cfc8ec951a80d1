"""Conformed core dimensions over the shared department warehouse: counties in dim_region as the
deliveries name them, the calendar, and pollutants keyed by their HJ 212-2017 code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.helpers import query


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_counties_are_the_delivered_ones_under_their_cities(warehouse: Path) -> None:
    # 510521 (泸州市) is delivered by tests/test_rural_sewage.py and other department modules
    rows = query(
        warehouse,
        "select region_code, region_name, region_level, parent_region_code, code_source from core.dim_region "
        "where region_code = '510521'",
    )
    assert [r[2:4] for r in rows] == [("county", "510500")]
    assert "stg_agriculture__rural_sewage_villages" in rows[0][4]
    # the counties are exactly the county codes of the published rows of every county-level delivery
    raw_tables = [
        t
        for (t,) in query(
            warehouse,
            "select table_name from information_schema.columns where table_schema = 'raw' "
            "and column_name = 'county_code' group by all",
        )
    ]
    assert len(raw_tables) >= 8, raw_tables
    published = " union ".join(
        f"select county_code from raw.{t} where _delivery_id in "
        "(select delivery_id from catalog.ingest_batches where status = 'published')"
        for t in raw_tables
    )
    delivered = {c for (c,) in query(warehouse, published)}
    # its name is the one of the latest published delivery naming it
    latest = " union all ".join(
        f"select county_name, _arrived_at from raw.{t} where county_code = '510521' and _delivery_id in "
        "(select delivery_id from catalog.ingest_batches where status = 'published')"
        for t in raw_tables
    )
    assert query(warehouse, f"select county_name from ({latest}) order by _arrived_at desc limit 1") == [(rows[0][1],)]
    counties = {c for (c,) in query(warehouse, "select region_code from core.dim_region where region_level = 'county'")}
    assert counties == delivered
    levels = dict(query(warehouse, "select region_level, count(*) from core.dim_region group by all"))
    assert levels["province"] == 1 and levels["city"] == 21


def test_calendar_facts(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select calendar_date, iso_week, iso_day_of_week, is_weekend, days_in_month, days_in_year, month_start, "
        "quarter_start from core.dim_date where calendar_date in ('2021-01-01', '2024-02-29', '2023-12-31') "
        "order by 1",
    )
    assert rows == [
        # 1 January 2021 was a Friday in ISO week 53 of 2020
        (date(2021, 1, 1), 53, 5, False, 31, 365, date(2021, 1, 1), date(2021, 1, 1)),
        (date(2023, 12, 31), 52, 7, True, 31, 365, date(2023, 12, 1), date(2023, 10, 1)),
        (date(2024, 2, 29), 9, 4, False, 29, 366, date(2024, 2, 1), date(2024, 1, 1)),
    ]
    assert query(warehouse, "select count(*), min(calendar_date), max(calendar_date) from core.dim_date") == [
        (14976, date(2000, 1, 1), date(2040, 12, 31))
    ]


def test_pollutants_join_the_themes_codes_to_hj212(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select pollutant_code, medium, air_pollutant_codes, gb3838_item_code, counts_in_section_class, "
        "is_in_hj212_table "
        "from core.dim_pollutant where pollutant_code in ('a34004', 'a05024', 'w21003', 'w01010', 'w21001', "
        "'w20143', 'w20115') order by 1",
    )
    assert rows == [
        ("a05024", "air", ["o3", "o3_8h"], None, False, False),  # vendors' ozone code, not in the table
        ("a34004", "air", ["pm2_5"], None, False, True),
        ("w01010", "water", None, "water_temperature", False, True),
        ("w20115", "water", None, None, False, True),  # 总镉: not the GB 3838 item 镉
        ("w20143", "water", None, "cd", True, True),
        ("w21001", "water", None, "tn", False, True),
        ("w21003", "water", None, "nh3_n", True, True),
    ]
    # every GB 3838 item and every air pollutant has its row
    assert query(warehouse, "select count(gb3838_item_code), count(air_pollutant_codes) from core.dim_pollutant") == [
        (24, 6)
    ]
