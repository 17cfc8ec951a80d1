"""Demo deliveries of the pollutant discharge permit registry (DEPARTMENTS.md #6).

`generate_outlets(landing, start, end, seed)` writes one registry extract per year of the span,
`pollution_source/outlets/<YYYY>/四川省排污许可排放口信息_<YYYY>.xlsx`, as the permit platform exports
it: a merged title row, one header row, one row per outlet and monitored pollutant, the enterprise's
cells (credit code, name, industry, city) merged over its rows and the outlet's cells (number,
name, type, MN) over the outlet's rows. About 150 enterprises across the 21 cities with about 300
outlets (`demo_enterprises`): thermal power, cement, steel, baijiu, paper, chemicals, municipal
sewage plants …; an extract lists the enterprises permitted by then (a few are added each year).

Credit codes are built as GB 32100 says, from the check-character tables in `standards/`
(registration authority 9 工商, type 1 企业, the city's GB/T 2260 code, a GB 11714 organisation
code, the check character). Permitted limits are simulated values shaped like the permits of each
industry, not taken from any emission standard.

Mess (small proportions, deterministic from the seed): in each extract 1.5 % of the enterprises
(at least one) carry a mistyped credit code — one character changed, two neighbours swapped, or the
letter O written for the digit 0 — which the contract's GB 32100 check sends to quarantine with all
the enterprise's rows; about 3 % of the outlets declare an MN that is not the one their device
sends (`Outlet.packet_mn`, for the HJ 212 packet generator).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.styles import Font

from pipelines import standards
from pipelines.check_characters import load_schemes

REPO_ROOT = Path(__file__).resolve().parents[2]
STANDARDS_DIR = REPO_ROOT / "standards"
DATASET = Path("pollution_source") / "outlets"

HEADER = (
    "统一社会信用代码",
    "单位名称",
    "行业类别",
    "所在地市",
    "排放口编号",
    "排放口名称",
    "排放口类型",
    "监测设备MN号",
    "污染物代码",
    "污染物名称",
    "许可排放浓度限值",
    "计量单位",
)
ENTERPRISE_COLUMNS = 4  # credit code … city: merged over the enterprise's rows
OUTLET_COLUMNS = 8  # … through the MN: merged over the outlet's rows

# enterprises per city (about 150), more where industry is
CITY_ENTERPRISES = {
    "510100": 18, "510300": 7, "510400": 9, "510500": 9, "510600": 10, "510700": 9, "510800": 5,
    "510900": 6, "511000": 7, "511100": 9, "511300": 7, "511400": 6, "511500": 10, "511600": 6,
    "511700": 8, "511800": 5, "511900": 4, "512000": 5, "513200": 3, "513300": 2, "513400": 5,
}  # fmt: skip
GAS, WATER = "废气", "废水"
# industry → (name suffix, weight, outlets: [(type, outlet name, [(pollutant code, limit)])])
# limits are simulated permit values (mg/m³ for gas, mg/L for water; pH a range)
PH = ("w01001", "6-9")
BOILER = (GAS, "锅炉烟囱", [("a21026", "50"), ("a21002", "150"), ("a34013", "20")])
INDUSTRIES = {
    "火力发电": ("发电有限公司", 2, [
        (GAS, "锅炉烟囱", [("a21026", "35"), ("a21002", "50"), ("a34013", "10")]),
        (WATER, "废水总排口", [("w01018", "60"), ("w21003", "8"), PH]),
    ]),
    "水泥制造": ("水泥有限公司", 3, [
        (GAS, "窑尾烟囱", [("a21026", "100"), ("a21002", "320"), ("a34013", "20")]),
        (GAS, "窑头烟囱", [("a34013", "20")]),
    ]),
    "炼钢": ("钢铁有限公司", 1, [
        (GAS, "烧结机头烟囱", [("a21026", "50"), ("a21002", "100"), ("a34013", "10")]),
        (GAS, "转炉二次烟气排放口", [("a34013", "10")]),
        (WATER, "废水总排口", [("w01018", "50"), ("w21003", "5"), PH]),
    ]),
    "白酒制造": ("酒业有限公司", 3, [
        (WATER, "废水总排口", [("w01018", "100"), ("w21003", "10"), ("w21011", "1"), ("w21001", "20"), PH]),
        BOILER,
    ]),
    "污水处理及其再生利用": ("水务有限公司", 4, [
        (WATER, "出水总排口", [("w01018", "50"), ("w21003", "5"), ("w21011", "0.5"), ("w21001", "15"), PH]),
    ]),
    "机制纸及纸板制造": ("纸业有限公司", 2, [
        (WATER, "废水总排口", [("w01018", "80"), ("w21003", "8"), ("w21011", "0.8"), ("w21001", "12"), PH]),
        BOILER,
    ]),
    "有机化学原料制造": ("化工有限公司", 2, [
        (GAS, "工艺废气排放口", [("a24088", "80")]),
        (WATER, "废水总排口", [("w01018", "60"), ("w21003", "8"), PH]),
    ]),
    "化学药品原料药制造": ("制药有限公司", 1, [
        (GAS, "工艺废气排放口", [("a24088", "60")]),
        (WATER, "废水总排口", [("w01018", "120"), ("w21003", "25"), PH]),
    ]),
    "建筑陶瓷制品制造": ("陶瓷有限公司", 1, [
        (GAS, "窑炉烟囱", [("a21026", "50"), ("a21002", "180"), ("a34013", "30")]),
    ]),
    "牲畜屠宰": ("食品有限公司", 1, [
        (WATER, "废水总排口", [("w01018", "80"), ("w21003", "15"), PH]),
    ]),
}  # fmt: skip
CITY_INDUSTRY = {"510400": "炼钢", "511500": "白酒制造", "510500": "白酒制造", "511100": "水泥制造"}
TRADE_NAMES = "川蜀锦华兴盛泰安宏达鑫源金沙岷江嘉陵沱江峨眉青城天府蜀南龙泉凯宇顺通长虹东方明珠红旗永丰新希"
UNITS = {GAS: "mg/m³", WATER: "mg/L"}
P_MISTYPED_CODE = 0.015  # per enterprise and extract
P_MN_MISMATCH = 0.03  # per outlet: the device sends another MN
P_NEW_ENTERPRISE = (0.8, 0.1, 0.1)  # permitted by the first year of the span, one year later, two years later


@dataclass
class Outlet:
    outlet_code: str
    outlet_name: str
    outlet_type_zh: str
    mn: str  # as declared in the permit
    packet_mn: str  # as the device sends it in HJ 212 packets (differs for a few: the mess)
    limits: list[tuple[str, str]]  # (HJ 212-2017 code, permitted limit)


@dataclass
class Enterprise:
    credit_code: str
    name: str
    industry: str
    region_code: str
    city_name: str
    permitted_from_offset: int  # years after the span's first year when it enters the registry
    outlets: list[Outlet] = field(default_factory=list)


def _regions() -> dict[str, str]:
    table = next(t for t in standards.load_catalog(STANDARDS_DIR) if t.name == "region")
    return {r["region_code"]: r["name_zh"] for r in standards.read_rows(table)}


def pollutant_names() -> dict[str, str]:
    table = next(t for t in standards.load_catalog(STANDARDS_DIR) if t.name == "hj212_pollutant_codes")
    return {r["code_2017"]: r["name_zh"] for r in standards.read_rows(table)}


@functools.cache
def _schemes() -> dict:
    return load_schemes(STANDARDS_DIR)


def credit_code(region_code: str, rng: np.random.Generator) -> str:
    """A valid unified social credit code of an enterprise (9 工商, 1 企业) registered in the city."""
    schemes = _schemes()
    usc, org = schemes["gb32100"], schemes["gb11714"]
    alphabet = [c for c in usc.body_values if c in org.body_values]
    if rng.random() < 0.6:  # an organisation code from before 2015: digits
        body = "".join(str(d) for d in rng.integers(0, 10, 8))
    else:  # issued with the credit code: MA + letters and digits
        body = "MA" + "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 6))
    organisation_code = body + org.check_character(body)
    head = "91" + region_code + organisation_code
    return head + usc.check_character(head)


def mistype(code: str, rng: np.random.Generator) -> str:
    """The code as a clerk mistyped it: one character changed, two neighbours swapped, or O for 0."""
    alphabet = list(_schemes()["gb32100"].body_values)
    kind = rng.integers(3)
    if kind == 2 and "0" in code[8:]:
        at = code.index("0", 8)
        return code[:at] + "O" + code[at + 1 :]
    chars = list(code)
    if kind == 1:
        at = int(rng.integers(8, 16))
        if chars[at] != chars[at + 1]:
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
            return "".join(chars)
    at = int(rng.integers(8, 17))
    chars[at] = next(c for c in rng.permutation(alphabet) if c != chars[at])
    return "".join(chars)


def _mn(region_code: str, number: int, rng: np.random.Generator) -> str:
    if rng.random() < 0.5:  # 14-character MN: city code, enterprise and outlet numbers
        return f"{region_code}{number:08d}"
    return "".join(f"{b:02X}" for b in rng.integers(0, 256, 12))  # a vendor's 24-character MN


def demo_enterprises(seed: int) -> list[Enterprise]:
    """The permitted enterprises and their outlets: deterministic from the seed (also used by the
    enforcement cases and, later, the HJ 212 packets)."""
    rng = np.random.default_rng([seed, 32100])
    regions = _regions()
    industries = list(INDUSTRIES)
    weights = np.array([INDUSTRIES[i][1] for i in industries], dtype=float)
    enterprises = []
    number = 0
    for region_code, count in CITY_ENTERPRISES.items():
        city = regions[region_code]
        short = city.removesuffix("市") if city.endswith("市") else city[:2]  # 攀枝花, 阿坝
        used_names: set[str] = set()
        for _ in range(count):
            if region_code in CITY_INDUSTRY and rng.random() < 0.4:
                industry = CITY_INDUSTRY[region_code]
            else:
                industry = industries[rng.choice(len(industries), p=weights / weights.sum())]
            suffix, _, profile = INDUSTRIES[industry]
            while True:
                trade = "".join(rng.choice(list(TRADE_NAMES), 2))
                name = f"{short}{trade}{suffix}"
                if name not in used_names:
                    used_names.add(name)
                    break
            enterprise = Enterprise(
                credit_code=credit_code(region_code, rng),
                name=name,
                industry=industry,
                region_code=region_code,
                city_name=city,
                permitted_from_offset=int(rng.choice(3, p=P_NEW_ENTERPRISE)),
            )
            counters = {GAS: 0, WATER: 0}
            for outlet_type, outlet_name, limits in profile:
                # a plant may run several lines: a second outlet of the same kind, now and then
                for line in range(1 + int(rng.random() < 0.25)):
                    counters[outlet_type] += 1
                    number += 1
                    mn = _mn(region_code, number, rng)
                    sends = mn if rng.random() >= P_MN_MISMATCH else _mn(region_code, number + 90000, rng)
                    enterprise.outlets.append(
                        Outlet(
                            outlet_code=f"D{'A' if outlet_type == GAS else 'W'}{counters[outlet_type]:03d}",
                            outlet_name=outlet_name + (f"{line + 1}#" if line else ""),
                            outlet_type_zh=outlet_type,
                            mn=mn,
                            packet_mn=sends,
                            limits=list(limits),
                        )
                    )
            enterprises.append(enterprise)
    return enterprises


def _write_extract(path: Path, year: int, enterprises: list[Enterprise], rng: np.random.Generator) -> tuple[int, int]:
    names = pollutant_names()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "排放口信息"
    sheet.cell(1, 1, f"四川省排污许可重点管理单位排放口及许可排放浓度（截至{year}年12月31日）").font = Font(bold=True)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    for c, header in enumerate(HEADER, start=1):
        sheet.cell(2, c, header).font = Font(bold=True)
    row = 3
    # a fixed share of the enterprises, so that an extract's quarantined rows stay well within the
    # contract's tolerance whatever the span
    mistyped = set(rng.choice(len(enterprises), max(1, round(P_MISTYPED_CODE * len(enterprises))), replace=False))
    for n, enterprise in enumerate(enterprises):
        code = mistype(enterprise.credit_code, rng) if n in mistyped else enterprise.credit_code
        first_row = row
        for outlet in enterprise.outlets:
            outlet_first = row
            for pollutant, limit in outlet.limits:
                unit = "无量纲" if pollutant == PH[0] else UNITS[outlet.outlet_type_zh]
                values = (pollutant, names[pollutant], limit, unit)
                for c, value in enumerate(values, start=OUTLET_COLUMNS + 1):
                    sheet.cell(row, c, value)
                row += 1
            for c, value in enumerate(
                (outlet.outlet_code, outlet.outlet_name, outlet.outlet_type_zh, outlet.mn), start=ENTERPRISE_COLUMNS + 1
            ):
                sheet.cell(outlet_first, c, value)
                if row - 1 > outlet_first:
                    sheet.merge_cells(start_row=outlet_first, start_column=c, end_row=row - 1, end_column=c)
        for c, value in enumerate((code, enterprise.name, enterprise.industry, enterprise.city_name), start=1):
            sheet.cell(first_row, c, value)
            if row - 1 > first_row:
                sheet.merge_cells(start_row=first_row, start_column=c, end_row=row - 1, end_column=c)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return row - 3, len(mistyped)


def generate_outlets(landing: Path, start: date, end: date, seed: int) -> dict:
    """One registry extract per year of [start, end]: the enterprises permitted by then."""
    enterprises = demo_enterprises(seed)
    files = rows = mistyped = 0
    for year in range(start.year, end.year + 1):
        listed = [e for e in enterprises if start.year + e.permitted_from_offset <= year]
        rng = np.random.default_rng([seed, 32100, year])
        path = landing / DATASET / str(year) / f"四川省排污许可排放口信息_{year}.xlsx"
        n, bad = _write_extract(path, year, listed, rng)
        files, rows, mistyped = files + 1, rows + n, mistyped + bad
    return {
        "files": files,
        "rows": rows,
        "enterprises": len(enterprises),
        "outlets": sum(len(e.outlets) for e in enterprises),
        "mistyped_credit_codes": mistyped,
    }
