"""Rural sewage (agriculture/rural_sewage_villages): GBK deliveries of administrative villages written
here, the share of villages treated per city and province worked out by hand, a later correction
superseding a village-year, a village code of another county and conflicting repeats quarantined
with their reasons, exact repeats served once, and every batch reconciled."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import pytest

from pipelines.contracts import ContractError, load_contract
from tests.helpers import REPO, ingest_landed, query

DATASET = Path("agriculture") / "rural_sewage_villages"
CONTRACT = REPO / "contracts" / DATASET.with_suffix(".odcs.yaml")
HEADER = [
    "序号",
    "统计年度",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "乡镇（街道）",
    "行政村",
    "行政村代码",
    "是否完成生活污水治理",
    "治理模式",
    "完成年份",
]
CHENGDU, ZIGONG, LUZHOU = "510100", "510300", "510500"  # GB/T 2260 codes of the cities used


def village(year: int, city: str, county_code: str, n: int, treated: bool, mode: str = "", done: int | str = ""):
    """A row of county ``county_code`` (an invented demo county), village n of its township 001."""
    mode = mode or ("集中处理" if treated else "无")
    done = done or (year if treated else "")
    code = f"{county_code}001{n:03d}"
    return [year, city, "甲县", county_code, "甲镇", f"村{n}", code, "是" if treated else "否", mode, done]


Y23 = [
    village(2023, "成都市", "510121", 1, True),
    village(2023, "成都市", "510121", 2, True, "纳入城镇管网", 2021),
    village(2023, "成都市", "510121", 3, True, "无", 2022),  # treated with the mode 无: counts, flagged
    village(2023, "成都市", "510121", 4, False),  # corrected to treated by the later delivery
    [*village(2023, "成都市", "510121", 5, True)[:5], "村5", "510122001005", "是", "集中处理", 2023],  # other county
    village(2023, "自贡市", "510321", 1, False),
    village(2023, "自贡市", "510321", 2, True, "分散处理"),
    village(2023, "自贡市", "510321", 3, False),
    village(2023, "自贡市", "510321", 3, False),  # exact repeat: served once
    village(2023, "自贡市", "510321", 4, True),
    village(2023, "自贡市", "510321", 4, False),  # the same village with other values: both refused
    *[village(2023, "泸州市", "510521", n, n % 2 == 0) for n in range(1, 81)],  # 40 of 80 treated
]
Y22 = [village(2022, "成都市", "510121", n, n == 2, "纳入城镇管网" if n == 2 else "", 2021) for n in range(1, 5)]
CORRECTION = [village(2023, "成都市", "510121", 4, True, "分散处理")]

# by hand: 成都 2023 villages 1–4 all treated after the correction (village 5 refused); 自贡 villages
# 1–3, one treated (village 4 refused); 泸州 40 of 80
SHARES = {
    (2023, CHENGDU): 4 / 4,
    (2023, ZIGONG): 1 / 3,
    (2023, LUZHOU): 40 / 80,
    (2023, "510000"): (4 + 1 + 40) / (4 + 3 + 80),
    (2022, CHENGDU): 1 / 4,
    (2022, "510000"): 1 / 4,
}


def write(path: Path, rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([n, *row] for n, row in enumerate(rows, start=1))
    return path


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    folder = warehouse / "landing" / DATASET
    first = write(folder / "行政村生活污水治理情况_2023年.csv", Y23)
    write(folder / "行政村生活污水治理情况_2022年.csv", Y22)
    correction = write(folder / "2023年_更正.csv", CORRECTION)  # sorts first: only arrival orders them
    stamp = first.stat().st_mtime
    os.utime(first, (stamp - 86_400, stamp - 86_400))
    os.utime(correction, (stamp, stamp))


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_share_of_villages_treated_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select year(period_start), region_code, value, target, is_on_track, period_end from assessment.scoreboard "
        "where indicator_code = 'rural_sewage_treatment' and period_type = 'year'",
    )
    got = {(r[0], r[1]): r for r in rows}
    assert set(got) == set(SHARES)
    for key, share in SHARES.items():
        _, _, value, target, on_track, period_end = got[key]
        assert float(value) == pytest.approx(share, abs=5e-5), key
        assert float(target) == 0.70 and on_track is (share >= 0.70), key
        assert period_end == date(key[0], 12, 1)


def test_villages_served_with_their_township_mode_and_flags(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select village_code, region_code, county_code, township_code, is_treated, treatment_mode, completed_year, "
        "is_reported_consistent from agriculture.rural_sewage_villages where year = 2023 and county_code = '510121' "
        "order by village_code",
    )
    assert rows == [
        ("510121001001", CHENGDU, "510121", "510121001", True, "centralised", 2023, True),
        ("510121001002", CHENGDU, "510121", "510121001", True, "sewer", 2021, True),
        ("510121001003", CHENGDU, "510121", "510121001", True, "none", 2022, False),  # 是 with 无
        ("510121001004", CHENGDU, "510121", "510121001", True, "decentralised", 2023, True),  # the correction
    ]
    repeat = query(
        warehouse, "select count(*) from agriculture.rural_sewage_villages where village_code = '510321001003'"
    )
    assert repeat == [(1,)]


def test_wrong_county_and_conflicting_repeats_are_quarantined_with_reasons(warehouse: Path) -> None:
    quarantined = query(
        warehouse,
        "select _source_line, rule, field, reason from quarantine.agriculture__rural_sewage_villages "
        "order by _source_line",
    )
    assert quarantined[0] == (
        6,
        "starts_with_field",
        "village_code",
        "village_code=510122001005 does not start with county_code=510121",
    )
    assert [(q[0], q[1]) for q in quarantined[1:]] == [(11, "primary_key.conflict"), (12, "primary_key.conflict")]
    assert "village_code=510321001004" in quarantined[1][3] and "lines 11, 12" in quarantined[1][3]


def test_batches_reconcile(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'agriculture/rural_sewage_villages'",
    )
    status = {Path(b[0]).name: b[1:] for b in batches}
    assert status == {
        "行政村生活污水治理情况_2023年.csv": ("published", len(Y23), len(Y23) - 3, 3),
        "行政村生活污水治理情况_2022年.csv": ("published", 4, 4, 0),
        "2023年_更正.csv": ("published", 1, 1, 0),
    }


# ------------------------------------------------------------------------------------------
# through the engine alone (no models)


def test_a_starts_with_field_naming_no_field_is_refused_when_the_contract_loads(tmp_path: Path) -> None:
    text = CONTRACT.read_text(encoding="utf-8").replace("value: county_code}", "value: county}")
    path = tmp_path / "agriculture" / CONTRACT.name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match="startsWithField 'county' is not another string field"):
        load_contract(path)


def test_demo_villages_rise_and_their_batches_publish(tmp_path: Path) -> None:
    from pipelines.demo.rural_sewage import generate_rural_sewage_villages

    summary = generate_rural_sewage_villages(tmp_path / "landing", date(2021, 1, 1), date(2023, 12, 31), 2021)
    assert summary["files"] == 3 and 1_500 <= summary["villages"] <= 2_500
    report = ingest_landed(tmp_path, CONTRACT)
    assert report.passed
    batches = query(tmp_path, "select status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches")
    assert {b[0] for b in batches} == {"published"} and len(batches) == 3
    assert all(b[1] == b[2] + b[3] and 0 < b[3] / b[1] <= 0.05 for b in batches)
    rules = {r[0] for r in query(tmp_path, "select distinct rule from quarantine.agriculture__rural_sewage_villages")}
    assert "starts_with_field" in rules
