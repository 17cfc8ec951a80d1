"""Permit registry (#6) and enforcement cases (#17): GB 32100 check characters worked by hand and
against python-stdnum, invalid credit codes quarantined with their reason, enterprises unknown to
the registry kept and flagged, city-month totals added up by hand from a crafted delivery, batches
reconciled."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from stdnum.cn import uscc

from pipelines.check_characters import load_schemes
from pipelines.contracts import ContractError, bind_standards, load_contract, row_rules
from tests.helpers import REPO, query

STANDARDS = REPO / "standards"
OUTLETS = Path("pollution_source") / "outlets"
CASES = Path("enforcement") / "cases"
REGISTRY_HEADER = [
    "统一社会信用代码", "单位名称", "行业类别", "所在地市", "排放口编号", "排放口名称", "排放口类型",
    "监测设备MN号", "污染物代码", "污染物名称", "许可排放浓度限值", "计量单位",
]  # fmt: skip
CASES_HEADER = ["案件编号", "检查日期", "统一社会信用代码", "单位名称", "所在地市", "违法类型", "罚款金额（万元）"]

# Worked by hand. Organisation code 00000001-?: GB 11714 weights 3 7 9 10 5 8 4 2 → Σ = 1·2 = 2,
# 11 − 2 = 9 → 000000019. Credit code 91510100 000000019 + ?: GB 32100 weights 3^(i−1) mod 31 =
# 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 → Σ = 9·1 + 1·3 + 5·9 + 1·27 + 1·26 + 1·30 + 9·28
# = 392; 392 mod 31 = 20; 31 − 20 = 11 → B (0–9, then A=10, B=11).
HAND_CODE = "91510100000000019B"
# Organisation code 12345678-?: Σ = 3 + 14 + 27 + 40 + 25 + 48 + 28 + 16 = 201, 201 mod 11 = 3,
# 11 − 3 = 8; written with 0 instead, its GB 11714 check fails. Credit code 91510100 123456780 + ?:
# Σ = 9 + 3 + 45 + 27 + 26 + 20 + 58 + 75 + 52 + 40 + 144 + 70 + 240 = 809, 809 mod 31 = 3,
# 31 − 3 = 28 → W (…, T=26, U=27, W=28): valid for GB 32100, not for GB 11714.
BAD_ORGANISATION_CODE = "91510100123456780W"
# published codes (python-stdnum's and uscc-utils' documentation, util-helpers' example)
PUBLISHED = ["91110000600037341L", "91110108551385082Q", "91350100M000100Y43"]
# (delivered code, rule, reason as the contract engine words it)
INVALID = [
    ("91510100000000019C", "check_character.gb32100", "check character is C, GB 32100-2015 gives B"),
    ("91510100000000091B", "check_character.gb32100", "check character is B, GB 32100-2015 gives "),  # 19 → 91
    ("91110000600037341M", "check_character.gb32100", "check character is M, GB 32100-2015 gives L"),
    ("91510100I00000019B", "check_character.gb32100", "character 'I' at position 9 is not in the GB 32100-2015"),
    ("9151010000000019B", "pattern", "does not match"),  # 17 characters
]
UNREGISTERED = PUBLISHED[1]  # a valid code the crafted registry does not list
FILLER_OUTLETS = 150


def test_gb32100_check_characters_by_hand() -> None:
    usc = load_schemes(STANDARDS)["gb32100"]
    assert list(usc.weights) == [3**i % 31 for i in range(17)]
    assert "".join(usc.check_characters[v] for v in range(31)) == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert usc.check_character(HAND_CODE[:17]) == "B"
    assert usc.check_character(BAD_ORGANISATION_CODE[:17]) == "W"
    for code in PUBLISHED:
        assert usc.problem(code) is None, code
    for code, rule, reason in INVALID:
        if rule.startswith("check_character"):
            assert reason in usc.problem(code), code
    assert "has 17 characters" in usc.problem(INVALID[-1][0])


def test_gb11714_organisation_code_by_hand() -> None:
    org = load_schemes(STANDARDS)["gb11714"]
    assert org.check_character("00000001") == "9"
    assert org.check_character("12345678") == "8"
    assert org.check_character("00000006") == "X"  # Σ = 12, 12 mod 11 = 1, 11 − 1 = 10 → X
    assert org.check_character("00000000") == "0"  # Σ = 0, 11 − 0 = 11 → 0
    for code in PUBLISHED:
        assert org.is_valid(code[8:17]), code
    assert not org.is_valid(BAD_ORGANISATION_CODE[8:17])


def test_check_characters_agree_with_python_stdnum() -> None:
    """An independent implementation (python-stdnum 2.2, stdnum.cn.uscc) on random codes, valid and not."""
    usc = load_schemes(STANDARDS)["gb32100"]
    alphabet = list(usc.body_values)
    rng = np.random.default_rng(32100)
    for _ in range(2000):
        body = "".join(str(d) for d in rng.integers(0, 10, 8)) + "".join(rng.choice(alphabet, 9))
        assert usc.check_character(body) == uscc.calc_check_digit(body), body
        code = body + str(rng.choice(alphabet))
        assert usc.is_valid(code) == uscc.is_valid(code), code


def test_standard_bound_rules_need_the_standards(tmp_path: Path) -> None:
    contract = load_contract(REPO / "contracts" / "enforcement" / "cases.odcs.yaml")
    with pytest.raises(ContractError, match=r"cases.odcs.yaml: property 'credit_code'.*bind_standards"):
        row_rules(contract)
    folder = tmp_path / "enforcement"
    folder.mkdir()
    broken = folder / "cases.odcs.yaml"
    text = contract.path.read_text(encoding="utf-8").replace("value: gb32100", "value: gb99999")
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=r"property 'credit_code': checkCharacter 'gb99999' is not a scheme"):
        bind_standards(load_contract(broken), STANDARDS)


def test_rules_read_from_the_standards_name_field_and_table() -> None:
    import polars as pl

    from pipelines.contracts import typed_value

    contract = bind_standards(load_contract(REPO / "contracts" / "pollution_source" / "outlets.odcs.yaml"), STANDARDS)
    row = dict(zip([f.name for f in contract.fields], _registry_rows()[0], strict=True))
    row |= {"city_name": "成都", "pollutant_code": "a99999", "outlet_type_zh": "废渣", "credit_code": INVALID[0][0]}
    frame = pl.DataFrame({k: [v] for k, v in row.items()})
    typed = frame.with_columns([typed_value(f).alias(f"{f.name}__typed") for f in contract.fields])
    hits = {
        (r.rule, r.field): typed.select(r.reason).item()
        for r in row_rules(contract)
        if typed.select(r.violation).item()
    }
    assert hits == {
        ("valid_values", "city_name"): "city_name=成都 is not a name_zh of standards.region",
        ("valid_values", "outlet_type_zh"): "outlet_type_zh=废渣 is not a name_zh of standards.outlet_types",
        (
            "valid_values",
            "pollutant_code",
        ): "pollutant_code=a99999 is not a code_2017 of standards.hj212_pollutant_codes",
        ("check_character.gb32100", "credit_code"): f"credit_code={INVALID[0][0]} {INVALID[0][2]}",
    }


def test_demo_registry_codes_are_valid_and_its_mess_is_not() -> None:
    from pipelines.demo.outlets import demo_enterprises, mistype

    enterprises = demo_enterprises(2021)
    outlets = [o for e in enterprises for o in e.outlets]
    assert 140 <= len(enterprises) <= 160 and 280 <= len(outlets) <= 360
    assert len({e.region_code for e in enterprises}) == 21
    assert len({e.credit_code for e in enterprises}) == len(enterprises)
    assert all(uscc.is_valid(e.credit_code) for e in enterprises)
    rng = np.random.default_rng(1)
    assert not any(uscc.is_valid(mistype(e.credit_code, rng)) for e in enterprises)
    assert all(14 <= len(o.mn) <= 24 for o in outlets)
    assert 0 < sum(o.mn != o.packet_mn for o in outlets) < 0.1 * len(outlets)


# --------------------------------------------------------------------------------------------
# a crafted delivery of each, materialised once


def _registry_rows() -> list[list[str]]:
    rows = []
    for i in range(1, FILLER_OUTLETS + 1):  # one enterprise with many boiler stacks, SO2 35 mg/m³
        rows.append([HAND_CODE, "成都测试发电有限公司", "火力发电", "成都市", f"DA{i:03d}", f"锅炉烟囱{i}#", "废气",
                     f"510100{i:08d}", "a21026", "二氧化硫", "35", "mg/m³"])  # fmt: skip
    water = [
        PUBLISHED[0],
        "德阳测试酒业有限公司",
        "白酒制造",
        "德阳市",
        "DW001",
        "废水总排口",
        "废水",
        "LD510600000001",
    ]
    rows.append([*water, "w01018", "化学需氧量", "100", "mg/L"])
    rows.append([*water, "w21003", "氨氮", "10", "mg/L"])
    rows.append([*water, "w01001", "pH值", "6~9", "无量纲"])
    rows.append([BAD_ORGANISATION_CODE, "绵阳测试化工有限公司", "有机化学原料制造", "绵阳市", "DA001", "工艺废气排放口",
                 "废气", "010000A8900016F000169DC0", "a24088", "非甲烷总烃", "80", "mg/m³"])  # fmt: skip
    for n, (code, _, _) in enumerate(INVALID, start=1):
        rows.append([code, f"无效代码企业{n}", "水泥制造", "乐山市", "DA001", "窑尾烟囱", "废气",
                     f"51110000000{n:03d}", "a34013", "烟尘", "20", "mg/m³"])  # fmt: skip
    return rows


def _write_registry(path: Path) -> None:
    """The registry's layout: a merged title row, then the header; the water outlet's enterprise and
    outlet cells merged over its three pollutant rows (only their top cell holds the value)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.cell(1, 1, "四川省排污许可重点管理单位排放口及许可排放浓度")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(REGISTRY_HEADER))
    for c, header in enumerate(REGISTRY_HEADER, start=1):
        sheet.cell(2, c, header)
    rows = _registry_rows()
    water_first = 3 + FILLER_OUTLETS
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row, start=1):
            if water_first < r < water_first + 3 and c <= 8:
                continue  # under a merged cell
            sheet.cell(r, c, value)
    for c in range(1, 9):
        sheet.merge_cells(start_row=water_first, start_column=c, end_row=water_first + 2, end_column=c)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


# (case number, date, code, name, city, violation, fine 万元)
CASE_ROWS = [
    ("510100-2023-0001", "2023-01-05", HAND_CODE, "成都测试发电有限公司", "成都市", "超标排放污染物", "10.5"),
    ("510100-2023-0002", "2023-01-20", HAND_CODE, "成都测试发电有限公司", "成都市", "未按规定开展自行监测", ""),
    ("510700-2023-0001", "2023-01-11", UNREGISTERED, "绵阳某砖厂", "绵阳市", "未取得排污许可证排放污染物", "20"),
    ("510100-2023-0003", "2023-02-14", BAD_ORGANISATION_CODE, "绵阳测试化工有限公司", "成都市", "未批先建", "3.25"),
    ("510000-2023-0001", "2023-02-28", PUBLISHED[0], "德阳测试酒业有限公司", "四川省", "自动监测数据弄虚作假", "100"),
]
BAD_CASE = ("511100-2023-0001", "2023-02-01", INVALID[0][0], "无效代码企业1", "乐山市", "超标排放污染物", "5")


def _write_cases(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(CASES_HEADER)
        writer.writerows(rows)


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    landing = warehouse / "landing"
    _write_registry(landing / OUTLETS / "registry_2023.xlsx")
    _write_cases(landing / CASES / "2023" / "执法案件_2023-01_02.csv", CASE_ROWS)


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_invalid_credit_codes_are_quarantined_with_their_reason(warehouse: Path) -> None:
    quarantined = query(
        warehouse,
        "select json_extract_string(record, '$.credit_code'), rule, field, reason, _source_file, _source_line "
        "from quarantine.pollution_source__outlets order by _source_line",
    )
    expected_first_line = 3 + FILLER_OUTLETS + 3 + 1
    assert [(q[0], q[1], q[2]) for q in quarantined] == [(code, rule, "credit_code") for code, rule, _ in INVALID]
    for (code, _, reason), q in zip(INVALID, quarantined, strict=True):
        assert q[3].startswith(f"credit_code={code} ") and reason in q[3], q[3]
    assert [q[5] for q in quarantined] == list(range(expected_first_line, expected_first_line + len(INVALID)))
    assert {q[4] for q in quarantined} == {"pollution_source/outlets/registry_2023.xlsx"}
    # none of them reached raw or the served tables
    codes = [code for code, _, _ in INVALID]
    assert query(
        warehouse,
        "select count(*) from raw.pollution_source__outlets where list_contains(?::varchar[], credit_code)",
        [codes],
    ) == [(0,)]


def test_a_case_with_an_invalid_credit_code_is_quarantined(tmp_path: Path) -> None:
    """The cases contract applies the same check: with 20 good cases the batch publishes, alone it
    is held (100 % > 5 %); both reconcile."""
    from pipelines.ingest.deliveries import discover
    from pipelines.ingest.engine import ingest
    from tests.helpers import settings_for

    good = [(f"510100-2023-{n:04d}", "2023-03-01", HAND_CODE, "成都测试发电有限公司", "成都市", "未批先建", "")
            for n in range(10, 30)]  # fmt: skip
    _write_cases(tmp_path / "landing" / CASES / "mixed.csv", [*good, BAD_CASE])
    _write_cases(tmp_path / "landing" / CASES / "alone.csv", [BAD_CASE])
    contract = load_contract(REPO / "contracts" / "enforcement" / "cases.odcs.yaml")
    settings = settings_for(tmp_path)
    report = ingest(contract, discover(settings.landing, "enforcement", "cases"), settings)
    by_file = {
        b.delivery.relpath.rsplit("/", 1)[-1]: (b.status, b.rows_in, b.rows_published, b.rows_quarantined)
        for b in report.batches
    }
    assert by_file == {"mixed.csv": ("published", 21, 20, 1), "alone.csv": ("held", 1, 0, 1)}
    quarantined = query(
        tmp_path, "select _source_file, _source_line, rule, field, reason from quarantine.enforcement__cases order by 1"
    )
    reason = f"credit_code={BAD_CASE[2]} {INVALID[0][2]}"
    assert quarantined == [
        ("enforcement/cases/alone.csv", 2, "check_character.gb32100", "credit_code", reason),
        ("enforcement/cases/mixed.csv", 22, "check_character.gb32100", "credit_code", reason),
    ]
    assert query(tmp_path, "select count(*) from raw.enforcement__cases") == [(20,)]


def test_batches_reconcile(warehouse: Path) -> None:
    batches = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select source_file, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
            "where dataset in ('pollution_source/outlets', 'enforcement/cases')",
        )
    }
    rows_in = FILLER_OUTLETS + 3 + 1 + len(INVALID)
    assert batches["pollution_source/outlets/registry_2023.xlsx"] == (
        "published",  # 5 of 159 rows quarantined: within the contract's 5 %
        rows_in,
        rows_in - len(INVALID),
        len(INVALID),
    )
    assert batches["enforcement/cases/2023/执法案件_2023-01_02.csv"] == ("published", 5, 5, 0)
    for dataset in ("pollution_source__outlets", "enforcement__cases"):
        raw = query(warehouse, f"select count(*) from raw.{dataset}")[0][0]
        quarantine = query(warehouse, f"select count(*) from quarantine.{dataset}")[0][0]
        mine = [b for f, b in batches.items() if f.startswith(dataset.replace("__", "/"))]
        assert raw == sum(b[2] for b in mine) and quarantine == sum(b[3] for b in mine)
        assert all(b[1] == b[2] + b[3] for b in mine)


def test_outlets_enterprises_and_limits(warehouse: Path) -> None:
    outlets = query(
        warehouse,
        "select outlet_mn, outlet_code, outlet_type, hj212_system_code, credit_code, enterprise_name, region_code, "
        "pollutant_codes from core.dim_outlet order by outlet_mn",
    )
    assert len(outlets) == FILLER_OUTLETS + 2
    by_mn = {o[0]: o[1:] for o in outlets}
    assert by_mn["LD510600000001"] == (  # the merged cells filled in
        "DW001", "water", "32", PUBLISHED[0], "德阳测试酒业有限公司", "510600", ["w01001", "w01018", "w21003"]
    )  # fmt: skip
    assert by_mn["51010000000001"][1:3] == ("gas", "31")
    limits = {
        (r[0], r[1]): r[2:]
        for r in query(
            warehouse,
            "select outlet_mn, pollutant_code, pollutant_name, limit_lower, limit_upper, limit_unit "
            "from pollution_source.permitted_limits",
        )
    }
    assert len(limits) == FILLER_OUTLETS + 4
    assert limits[("LD510600000001", "w01001")] == ("pH值", Decimal(6), Decimal(9), "无量纲")
    assert limits[("LD510600000001", "w21003")] == ("氨氮", None, Decimal(10), "mg/L")
    assert limits[("51010000000150", "a21026")] == ("二氧化硫", None, Decimal(35), "mg/m³")
    enterprises = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select credit_code, region_code, registration_authority_name, organisation_type_name, "
            "registration_division_code, organisation_code, is_credit_code_valid, is_organisation_code_valid, "
            "is_registered, outlets from core.dim_enterprise",
        )
    }
    assert enterprises[HAND_CODE] == ("510100", "工商", "企业", "510100", "000000019", True, True, True, FILLER_OUTLETS)
    assert enterprises[BAD_ORGANISATION_CODE] == ("510700", "工商", "企业", "510100", "123456780", True, False, True, 1)
    assert enterprises[UNREGISTERED][-2:] == (False, 0)


def test_unknown_enterprises_are_kept_and_flagged(warehouse: Path) -> None:
    cases = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select case_number, credit_code, region_code, is_enterprise_registered from enforcement.inspection_cases",
        )
    }
    assert set(cases) == {c[0] for c in CASE_ROWS}
    assert cases["510700-2023-0001"] == (UNREGISTERED, "510700", False)
    assert [c[0] for c in cases.values() if not c[2]] == [UNREGISTERED]
    assert cases["510000-2023-0001"] == (PUBLISHED[0], "510000", True)  # a case of the provincial corps


def test_city_month_totals_by_hand(warehouse: Path) -> None:
    rows = {
        (r[0], r[1]): r[2:]
        for r in query(
            warehouse,
            "select region_code, month_start, cases, cases_fined, penalties_10k_yuan, cases_unregistered_enterprise, "
            "enterprises from enforcement.city_monthly",
        )
    }
    jan, feb = date(2023, 1, 1), date(2023, 2, 1)
    assert len(rows) == 22 * 2  # 21 cities and the province, January and February
    # (cases, fined, fines 万元, on unregistered enterprises, enterprises), added up from CASE_ROWS
    assert rows[("510100", jan)] == (2, 1, Decimal("10.5"), 0, 1)
    assert rows[("510100", feb)] == (1, 1, Decimal("3.25"), 0, 1)
    assert rows[("510700", jan)] == (1, 1, Decimal("20"), 1, 1)
    assert rows[("510700", feb)] == (0, 0, Decimal(0), 0, 0)
    assert rows[("510000", jan)] == (3, 2, Decimal("30.5"), 1, 2)  # every case of the month
    assert rows[("510000", feb)] == (2, 2, Decimal("103.25"), 0, 2)  # 成都's and the corps' own
    assert rows[("510600", feb)] == (0, 0, Decimal(0), 0, 0)  # the corps' case in 德阳 counts for the province only
