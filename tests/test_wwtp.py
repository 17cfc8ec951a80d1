"""Urban sewage treatment plants (housing/wwtp_monthly, DEPARTMENTS.md #10): a yearly workbook with a
sheet per month written here in the department's layout, load rates and the COD and NH3-N removed
worked out by hand (万吨 × mg/L × 0.01 = t, because 1 万吨 of sewage = 10⁴ m³ and 1 mg/L = 1 g/m³),
a later workbook superseding a plant-month, an effluent above its influent and a capacity of 0
quarantined with their reasons, every batch reconciled; the contract options notGreaterThanField
and exclusiveMinimum tested on their own."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.contracts import ContractError, bind_standards, load_contract, row_rules, typed_value
from tests.helpers import REPO, ingest_landed, query

DATASET = Path("housing") / "wwtp_monthly"
CONTRACT = REPO / "contracts" / "housing" / "wwtp_monthly.odcs.yaml"
HEADER = (
    "序号",
    "污水处理厂编码",
    "污水处理厂名称",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "设计处理能力(万吨/日)",
    "污水处理量(万吨)",
    "进水COD(mg/L)",
    "出水COD(mg/L)",
    "进水氨氮(mg/L)",
    "出水氨氮(mg/L)",
    "备注",
)
CHENGDU, ZIGONG, LUZHOU, YIBIN = "510100", "510300", "510500", "511500"


def plant(code: str, city: str, capacity, volume, cod=(None, None), nh3n=(None, None), note=None) -> list:
    return [code, f"{code}厂", city, "甲县", code[:6], capacity, volume, *cod, *nh3n, note]


JAN = [
    plant("510121WS01", "成都市", 10, 248, (200, 20), (30, 2)),  # 31 days: 8 a day, load 0.8
    plant("510121WS02", "成都市", 5, 155, (150, 30), (25, 5)),  # 5 a day, load 1.0
    plant("510321WS01", "自贡市", 2, 0, note="停运"),  # did not run: no loads
    plant("510321WS02", "自贡市", 3, 60, (50, 60), (20, 1)),  # effluent COD above influent: refused
    plant("510521WS01", "泸州市", 0, 60, (200, 20), (30, 2)),  # capacity 0: refused
    plant("510521WS02", "泸州市", 3, 60, (200, 20), (4, 8.5)),  # effluent NH3-N above influent: refused
    plant("510521WS03", "泸州市", 3, 60, (20, 20), (3, 3)),  # effluent equal to influent: accepted
    *[plant(f"511521WS{n:02d}", "宜宾市", 1, 15.5, (100, 10), (20, 1)) for n in range(1, 61)],
]
FEB = [
    plant("510121WS01", "成都市", 10, 224, (200, 20), (30, 2)),  # corrected below
    plant("510121WS02", "成都市", 5, 112, (150, 30), (25, 5)),
]
FEB_CORRECTION = [plant("510121WS01", "成都市", 10, 252, (200, 20), (30, 2))]  # 9 a day over 28 days

# by hand, January 2023 (t = 万吨 × mg/L × 0.01):
#   510121WS01: COD 248 × 180 × 0.01 = 446.4, influent 248 × 200 × 0.01 = 496; NH3-N 248 × 28 × 0.01 = 69.44
#   510121WS02: COD 155 × 120 × 0.01 = 186, influent 232.5; NH3-N 155 × 20 × 0.01 = 31
#   510521WS03: removes nothing, influent COD 60 × 20 × 0.01 = 12, NH3-N 60 × 3 × 0.01 = 1.8
#   each 宜宾 plant: COD 15.5 × 90 × 0.01 = 13.95, influent 15.5; NH3-N 15.5 × 19 × 0.01 = 2.945, influent 3.1
PLANT_JAN = {  # plant: (load_rate, cod_removed_t, nh3_n_removed_t, cod efficiency, nh3_n efficiency)
    "510121WS01": (0.8, 446.4, 69.44, 0.9, 1 - 2 / 30),
    "510121WS02": (1.0, 186.0, 31.0, 0.8, 0.8),
    "510321WS01": (0.0, None, None, None, None),
    "510521WS03": (20 / 31, 0.0, 0.0, 0.0, 0.0),
    "511521WS07": (0.5, 13.95, 2.945, 0.9, 0.95),
}
REGION_JAN = {  # region: (plants, capacity, daily inflow, cod removed, cod influent, nh3 removed, nh3 influent)
    CHENGDU: (2, 15, 13, 632.4, 728.5, 100.44, 248 * 30 * 0.01 + 155 * 25 * 0.01),
    ZIGONG: (1, 2, 0, None, None, None, None),
    LUZHOU: (1, 3, 60 / 31, 0.0, 12.0, 0.0, 1.8),
    YIBIN: (60, 60, 30, 60 * 13.95, 60 * 15.5, 60 * 2.945, 60 * 3.1),
}
REGION_JAN["510000"] = (
    64,
    15 + 2 + 3 + 60,
    13 + 60 / 31 + 30,
    632.4 + 0 + 837.0,
    728.5 + 12 + 930.0,
    100.44 + 0 + 176.7,
    REGION_JAN[CHENGDU][6] + 1.8 + 186.0,
)


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """住建厅's layout: a title row merged across the sheet, the header, then the plants."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        sheet.cell(1, 1, f"四川省城镇污水处理厂运行情况月报（{title}）")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
        sheet.append(HEADER)
        for n, row in enumerate(rows, start=1):
            sheet.append([n, *row])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    folder = warehouse / "landing" / DATASET
    first = write_workbook(
        folder / "2023" / "城镇污水处理厂运行月报_2023年.xlsx", {"2023年01月": JAN, "2023年02月": FEB}
    )
    correction = write_workbook(folder / "2023" / "更正_2023年02月.xlsx", {"2023年02月": FEB_CORRECTION})
    stamp = first.stat().st_mtime
    os.utime(first, (stamp - 86_400, stamp - 86_400))
    os.utime(correction, (stamp, stamp))


def land_mess(warehouse: Path) -> None:
    """Then a workbook where every plant's capacity was typed as 0: held, the contract check fails,
    what is served stays."""
    rows = [plant(f"512021WS{n:02d}", "资阳市", 0, 30, (200, 20), (30, 2)) for n in range(1, 5)]
    write_workbook(warehouse / "landing" / DATASET / "2023" / "资阳_2023年03月.xlsx", {"2023年03月": rows})


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def approx(value):
    return None if value is None else pytest.approx(value, abs=1e-9)


def test_plant_months_load_rate_and_removed_tonnes_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select plant_code, load_rate, cod_removed_t, nh3_n_removed_t, cod_removal_efficiency, "
        "nh3_n_removal_efficiency from water.wwtp_monthly where month_start = date '2023-01-01'",
    )
    got = {r[0]: r[1:] for r in rows}
    assert len(got) == 64  # 67 delivered, 3 refused
    for code, expected in PLANT_JAN.items():
        assert got[code] == tuple(approx(v) for v in expected), code


def test_a_later_workbook_supersedes_the_plant_month(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select plant_code, days_in_month, treated_volume_10k_t, load_rate, cod_removed_t, source_file "
        "from water.wwtp_monthly where month_start = date '2023-02-01' order by plant_code",
    )
    assert [r[:5] for r in rows] == [
        ("510121WS01", 28, 252.0, approx(0.9), approx(252 * 180 * 0.01)),  # 453.6 t
        ("510121WS02", 28, 112.0, approx(4 / 5), approx(112 * 120 * 0.01)),  # 4 a day
    ]
    assert rows[0][5].endswith("更正_2023年02月.xlsx")


def test_city_and_province_roll_up_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select region_code, plants, design_capacity_10k_t_per_day, daily_mean_inflow_10k_t, load_rate, "
        "cod_removed_t, cod_removal_efficiency, nh3_n_removed_t, nh3_n_removal_efficiency "
        "from water.wwtp_city_monthly where month_start = date '2023-01-01'",
    )
    got = {r[0]: r[1:] for r in rows}
    assert set(got) == set(REGION_JAN)
    for region, (plants, capacity, inflow, cod, cod_in, nh3, nh3_in) in REGION_JAN.items():
        assert got[region] == (
            plants,
            approx(capacity),
            approx(inflow),
            approx(inflow / capacity),
            approx(cod),
            approx(None if cod is None else cod / cod_in),
            approx(nh3),
            approx(None if nh3 is None else nh3 / nh3_in),
        ), region


def test_effluent_above_influent_and_zero_capacity_are_quarantined_with_reasons(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select _source_line, rule, field, reason from quarantine.housing__wwtp_monthly "
        "where _source_file like '%运行月报_2023年.xlsx' order by _source_line",
    )
    assert rows == [  # the sheet's rows: title 1, header 2, plants from 3
        (6, "not_greater_than_field", "effluent_cod", "effluent_cod=60 mg/L is greater than influent_cod=50 mg/L"),
        (7, "range.exclusive_minimum", "design_capacity", "design_capacity=0 is not above 0 万吨/日"),
        (
            8,
            "not_greater_than_field",
            "effluent_nh3n",
            "effluent_nh3n=8.5 mg/L is greater than influent_nh3n=4 mg/L",
        ),
    ]


def test_batches_reconcile_and_a_workbook_of_zero_capacities_is_held(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
        "where dataset = 'housing/wwtp_monthly'",
    )
    status = {Path(b[0]).name: b[1:] for b in batches}
    assert status == {
        "城镇污水处理厂运行月报_2023年.xlsx": ("published", len(JAN) + len(FEB), len(JAN) + len(FEB) - 3, 3),
        "更正_2023年02月.xlsx": ("published", 1, 1, 0),
        "资阳_2023年03月.xlsx": ("held", 4, 0, 4),
    }
    served = query(warehouse, "select count(*) from water.wwtp_monthly where plant_code like '512021%'")
    assert served == [(0,)]


# ------------------------------------------------------------------------------------------
# the contract options on their own


def _hits(contract, values: dict[str, list[str | None]]) -> list[tuple[int, str, str, str]]:
    frame = pl.DataFrame(
        {f.name: values.get(f.name, [None] * len(next(iter(values.values())))) for f in contract.fields}
    )
    frame = frame.with_columns(pl.col(f.name).cast(pl.String) for f in contract.fields)
    typed = frame.with_columns([typed_value(f).alias(f"{f.name}__typed") for f in contract.fields])
    hits = []
    for rule in row_rules(contract):
        if rule.rule not in ("not_greater_than_field", "range.exclusive_minimum"):
            continue
        flagged = typed.with_row_index("_i").filter(rule.violation)
        for i, reason in flagged.select("_i", rule.reason).iter_rows():
            hits.append((i, rule.rule, rule.field, reason))
    return sorted(hits)


def test_not_greater_than_field_refuses_only_a_greater_value() -> None:
    contract = bind_standards(load_contract(CONTRACT), REPO / "standards")
    hits = _hits(
        contract,
        {
            "influent_cod": ["100", "100", "100", None, "abc"],
            "effluent_cod": ["99.9", "100", "100.1", "500", "5"],
            "design_capacity": ["0.01", "1", "1", "1", "1"],
        },
    )
    # equal is not greater; a blank or unreadable other value leaves the comparison to other rules
    assert hits == [
        (2, "not_greater_than_field", "effluent_cod", "effluent_cod=100.1 mg/L is greater than influent_cod=100 mg/L")
    ]


def test_exclusive_minimum_refuses_the_bound_itself() -> None:
    contract = bind_standards(load_contract(CONTRACT), REPO / "standards")
    hits = _hits(contract, {"design_capacity": ["0", "0.0001", "-1", None]})
    assert [(h[0], h[1]) for h in hits] == [(0, "range.exclusive_minimum"), (2, "range.exclusive_minimum")]
    assert hits[0][3] == "design_capacity=0 is not above 0 万吨/日"


def test_a_not_greater_than_field_naming_a_non_numeric_field_is_refused_when_the_contract_loads(tmp_path: Path) -> None:
    text = CONTRACT.read_text(encoding="utf-8").replace("value: influent_cod}", "value: plant_name}")
    path = tmp_path / "housing" / CONTRACT.name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match="notGreaterThanField 'plant_name' is not another numeric field"):
        load_contract(path)


def test_demo_workbooks_ingest_with_their_mess_quarantined(tmp_path: Path) -> None:
    from pipelines.demo.wwtp import generate_wwtp_monthly

    summary = generate_wwtp_monthly(tmp_path / "landing", date(2022, 1, 1), date(2023, 12, 31), 2021)
    assert summary["files"] == 2 and 100 <= summary["plants"] <= 300
    report = ingest_landed(tmp_path, CONTRACT)
    assert report.passed
    batches = query(tmp_path, "select status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches")
    assert {b[0] for b in batches} == {"published"} and len(batches) == 2
    assert all(b[1] == b[2] + b[3] and 0 < b[3] / b[1] <= 0.05 for b in batches)
    rules = {r[0] for r in query(tmp_path, "select distinct rule from quarantine.housing__wwtp_monthly")}
    assert rules == {"not_greater_than_field", "range.exclusive_minimum"}
