"""Demo deliveries of township centralised drinking-water sources (DEPARTMENTS.md #16).

One XLSX workbook per year, as the water-environment division sends it: one sheet titled with the
year (2023年), a title row merged across the sheet, then 序号, 市（州）, 县（市、区）, 乡镇,
水源地名称, 水源类型, the three conditions of standardised construction (是/否), the division's own
是否完成规范化建设 and 备注. Counties are real (``drinking_water_counties_sichuan.csv``, a few per
city); townships and sources are made up from common place-name stems (demo, not real sources).

Each source has a readiness that improves from year to year, so the three conditions — protection
zone, signs, isolation (in that order of difficulty) — are met by more sources each year and stay
met; the plateau prefectures (阿坝, 甘孜, 凉山) lag. The division's flag agrees with the
conditions except for a few sources (mostly reported 是 with isolation missing): the mismatch the
platform flags. Mess, in small proportions: a blank yes/no cell and a yes/no cell written another
way (已划定, √), both quarantined by the contract.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.styles import Font

COUNTIES_CSV = Path(__file__).with_name("drinking_water_counties_sichuan.csv")
DATASET = Path("water_env") / "drinking_water_sources"
HEADER = (
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
CONDITIONS = (6, 7, 8)  # 0-based columns of the three conditions in HEADER
TOWNSHIP_STEMS = (
    "太平 永兴 新华 龙泉 白马 清平 石桥 高桥 回龙 金龙 长乐 安乐 万安 复兴 永安 三溪 双河 青龙 黄桥 马鞍 "
    "观音 桂花 柏林 大兴 中和 福田 天池 石龙 文昌 兴隆 新店 玉龙 宝石 鹤林 红岩 金山"
).split()
WATER_STEMS = "龙洞 石门 白岩 清水 黄泥 双溪 青杠 马家 老鹰 凉水 桃园 杨柳 大堰 碧峰 松林".split()
SOURCE_TYPES = (("河流型", "河", 0.5), ("湖库型", "水库", 0.25), ("地下水型", "泉", 0.25))
PLATEAU = ("阿坝藏族羌族自治州", "甘孜藏族自治州", "凉山彝族自治州")

THRESHOLDS = (0.06, 0.16, 0.27)  # readiness needed for zone, signs, isolation
YEARLY_GAIN = 0.08  # readiness gained per year after the first
PLATEAU_LAG = 0.15
P_OVERCLAIM = 0.08  # a source not standardised by the conditions, reported 是
P_UNDERCLAIM = 0.01  # a standardised source reported 否
P_BLANK = 0.004  # per row: one yes/no cell left blank (quarantined)
P_OTHER_SPELLING = 0.003  # per row: one yes/no cell written 已划定 / √ (quarantined)


def _sources(rng: np.random.Generator) -> list[dict]:
    with COUNTIES_CSV.open(encoding="utf-8") as fh:
        counties = list(csv.DictReader(fh))
    sources = []
    for county in counties:
        plateau = county["city_name"] in PLATEAU
        n = int(rng.integers(4, 7))
        for stem in rng.choice(TOWNSHIP_STEMS, size=n, replace=False):
            township = stem + ("乡" if rng.random() < (0.6 if plateau else 0.2) else "镇")
            kind, water, _ = SOURCE_TYPES[rng.choice(len(SOURCE_TYPES), p=[p for _, _, p in SOURCE_TYPES])]
            sources.append(
                county
                | {
                    "township": township,
                    "name": f"{township}{rng.choice(WATER_STEMS)}{water}水源地",
                    "type": kind,
                    "readiness": float(rng.random()) - (PLATEAU_LAG if plateau else 0.0),
                }
            )
    return sources


def _write_year(path: Path, year: int, first_year: int, sources: list[dict], rng: np.random.Generator) -> int:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = f"{year}年"
    sheet.cell(1, 1, f"{year}年四川省乡镇级集中式饮用水水源地规范化建设情况表").font = Font(bold=True)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    for c, header in enumerate(HEADER, start=1):
        sheet.cell(2, c, header)
    gain = YEARLY_GAIN * (year - first_year)
    for n, s in enumerate(sources, start=1):
        met = [s["readiness"] + gain >= t for t in THRESHOLDS]
        standardised = all(met)
        reported = standardised
        if not standardised and rng.random() < P_OVERCLAIM:
            reported = True
        elif standardised and rng.random() < P_UNDERCLAIM:
            reported = False
        cells = [n, s["city_name"], s["county_name"], s["township"], s["name"], s["type"]]
        cells += ["是" if m else "否" for m in (*met, reported)]
        cells.append(None)  # 备注
        roll = rng.random()
        if roll < P_BLANK:
            cells[int(rng.choice(CONDITIONS))] = None
        elif roll < P_BLANK + P_OTHER_SPELLING:
            column = int(rng.choice(CONDITIONS))
            cells[column] = "已划定" if column == CONDITIONS[0] else "√"
        for c, value in enumerate(cells, start=1):
            if value is not None:
                sheet.cell(n + 2, c, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return len(sources)


def generate_drinking_water_sources(landing: Path, start: date, end: date, seed: int) -> dict:
    """One workbook for every year of [start, end], the same sources every year."""
    sources = _sources(np.random.default_rng([seed, 16]))
    folder = landing / DATASET
    rows = 0
    for year in range(start.year, end.year + 1):
        rng = np.random.default_rng([seed, 16, year])
        path = folder / f"四川省乡镇级集中式饮用水水源地规范化建设情况_{year}年.xlsx"
        rows += _write_year(path, year, start.year, sources, rng)
    return {"files": end.year - start.year + 1, "source_years": rows, "sources": len(sources)}
