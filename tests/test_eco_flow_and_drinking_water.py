"""Eco-flow (DEPARTMENTS.md #7) and township drinking-water sources (#16): workbooks written here in
the departments' layouts, materialised once, and every expected number worked out by hand below
from the delivered cells (the flows in L/s divided by 1000 because 1 L = 10⁻³ m³, satisfied when
flow ≥ target, a day without a measured flow not satisfied, standardised when all three conditions
are 是). The mess that would hold or reject a batch is ingested apart, through the engine alone."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest

from pipelines.contracts import load_contract
from pipelines.ingest.deliveries import discover
from pipelines.ingest.engine import ingest
from tests.helpers import REPO, query, settings_for

ECO_FLOW = Path("water_resources") / "eco_flow_daily"
DRINKING = Path("water_env") / "drinking_water_sources"
ECO_FLOW_CONTRACT = REPO / "contracts" / "water_resources" / "eco_flow_daily.odcs.yaml"
DRINKING_CONTRACT = REPO / "contracts" / "water_env" / "drinking_water_sources.odcs.yaml"


def days_of(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return [first + timedelta(n) for n in range((nxt - first).days)]


def flow_sheet(book, title: str, rows: list[tuple], *, measured: str = "m³/s", target: str = "m³/s") -> None:
    """水利厅's layout: a merged title row, then 序号, 河流, 控制断面, 日期, the two flows with the
    unit in their headers, 备注. rows: (river, section, day, flow, target)."""
    sheet = book.create_sheet(title)
    sheet.cell(1, 1, f"主要河流控制断面生态流量监测日报表（{title}）")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=7)
    for c, header in enumerate(
        ("序号", "河流", "控制断面", "日期", f"实测流量({measured})", f"生态流量目标({target})", "备注"), 1
    ):
        sheet.cell(2, c, header)
    for r, (river, section, day, flow, tgt) in enumerate(rows, start=3):
        for c, value in enumerate((r - 2, river, section, day, flow, tgt), start=1):
            if value is not None:
                sheet.cell(r, c, value)


def save(book, path: Path) -> Path:
    book.remove(book["Sheet"])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


# ------------------------------------------------------------------------------------------
# eco-flow deliveries, January–March 2023
#   A 岷江/甲断面 (成都市), target 10 m³/s: in January days 5 and 6 have no row, day 7 a blank flow,
#     day 8 "缺测" (refused), days 9 and 10 flow 9.99 (below), day 11 exactly 10 (satisfied), others
#     12; absent from the February workbook; every March day 12.
#   B 金沙江/乙断面 (宜宾市), sheet in L/s, target 8500 L/s = 8.5 m³/s: January day 3 8499 L/s
#     (8.499 m³/s, below), day 4 8500 L/s (= target), others 9000 L/s; February and March 9000 L/s.
#   C 沱江/丙断面 (泸州市), measured in L/s, target in m³/s 0.5: January days 1–15 450 L/s
#     (0.45 m³/s, below), days 16–31 600 L/s; February and March 600 L/s.
JAN_A = {5: None, 6: None, 7: "", 8: "缺测", 9: 9.99, 10: 9.99, 11: 10}
EXPECTED_MONTH = {  # (section, month): (calendar days, days measured, days satisfied), counted by hand
    ("甲断面", 1): (31, 27, 25),  # 31 − 2 missing rows − 1 blank − 1 refused; − 2 days at 9.99
    ("乙断面", 1): (31, 31, 30),
    ("丙断面", 1): (31, 31, 16),
    ("甲断面", 2): (28, 0, 0),  # absent from February's workbook: 28 days not satisfied
    ("乙断面", 2): (28, 28, 28),
    ("丙断面", 2): (28, 28, 28),
    ("甲断面", 3): (31, 31, 31),
    ("乙断面", 3): (31, 31, 31),
    ("丙断面", 3): (31, 31, 31),
}
CITY = {"甲断面": "510100", "乙断面": "511500", "丙断面": "510500"}  # 成都, 宜宾, 泸州 (GB/T 2260)


def write_eco_flow(landing: Path) -> None:
    jan = openpyxl.Workbook()
    rows_a = []
    for d in days_of(2023, 1):
        if d.day in JAN_A and JAN_A[d.day] is None:
            continue  # no row for the day
        rows_a.append(("岷江", "甲断面", d, JAN_A.get(d.day, 12), 10))
    flow_sheet(jan, "成都市", rows_a)
    rows_b = [("金沙江", "乙断面", d, {3: 8499, 4: 8500}.get(d.day, 9000), 8500) for d in days_of(2023, 1)]
    flow_sheet(jan, "宜宾市", rows_b, measured="L/s", target="L/s")
    rows_c = [("沱江", "丙断面", d, 450 if d.day <= 15 else 600, 0.5) for d in days_of(2023, 1)]
    flow_sheet(jan, "泸州市", rows_c, measured="L/s")
    save(jan, landing / ECO_FLOW / "2023" / "生态流量_2023年01月.xlsx")

    for month in (2, 3):
        book = openpyxl.Workbook()
        if month == 3:
            flow_sheet(book, "成都市", [("岷江", "甲断面", d, 12, 10) for d in days_of(2023, month)])
        flow_sheet(
            book,
            "宜宾市",
            [("金沙江", "乙断面", d, 9000, 8500) for d in days_of(2023, month)],
            measured="L/s",
            target="L/s",
        )
        flow_sheet(book, "泸州市", [("沱江", "丙断面", d, 600, 0.5) for d in days_of(2023, month)], measured="L/s")
        save(book, landing / ECO_FLOW / "2023" / f"生态流量_2023年{month:02d}月.xlsx")


# ------------------------------------------------------------------------------------------
# drinking-water sources, 2023: (city, zone, signs, isolation, reported, how many)
DW_HEADER = (
    "序号",
    "市（州）",
    "县（市、区）",
    "乡镇",
    "水源地名称",
    "水源类型",
    "是否划定保护区",
    "是否设立保护区标志",
    "是否建设隔离防护设施",
    "是否完成规范化建设",
    "备注",
)
SOURCES = [
    ("成都市", "是", "是", "是", "是", 7),
    ("成都市", "是", "是", "否", "是", 1),  # reported 是 without isolation: flagged, not standardised
    ("成都市", "是", "否", "是", "否", 2),
    ("阿坝藏族羌族自治州", "是", "是", "是", "是", 4),
    ("阿坝藏族羌族自治州", "是", "是", "是", "否", 1),  # every condition met, reported 否: flagged, standardised
    ("阿坝藏族羌族自治州", "否", "否", "否", "否", 5),
    ("宜宾市", "是", "是", "是", "是", 8),
    ("宜宾市", "是", "是", "否", "否", 1),
    ("宜宾市", "是", "√", "是", "是", 1),  # not 是/否: refused by the contract
]
# by hand: 成都 7 of 10; 阿坝 4 + 1 of 10; 宜宾 8 of the 9 published; province 20 of 29
EXPECTED_SHARE = {"510100": 7 / 10, "513200": 5 / 10, "511500": 8 / 9, "510000": 20 / 29}


def dw_rows() -> list[list]:
    rows, n = [], 0
    for city, zone, signs, isolation, reported, count in SOURCES:
        for _ in range(count):
            n += 1
            township = f"第{n}镇"
            rows.append(
                [n, city, "测试县", township, f"{township}水源地", "河流型", zone, signs, isolation, reported, None]
            )
    return rows


def write_drinking_water(path: Path, rows: list[list], year: str = "2023年") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = year
    sheet.cell(1, 1, f"{year}乡镇级集中式饮用水水源地规范化建设情况表")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(DW_HEADER))
    for c, header in enumerate(DW_HEADER, start=1):
        sheet.cell(2, c, header)
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(r, c, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    write_eco_flow(warehouse / "landing")
    write_drinking_water(warehouse / "landing" / DRINKING / "2023.xlsx", dw_rows())


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


# ------------------------------------------------------------------------------------------
# eco-flow


def test_flows_in_litres_per_second_are_converted_by_the_header_unit(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select section_name, observed_date, measured_flow_m3s, target_flow_m3s, measured_flow_unit, "
        "target_flow_unit, is_satisfied from water.eco_flow_daily where observed_date in "
        "(date '2023-01-03', date '2023-01-04', date '2023-01-20') and section_name in ('乙断面', '丙断面')",
    )
    got = {(r[0], r[1].day): r[2:] for r in rows}
    assert got[("乙断面", 3)] == (D("8.499"), D("8.5"), "L/s", "L/s", False)  # 8499 L/s < 8500 L/s
    assert got[("乙断面", 4)] == (D("8.5"), D("8.5"), "L/s", "L/s", True)  # equal to the target: satisfied
    assert got[("乙断面", 20)][0] == D("9")  # 9000 L/s, not 9000 m³/s
    assert got[("丙断面", 3)] == (D("0.45"), D("0.5"), "L/s", "m³/s", False)  # units per column
    assert got[("丙断面", 20)] == (D("0.6"), D("0.5"), "L/s", "m³/s", True)


def test_missing_days_are_kept_and_not_satisfied(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select day(observed_date), is_delivered, is_measured, is_satisfied, measured_flow_m3s "
        "from water.eco_flow_daily where section_name = '甲断面' and month(observed_date) = 1 "
        "and day(observed_date) between 4 and 12 order by 1",
    )
    assert rows == [
        (4, True, True, True, D("12")),
        (5, False, False, False, None),  # no row delivered
        (6, False, False, False, None),
        (7, True, False, False, None),  # blank flow: delivered, not measured
        (8, False, False, False, None),  # 缺测: refused by the contract, so not delivered
        (9, True, True, False, D("9.99")),
        (10, True, True, False, D("9.99")),
        (11, True, True, True, D("10")),
        (12, True, True, True, D("12")),
    ]
    february = query(
        warehouse,
        "select count(*), count(*) filter (where is_satisfied) from water.eco_flow_daily "
        "where section_name = '甲断面' and month(observed_date) = 2",
    )
    assert february == [(28, 0)]  # the section's whole month is missing from the February workbook


def test_monthly_days_match_the_hand_count(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select section_name, month(month_start), region_code, calendar_days, days_measured, days_satisfied, "
        "satisfaction_ratio from water.eco_flow_monthly",
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert set(got) == set(EXPECTED_MONTH)
    for key, (calendar, measured, satisfied) in EXPECTED_MONTH.items():
        region, *days, ratio = got[key]
        assert region == CITY[key[0]] and tuple(days) == (calendar, measured, satisfied), key
        assert ratio == pytest.approx(satisfied / calendar), key
    sections = query(warehouse, "select river, section_name, region_code, city_name from core.dim_flow_section")
    assert sorted(sections) == sorted(
        [
            ("岷江", "甲断面", "510100", "成都市"),
            ("金沙江", "乙断面", "511500", "宜宾市"),
            ("沱江", "丙断面", "510500", "泸州市"),
        ]
    )


def test_scoreboard_eco_flow_satisfaction_over_calendar_days(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select region_code, period_type, period_start, period_end, value, target, is_on_track "
        "from assessment.scoreboard where indicator_code = 'eco_flow_satisfaction'",
    )
    got = {(r[0], r[1], r[3].month): r for r in rows}
    # share of section-days satisfied; calendar days are the denominator (甲断面 January: 25/31, not 25/27)
    expected = {
        ("510100", "month", 1): 25 / 31,
        ("511500", "month", 1): 30 / 31,
        ("510500", "month", 1): 16 / 31,
        ("510000", "month", 1): (25 + 30 + 16) / 93,
        ("510100", "month", 2): 0 / 28,
        ("510000", "month", 2): 56 / 84,
        ("510100", "ytd", 3): (25 + 0 + 31) / 90,
        ("510500", "ytd", 2): (16 + 28) / 59,
        ("510000", "ytd", 3): (71 + 56 + 93) / 270,
        ("510000", "year", 3): (71 + 56 + 93) / 270,  # the year so far ends at its last month, March
        ("511500", "year", 3): (30 + 28 + 31) / 90,
    }
    for key, value in expected.items():
        row = got[key]
        assert float(row[4]) == pytest.approx(value, abs=5e-5), key
        assert float(row[5]) == 0.9 and row[6] is (value >= 0.9), key
    assert {r[2] for r in rows if r[1] in ("ytd", "year")} == {date(2023, 1, 1)}
    assert len(rows) == 4 * (3 + 3 + 1)  # (3 cities + province) × (3 months, 3 ytd, 1 year)


def test_eco_flow_batches_reconcile(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'water_resources/eco_flow_daily'",
    )
    status = {Path(b[0]).name: b[1:] for b in batches}
    jan_rows = 29 + 31 + 31  # 甲 without its two missing days
    assert status["生态流量_2023年01月.xlsx"] == ("published", jan_rows, jan_rows - 1, 1)
    assert status["生态流量_2023年02月.xlsx"] == ("published", 56, 56, 0)
    assert status["生态流量_2023年03月.xlsx"] == ("published", 93, 93, 0)
    quarantined = query(
        warehouse, "select _source_line, rule, field, reason, record from quarantine.water_resources__eco_flow_daily"
    )
    assert len(quarantined) == 1
    line, rule, field, reason, record = quarantined[0]
    assert (rule, field, reason) == ("type", "measured_flow", "measured_flow=缺测 is not a valid number")
    assert line == 8 and "甲断面" in record and "2023-01-08" in record  # sheet row of day 8 (days 5, 6 absent)


# ------------------------------------------------------------------------------------------
# drinking-water sources


def test_standardised_share_by_hand_and_mismatches_flagged(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select region_code, period_type, period_start, period_end, value, target, is_on_track from "
        "assessment.scoreboard where indicator_code = 'township_drinking_water_standardised'",
    )
    got = {r[0]: r[1:] for r in rows}
    assert set(got) == set(EXPECTED_SHARE)
    for region, share in EXPECTED_SHARE.items():
        period_type, start, end, value, target, on_track = got[region]
        assert (period_type, start, end) == ("year", date(2023, 1, 1), date(2023, 12, 1))
        assert float(value) == pytest.approx(share, abs=5e-5), region
        assert float(target) == 0.8 and on_track is (share >= 0.8), region
    flagged = query(
        warehouse,
        "select city_name, is_standardised, is_standardised_reported, criteria_unmet from water.drinking_water_sources "
        "where not is_reported_consistent order by city_name",
    )
    assert sorted(flagged) == sorted(
        [("成都市", False, True, ["has_isolation"]), ("阿坝藏族羌族自治州", True, False, [])]
    )
    unmet = query(
        warehouse,
        "select criteria_unmet, count(*) from water.drinking_water_sources "
        "where city_name = '阿坝藏族羌族自治州' group by 1",
    )
    assert dict((tuple(u), n) for u, n in unmet)[("has_protection_zone", "has_signs", "has_isolation")] == 5


def test_drinking_water_batch_reconciles_and_bad_cell_is_quarantined(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'water_env/drinking_water_sources'",
    )
    assert batches == [("published", 30, 29, 1)]
    quarantined = query(warehouse, "select rule, field, reason from quarantine.water_env__drinking_water_sources")
    assert quarantined == [("valid_values", "has_signs", "has_signs=√ is not one of 是, 否")]


# ------------------------------------------------------------------------------------------
# mess that holds or rejects a batch: through the engine alone (no models)


def _ingest(warehouse: Path, contract_path: Path):
    contract = load_contract(contract_path)
    settings = settings_for(warehouse)
    report = ingest(contract, discover(settings.landing, contract.department, contract.dataset), settings)
    batches = {
        Path(b[0]).name: b[1:]
        for b in query(
            warehouse,
            "select source_file, status, rows_in, rows_published, rows_quarantined, error from catalog.ingest_batches",
        )
    }
    for name, (_, rows_in, published, quarantined, _) in batches.items():
        assert rows_in == published + quarantined, name
    return report, batches


def test_an_unknown_unit_or_a_negative_flow_is_quarantined_naming_the_unit(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    flow_sheet(book, "成都市", [("岷江", "甲断面", date(2023, 1, 1), 3, 2)], measured="万m³/d")
    flow_sheet(book, "宜宾市", [("金沙江", "乙断面", date(2023, 1, 1), -5, 8500)], measured="L/s", target="L/s")
    save(book, tmp_path / "landing" / ECO_FLOW / "units.xlsx")
    report, batches = _ingest(tmp_path, ECO_FLOW_CONTRACT)
    assert batches["units.xlsx"][:4] == ("held", 2, 0, 2) and not report.passed
    reasons = dict(query(tmp_path, "select field, reason from quarantine.water_resources__eco_flow_daily"))
    assert reasons["measured_flow_unit"].startswith("measured_flow_unit=万m³/d is not one of")
    assert reasons["measured_flow"] == "measured_flow=-5 is below the minimum 0 L/s"  # the row's own unit


def test_a_flow_header_without_unit_or_twice_rejects_the_workbook(tmp_path: Path) -> None:
    twice = openpyxl.Workbook()
    flow_sheet(twice, "成都市", [("岷江", "甲断面", date(2023, 1, 1), 12, 10)])
    twice["成都市"].cell(2, 8, "实测流量(L/s)")  # a second measured-flow column: which one is meant?
    save(twice, tmp_path / "landing" / ECO_FLOW / "twice.xlsx")
    bare = openpyxl.Workbook()
    flow_sheet(bare, "成都市", [("岷江", "甲断面", date(2023, 1, 1), 12, 10)])
    bare["成都市"].cell(2, 5, "实测流量")  # no unit: not guessed
    save(bare, tmp_path / "landing" / ECO_FLOW / "bare.xlsx")
    _, batches = _ingest(tmp_path, ECO_FLOW_CONTRACT)
    status, rows_in, published, quarantined, error = batches["twice.xlsx"]
    assert (status, rows_in, published, quarantined) == ("rejected", 1, 0, 1)
    assert "sheet '成都市'" in error and "实测流量(m³/s), 实测流量(L/s)" in error
    status, _, published, _, error = batches["bare.xlsx"]
    assert status == "rejected" and published == 0
    assert "实测流量(m³/s) (or a header matching ^实测流量" in error
    rules = {r[0] for r in query(tmp_path, "select rule from quarantine.water_resources__eco_flow_daily")}
    assert rules == {"structure.ambiguous_column", "structure.missing_column"}


def test_header_fields_are_checked_when_the_contract_loads(tmp_path: Path) -> None:
    from pipelines.contracts import ContractError

    text = ECO_FLOW_CONTRACT.read_text(encoding="utf-8")
    folder = tmp_path / "water_resources"
    folder.mkdir()
    bad = folder / ECO_FLOW_CONTRACT.name
    bad.write_text(text.replace("(?P<measured_flow_unit>", "(?P<unit>"), encoding="utf-8")
    with pytest.raises(ContractError, match=r"'measured_flow_unit'.*no named group \(\?P<measured_flow_unit>"):
        load_contract(bad)
    bad.write_text(text.replace("format: xlsx", "format: csv"), encoding="utf-8")
    with pytest.raises(ContractError, match=r"'measured_flow': headerPattern is read by the xlsx format only"):
        load_contract(bad)


def test_a_blank_condition_is_quarantined(tmp_path: Path) -> None:
    rows = dw_rows()[:3]
    rows[1][7] = None  # 是否设立保护区标志 left blank
    write_drinking_water(tmp_path / "landing" / DRINKING / "2023.xlsx", rows)
    _, batches = _ingest(tmp_path, DRINKING_CONTRACT)
    assert batches["2023.xlsx"][:4] == ("held", 3, 2, 1)
    assert query(tmp_path, "select _source_line, rule, field from quarantine.water_env__drinking_water_sources") == [
        (4, "required", "has_signs")
    ]


# ------------------------------------------------------------------------------------------
# the demo generators write the mess in small proportions, and their batches publish


def test_demo_deliveries_carry_litre_sheets_and_missing_days_and_publish(tmp_path: Path) -> None:
    from pipelines.demo.drinking_water import generate_drinking_water_sources
    from pipelines.demo.eco_flow import generate_eco_flow

    landing = tmp_path / "landing"
    eco = generate_eco_flow(landing, date(2023, 1, 1), date(2023, 3, 31), 2021)
    dw = generate_drinking_water_sources(landing, date(2022, 1, 1), date(2023, 12, 31), 2021)
    assert eco["files"] == 3 and eco["section_days"] < eco["sections"] * 90  # some days missing
    assert dw["files"] == 2 and 200 <= dw["sources"] <= 500
    headers = set()
    for path in (landing / ECO_FLOW).rglob("*.xlsx"):
        for sheet in openpyxl.load_workbook(path, read_only=True).worksheets:
            headers.add(next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))[4])
    assert headers == {"实测流量(m³/s)", "实测流量(L/s)"}
    for contract_path in (ECO_FLOW_CONTRACT, DRINKING_CONTRACT):
        report, batches = _ingest(tmp_path, contract_path)
        assert report.passed, contract_path
    assert {b[0] for b in batches.values()} == {"published"}
    assert all(b[3] / b[1] <= 0.05 for b in batches.values())  # the contracts' tolerance
