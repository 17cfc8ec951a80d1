"""Surface-water automatic stations: a GBK file written here, classes from the measured items read
off GB 3838 Table 1 by hand, the delivery's "--"/"*" as no value, the mess quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import query

DATASET = Path("env_monitoring") / "water_auto_4h"
HEADER = (
    "省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),"
    "高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L),站点情况"
)


def row(station: str, at: str, *, cls: str = "Ⅱ", ph: str = "7.6", do: str = "8.1", codmn: str = "1.9",
        nh3: str = "0.12", tp: str = "0.015", tn: str = "1.10", state: str = "正常") -> str:  # fmt: skip
    return ",".join(["四川省", "岷江", station, at, cls, "12.3", ph, do, "320", "15.2", codmn, nh3, tp, tn, "0.002",
                     "1500000", state])  # fmt: skip


ROWS = [
    row("全I", "2023-01-01 00:00", cls="Ⅰ", codmn="1.9"),  # every measured item class I
    row("氨氮0.5", "2023-01-01 00:00", nh3="0.5"),  # NH3-N 0.5: II
    row("溶解氧5", "2023-01-01 00:00", do="5"),  # DO at least 5: III
    row("总磷0.3", "2023-01-01 00:00", tp="0.3"),  # river TP 0.3: IV
    row("总氮高", "2023-01-01 00:00", tn="9.5"),  # TN does not count: class I
    row("缺测", "2023-01-01 00:00", nh3="--", tp="*"),  # no NH3-N, no TP: the rest decide (I)
    row("维护", "2023-01-01 00:00", cls="--", ph="--", do="--", codmn="--", nh3="--", tp="--", tn="--", state="维护"),
]
EXPECTED = {"全I": 1, "氨氮0.5": 2, "溶解氧5": 3, "总磷0.3": 4, "总氮高": 1, "缺测": 1, "维护": None}
BAD = [row("pH越界", "2023-01-01 00:00", ph="15.2"), row("状态未知", "2023-01-01 00:00", state="停运")]


def land(warehouse: Path) -> None:
    """This module's good deliveries, landed in the shared warehouse of tests/conftest.py."""
    landing = warehouse / "landing" / DATASET
    landing.mkdir(parents=True)
    good = [row(f"站{i:02d}", "2023-01-01 04:00") for i in range(40)]  # enough rows to tolerate the two bad ones
    (landing / "2023-01-01.csv").write_bytes(("\n".join([HEADER, *ROWS, *good, *BAD]) + "\n").encode("gbk"))


def land_mess(warehouse: Path) -> None:
    """Then a file in the wrong encoding: rejected, the contract check fails, what is served stays."""
    landing = warehouse / "landing" / DATASET
    (landing / "utf8_by_mistake.csv").write_bytes(("\n".join([HEADER, ROWS[0]]) + "\n").encode("utf-8"))


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_classes_come_from_the_measured_items_only(warehouse: Path) -> None:
    got = dict(
        query(warehouse, "select station_name, class_code from water.auto_station_4h where observed_at = '2023-01-01'")
    )
    assert got == EXPECTED
    missing = query(
        warehouse, "select nh3_n, tp, items_evaluated from water.auto_station_4h where station_name = '缺测'"
    )
    assert missing == [(None, None, 3)]  # "--" and "*" are no value; pH, DO and CODMn remain
    published = dict(
        query(
            warehouse,
            "select station_name, published_class_code from water.auto_station_4h where observed_at = '2023-01-01'",
        )
    )
    assert published["全I"] == 1 and published["维护"] is None


def test_mess_is_quarantined_with_the_reason_and_a_wrong_encoding_rejects_the_file(warehouse: Path) -> None:
    reasons = query(
        warehouse,
        "select _source_file, _source_line, rule, field, reason from quarantine.env_monitoring__water_auto_4h",
    )
    by_field = {(r[3], r[2]): r for r in reasons if r[0].endswith("2023-01-01.csv")}
    assert "15.2" in by_field[("ph", "range.maximum")][4]
    assert "停运" in by_field[("station_status", "valid_values")][4]
    rejected = [r for r in reasons if r[0].endswith("utf8_by_mistake.csv")]
    assert rejected and all(r[2] == "encoding" and "as gbk" in r[4] for r in rejected)
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'env_monitoring/water_auto_4h' order by source_file",
    )
    by_file = {Path(b[0]).name: b[1:] for b in batches}
    assert by_file["2023-01-01.csv"] == ("published", len(ROWS) + 40 + 2, len(ROWS) + 40, 2)
    assert by_file["utf8_by_mistake.csv"][0] == "rejected"
    assert all(b[1] == b[2] + b[3] for b in by_file.values())
