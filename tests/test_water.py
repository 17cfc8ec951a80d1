"""Surface-water sections: a workbook written here, its GB 3838 classes checked against values read
off the standard's table (reference/STANDARDS.md) by hand, and the workbook's mess quarantined."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.helpers import query

DATASET = Path("env_monitoring") / "water_section_monthly"
BASIC = ["断面编码", "断面名称", "河流", "流域", "所在城市", "断面级别", "水体类型", "目标水质类别"]
ITEMS = {  # the contract's column headers
    "water_temperature": "水温(℃)",
    "ph": "pH值",
    "dissolved_oxygen": "溶解氧(mg/L)",
    "codmn": "高锰酸盐指数(mg/L)",
    "cod": "化学需氧量(mg/L)",
    "bod5": "五日生化需氧量(mg/L)",
    "nh3_n": "氨氮(mg/L)",
    "tp": "总磷(mg/L)",
    "tn": "总氮(mg/L)",
    "cu": "铜(mg/L)",
    "zn": "锌(mg/L)",
    "fluoride": "氟化物(mg/L)",
    "se": "硒(mg/L)",
    "arsenic": "砷(mg/L)",
    "hg": "汞(mg/L)",
    "cd": "镉(mg/L)",
    "cr6": "铬（六价）(mg/L)",
    "pb": "铅(mg/L)",
    "cyanide": "氰化物(mg/L)",
    "volatile_phenol": "挥发酚(mg/L)",
    "petroleum": "石油类(mg/L)",
    "las": "阴离子表面活性剂(mg/L)",
    "sulfide": "硫化物(mg/L)",
    "fecal_coliform": "粪大肠菌群(个/L)",
}
# a section whose every item is class I (read off GB 3838 Table 1)
CLEAN = {
    "water_temperature": "12.0",
    "ph": "7.5",
    "dissolved_oxygen": "8.0",
    "codmn": "1.5",
    "cod": "10",
    "bod5": "2.0",
    "nh3_n": "0.10",
    "tp": "0.010",
    "tn": "0.15",
    "cu": "0.005",
    "zn": "0.02",
    "fluoride": "0.5",
    "se": "0.005",
    "arsenic": "0.01",
    "hg": "0.00002",
    "cd": "0.0005",
    "cr6": "0.005",
    "pb": "0.005",
    "cyanide": "0.002",
    "volatile_phenol": "0.001",
    "petroleum": "0.02",
    "las": "0.1",
    "sulfide": "0.02",
    "fecal_coliform": "100",
}


def section(code: str, target: str = "Ⅲ", body: str = "河流", **items: str) -> list[str]:
    values = CLEAN | items
    basic = [code, f"测试断面{code}", "岷江", "岷江", "成都市", "国考", body, target]
    return basic + [values[item] for item in ITEMS]


# (section, item) → the class GB 3838 Table 1 gives the delivered value (1–5 = I–V, 6 = 劣V)
ROWS = [
    (section("DO-5", dissolved_oxygen="5"), {"dissolved_oxygen": 3}),  # "at least 5": III
    (section("DO-4_99", dissolved_oxygen="4.99"), {"dissolved_oxygen": 4}),
    (section("PH-9", ph="9"), {"ph": 1}),  # inside 6–9, every class
    (section("PH-9_1", ph="9.1"), {"ph": 6}),
    (section("PH-5_9", ph="5.9"), {"ph": 6}),
    (section("TP-RIVER", tp="0.1"), {"tp": 2}),  # river: II is 0.1
    (section("TP-LAKE", body="湖库", tp="0.1"), {"tp": 4}),  # lake: IV is 0.1
    (section("TP-LT", tp="<0.01"), {"tp": 1}),  # below the detection limit 0.01 ≤ 0.02
    (section("TP-L", tp="0.03L"), {"tp": 2}),  # below 0.03: meets II (0.1), not known to meet I (0.02)
    (section("CU-ND", cu="ND"), {"cu": 1}),
    (section("CU-WEI", cu="未检出"), {"cu": 1}),
    (section("NH3-FULL", nh3_n="０．５"), {"nh3_n": 2}),  # full-width 0.5: II is 0.5
    (section("NH3-2_01", nh3_n="2.01"), {"nh3_n": 6}),
    (section("HG-III", hg="0.0001"), {"hg": 3}),
    # the section class ignores water temperature, TN and fecal coliform
    (section("IGNORED", body="湖库", water_temperature="30", tn="5", fecal_coliform="50000"), {"tn": 6}),
    (section("T-III-LEI", target="III类"), {}),
    (section("T-3", target="3"), {}),
    (section("T-SAN", target="三类"), {}),
    (section("T-II", target="Ⅱ", cod="16"), {"cod": 3}),  # COD 16: I and II are 15, III is 20
]
SECTION_CLASS = {  # the worst class of the items that count; everything else is class I
    "DO-5": 3,
    "DO-4_99": 4,
    "PH-9": 1,
    "PH-9_1": 6,
    "TP-RIVER": 2,
    "TP-LAKE": 4,
    "TP-LT": 1,
    "TP-L": 2,
    "CU-ND": 1,
    "NH3-FULL": 2,
    "NH3-2_01": 6,
    "HG-III": 3,
    "IGNORED": 1,
    "T-II": 3,
}
BAD_ROWS = [  # (code, item, value): the contract's pattern rejects them
    ("BAD-NOTE", "cod", "待复测"),
    ("BAD-UNIT", "nh3_n", "0.5mg/L"),
]


def write_workbook(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    """The layout the monitoring centre uses: a merged title row, basic columns merged over two
    header rows, the items under a merged 监测项目 heading."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    width = len(BASIC) + len(ITEMS)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        sheet.cell(1, 1, f"{title}地表水断面监测结果")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        for c, header in enumerate(BASIC, start=1):
            sheet.cell(2, c, header)
            sheet.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
        sheet.cell(2, len(BASIC) + 1, "监测项目")
        sheet.merge_cells(start_row=2, start_column=len(BASIC) + 1, end_row=2, end_column=width)
        for c, header in enumerate(ITEMS.values(), start=len(BASIC) + 1):
            sheet.cell(3, c, header)
        for r, row in enumerate(rows, start=4):
            for c, value in enumerate(row, start=1):
                sheet.cell(r, c, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def land(warehouse: Path) -> None:
    """This module's good deliveries, landed in the shared warehouse of tests/conftest.py."""
    landing = warehouse / "landing" / DATASET
    write_workbook(landing / "2023.xlsx", {"2023年01月": [row for row, _ in ROWS], "2023年02月": [ROWS[0][0]]})


def land_mess(warehouse: Path) -> None:
    """Then the mess (the contract check fails; what is served stays): bad values in a workbook held
    for quarantining more than the tolerated share, and two workbooks rejected whole."""
    landing = warehouse / "landing" / DATASET
    bad = [section(code, **{item: value}) for code, item, value in BAD_ROWS]
    write_workbook(landing / "bad_values.xlsx", {"2023年04月": [*bad, section("GOOD-APRIL")]})
    # a workbook whose second sheet has no header row
    book = write_workbook(landing / "no_header.xlsx", {"2023年03月": [section("NH-1")]})
    wb = openpyxl.load_workbook(book)
    wb.create_sheet("备注").append(["断面", "说明"])
    wb["备注"].append(["NH-1", "采样时段调整"])
    wb.save(book)
    (landing / "not_a_workbook.xlsx").write_bytes(b"this is a CSV export renamed to .xlsx\n")


@pytest.fixture(scope="module")
def water_warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_single_item_classes_follow_gb3838_boundaries(water_warehouse: Path) -> None:
    got = {
        (code, item): cls
        for code, item, cls in query(
            water_warehouse,
            "select section_code, item_code, item_class_code from water.section_item_monthly "
            "where month_start = date '2023-01-01'",
        )
    }
    for row, expected in ROWS:
        for item, cls in expected.items():
            assert got[(row[0], item)] == cls, (row[0], item)


def test_section_class_is_the_worst_counted_item_and_targets_read_from_any_spelling(water_warehouse: Path) -> None:
    rows = query(
        water_warehouse,
        "select section_code, class_code, target_class_code, meets_target, is_worse_than_v "
        "from water.section_monthly where month_start = date '2023-01-01'",
    )
    by_code = {r[0]: r[1:] for r in rows}
    for code, cls in SECTION_CLASS.items():
        assert by_code[code][0] == cls, code
    for code in ("T-III-LEI", "T-3", "T-SAN", "DO-5"):
        assert by_code[code][1] == 3, code
    assert by_code["T-II"][1:3] == (2, False)  # class III against target II
    assert by_code["NH3-2_01"][3] is True and by_code["DO-4_99"][2] is False
    assert by_code["PH-9"][2] is True


def test_bad_values_and_workbooks_are_quarantined_with_the_reason_and_batches_reconcile(water_warehouse: Path) -> None:
    reasons = query(
        water_warehouse,
        "select _source_file, rule, field, reason from quarantine.env_monitoring__water_section_monthly",
    )
    by_field = {(r[2], r[1]): r[3] for r in reasons if r[0].endswith("bad_values.xlsx")}
    assert "待复测" in by_field[("cod", "pattern")]
    assert "0.5mg/L" in by_field[("nh3_n", "pattern")]
    rejected = {r[0]: (r[1], r[3]) for r in reasons if not r[0].endswith("bad_values.xlsx")}
    no_header = next(v for k, v in rejected.items() if k.endswith("no_header.xlsx"))
    assert no_header[0] == "structure.missing_column" and "'备注'" in no_header[1]
    unreadable = next(v for k, v in rejected.items() if k.endswith("not_a_workbook.xlsx"))
    assert unreadable[0] == "structure.unreadable"
    batches = query(
        water_warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'env_monitoring/water_section_monthly'",
    )
    assert len(batches) == 4
    for _, _, rows_in, published, quarantined in batches:
        assert rows_in == published + quarantined
    status = {Path(b[0]).name: b[1:] for b in batches}
    assert status["2023.xlsx"] == ("published", len(ROWS) + 1, len(ROWS) + 1, 0)
    assert status["bad_values.xlsx"] == ("held", 3, 1, 2)  # 2 of 3 quarantined: more than tolerated
    assert status["no_header.xlsx"][0] == "rejected" and status["no_header.xlsx"][2] == 0
    assert status["not_a_workbook.xlsx"][0] == "rejected"
