"""Demo deliveries of the surface-water assessment sections (DEPARTMENTS.md #4).

One XLSX workbook per year, one sheet per month (``2023年01月``), as the monitoring centre's water
office sends them: a title row merged across the sheet, the basic columns merged over two header
rows, the 24 GB 3838 items under a merged 监测项目 heading, with units in the headers. Values are
simulated per section from a pollution factor (``water_sections_sichuan.csv``): seasonal water
temperature and dissolved oxygen, nutrients higher in the dry season, metals mostly below their
detection limits.

The mess, in small proportions: below-detection values written ``0.001L``, ``<0.001``, ``ND`` or
``未检出``; full-width digits; items not measured (blank); a few unreadable lab notes (quarantined
by the contract); target classes in Roman, Arabic and Chinese numerals.
"""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.styles import Alignment, Font

SECTIONS_CSV = Path(__file__).with_name("water_sections_sichuan.csv")
DATASET = Path("env_monitoring") / "water_section_monthly"

BASIC = (
    ("断面编码", "section_code"),
    ("断面名称", "section_name"),
    ("河流", "river"),
    ("流域", "basin"),
    ("所在城市", "city_name"),
    ("断面级别", "section_level"),
    ("水体类型", "water_body"),
    ("目标水质类别", "target_class"),
)
# item, header, decimals, detection limit (None: always quantified)
ITEMS = (
    ("water_temperature", "水温(℃)", 1, None),
    ("ph", "pH值", 2, None),
    ("dissolved_oxygen", "溶解氧(mg/L)", 1, None),
    ("codmn", "高锰酸盐指数(mg/L)", 1, 0.5),
    ("cod", "化学需氧量(mg/L)", 0, 4),
    ("bod5", "五日生化需氧量(mg/L)", 1, 0.5),
    ("nh3_n", "氨氮(mg/L)", 3, 0.025),
    ("tp", "总磷(mg/L)", 3, 0.01),
    ("tn", "总氮(mg/L)", 2, 0.05),
    ("cu", "铜(mg/L)", 3, 0.001),
    ("zn", "锌(mg/L)", 3, 0.05),
    ("fluoride", "氟化物(mg/L)", 2, 0.05),
    ("se", "硒(mg/L)", 4, 0.0004),
    ("arsenic", "砷(mg/L)", 4, 0.0003),
    ("hg", "汞(mg/L)", 5, 0.00004),
    ("cd", "镉(mg/L)", 4, 0.0001),
    ("cr6", "铬（六价）(mg/L)", 3, 0.004),
    ("pb", "铅(mg/L)", 3, 0.001),
    ("cyanide", "氰化物(mg/L)", 3, 0.001),
    ("volatile_phenol", "挥发酚(mg/L)", 4, 0.0003),
    ("petroleum", "石油类(mg/L)", 2, 0.01),
    ("las", "阴离子表面活性剂(mg/L)", 2, 0.05),
    ("sulfide", "硫化物(mg/L)", 3, 0.005),
    ("fecal_coliform", "粪大肠菌群(个/L)", 0, None),
)
# typical level at pollution factor 1 (mg/L) and how strongly it follows the factor
LEVEL = {
    "codmn": (2.2, 1.0),
    "cod": (9.0, 1.0),
    "bod5": (1.8, 1.0),
    "nh3_n": (0.16, 1.6),
    "tp": (0.07, 1.3),
    "tn": (1.1, 1.0),
    "cu": (0.0012, 0.6),
    "zn": (0.02, 0.6),
    "fluoride": (0.25, 0.4),
    "se": (0.0003, 0.3),
    "arsenic": (0.0009, 0.5),
    "hg": (0.00002, 0.5),
    "cd": (0.00008, 0.6),
    "cr6": (0.003, 0.5),
    "pb": (0.0009, 0.6),
    "cyanide": (0.0008, 0.5),
    "volatile_phenol": (0.0002, 0.8),
    "petroleum": (0.012, 1.0),
    "las": (0.03, 1.0),
    "sulfide": (0.004, 1.0),
}
LAKE_TP = 0.025  # lakes hold less phosphorus than rivers at the same factor

P_NOT_MEASURED = 0.03  # per metal or trace item: blank
P_FULL_WIDTH = 0.01  # per value: full-width digits
P_LAB_NOTE = 0.0004  # per value: an unreadable note instead of a number (quarantined)
LAB_NOTES = ("待复测", "样品破损", "见备注")
BELOW_FORMS = ("{dl}L", "<{dl}", "ND", "未检出")
_FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _sections() -> list[dict]:
    with SECTIONS_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else str(int(round(value)))


def _value(item: str, section: dict, month: date, rng: np.random.Generator) -> str | None:
    factor = float(section["pollution"])
    season = math.cos(2 * math.pi * (month.month - 7) / 12)  # +1 in July, -1 in January
    plateau = section["basin"] in ("雅砻江",) or "自治州" in section["city_name"]
    temperature = 15 + 8 * season - (5 if plateau else 0) + rng.normal(0, 1.2)
    decimals, limit = next((d, dl) for code, _, d, dl in ITEMS if code == item)
    if item == "water_temperature":
        value = max(1.0, temperature)
    elif item == "ph":
        value = float(np.clip(rng.normal(7.8 + 0.05 * factor, 0.25), 6.3, 8.9))
    elif item == "dissolved_oxygen":
        value = max(1.5, 10.2 - 0.16 * temperature - 0.9 * (factor - 1) + rng.normal(0, 0.5))
    elif item == "fecal_coliform":
        value = 700 * factor**2 * rng.lognormal(0, 0.8)
    else:
        base, power = LEVEL[item]
        if item == "tp" and section["water_body"] == "湖库":
            base = LAKE_TP
        dry_season = 1 + 0.25 * -season if item in ("nh3_n", "tp", "tn") else 1.0
        value = base * factor**power * dry_season * rng.lognormal(0, 0.35)
    if limit is not None and value < limit:
        form = BELOW_FORMS[rng.integers(len(BELOW_FORMS))]
        return form.format(dl=f"{limit:g}" if limit >= 1e-4 else _number(limit, decimals))
    return _number(value, decimals)


def _messy(text: str | None, item: str, rng: np.random.Generator) -> str | None:
    if item in LEVEL and item not in ("codmn", "cod", "bod5", "nh3_n", "tp", "tn") and rng.random() < P_NOT_MEASURED:
        return None
    if text is None:
        return None
    roll = rng.random()
    if roll < P_LAB_NOTE:
        return LAB_NOTES[rng.integers(len(LAB_NOTES))]
    if roll < P_LAB_NOTE + P_FULL_WIDTH:
        return text.translate(_FULL_WIDTH)
    return text


def _write_workbook(path: Path, year: int, months: list[date], sections: list[dict], rng: np.random.Generator) -> int:
    book = openpyxl.Workbook()
    book.remove(book.active)
    columns = len(BASIC) + len(ITEMS)
    rows = 0
    for month in months:
        sheet = book.create_sheet(f"{month.year}年{month.month:02d}月")
        sheet.cell(1, 1, f"{month.year}年{month.month}月四川省地表水考核断面水质监测结果").font = Font(bold=True)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=columns)
        for c, (header, _) in enumerate(BASIC, start=1):
            sheet.cell(2, c, header)
            sheet.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
        sheet.cell(2, len(BASIC) + 1, "监测项目")
        sheet.merge_cells(start_row=2, start_column=len(BASIC) + 1, end_row=2, end_column=columns)
        for c, (_, header, _, _) in enumerate(ITEMS, start=len(BASIC) + 1):
            sheet.cell(3, c, header).alignment = Alignment(wrap_text=True)
        for r, section in enumerate(sections, start=4):
            for c, (_, key) in enumerate(BASIC, start=1):
                sheet.cell(r, c, section[key])
            for c, (item, _, _, _) in enumerate(ITEMS, start=len(BASIC) + 1):
                text = _messy(_value(item, section, month, rng), item, rng)
                if text is not None:
                    sheet.cell(r, c, text)
            rows += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return rows


def generate_water_sections(landing: Path, start: date, end: date, seed: int) -> dict:
    """One workbook per year of [start, end], a sheet for every month that begins in the range."""
    sections = _sections()
    folder = landing / DATASET
    files, rows = 0, 0
    for year in range(start.year, end.year + 1):
        months = [date(year, m, 1) for m in range(1, 13) if start <= date(year, m, 1) <= end]
        if start.year == year and start.day != 1 and date(year, start.month, 1) not in months:
            months.insert(0, date(year, start.month, 1))
        if not months:
            continue
        rng = np.random.default_rng([seed, 3838, year])
        path = folder / str(year) / f"四川省地表水考核断面监测结果_{year}.xlsx"
        rows += _write_workbook(path, year, months, sections, rng)
        files += 1
    return {"files": files, "section_months": rows, "sections": len(sections)}
