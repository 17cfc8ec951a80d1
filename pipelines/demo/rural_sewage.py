"""Demo deliveries of administrative villages' domestic sewage treatment (DEPARTMENTS.md #8).

One CSV per year, as the Agriculture and Rural Affairs department exports it from Excel on Chinese
Windows (GBK, CRLF): ``agriculture/rural_sewage_villages/四川省行政村生活污水治理情况_<year>年.csv`` with
序号, 统计年度, 市（州）, 县（市、区）, 县级代码, 乡镇（街道）, 行政村, 行政村代码, 是否完成生活污水治理,
治理模式, 完成年份.

FOR DEMO PURPOSES ONLY: the cities are the 21 real ones (standards.region), but the counties, their
six-digit codes, townships and villages are invented. No verified GB/T 2260 county list is on
hand, so each city's counties get codes under the city's four-digit prefix (5101xx for 成都市,
numbered from 21) that need not be real county codes; villages get 12-digit codes in the 统计用区划代码
structure (county 6 + township 3 + village 3, standards.village_code_structure). About 2,000
villages in all.

Each village has a readiness; it counts as treated from the first year its readiness clears a
threshold that falls by a fixed step each year, so the province's share rises from about 55% in
2021 to about 72% in 2023 and a treated village stays treated, its 完成年份 that first year. The
plateau prefectures (阿坝, 甘孜, 凉山) lag. A treated village keeps one mode (纳入城镇管网, 集中处理,
分散处理; more 分散处理 on the plateau); an untreated one reports 无. Villages, modes and completion
years come from a generator keyed on the seed alone, so a village-year does not depend on the span.

The mess, in small proportions, drawn per year: a village code under a neighbouring county of the
same city (its first six digits are not the row's 县级代码: quarantined); a village listed twice in one
file (an exact repeat: published once), and now and then twice with different values (both lines
quarantined as a primary-key conflict); a row treated 是 with the mode 无 (passes, flagged
inconsistent in the theme).
"""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.demo.counties import demo_counties

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASET = Path("agriculture") / "rural_sewage_villages"
HEADER = (
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
)
TOWNSHIP_STEMS = "太平 永兴 新华 龙泉 白马 清平 石桥 高桥 回龙 金龙 长乐 万安 复兴 三溪 双河 青龙".split()
VILLAGE_STEMS = "桃园 杨柳 松林 竹林 梨花 石板 大湾 新村 高峰 团结 和平 光明 胜利 红星 金星 先锋 民主 联合".split()

BASE_YEAR = 2021
THRESHOLD_BASE = 0.42  # readiness a village needs to be treated by the end of 2021 (≈55% province-wide)
YEARLY_STEP = 0.085  # the threshold falls by this each year (≈72% in 2023)
PLATEAU_LAG = 0.2
EARLIEST_COMPLETION = 2012
MODES = (("纳入城镇管网", 0.25, 0.05), ("集中处理", 0.45, 0.35), ("分散处理", 0.30, 0.60))  # name, basin, plateau
P_WRONG_COUNTY = 0.004  # per row: the village code of a neighbouring county (quarantined)
P_EXACT_REPEAT = 0.003  # per row: listed again, identically (published once)
P_CONFLICT = 0.001  # per row: listed again with the other 是/否 (both lines quarantined)
P_MODE_MISMATCH = 0.005  # per treated row: 是 with the mode 无 (passes, flagged)


def _villages(seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 8])
    villages = []
    for demo_county in demo_counties():
        plateau = demo_county.plateau
        county_code = demo_county.county_code
        county = {
            "city": demo_county.city_name,
            "county": demo_county.county_name,
            "county_code": county_code,
            "plateau": plateau,
        }
        townships = rng.choice(TOWNSHIP_STEMS, size=int(rng.integers(3, 5)), replace=False)
        for t, t_stem in enumerate(townships, start=1):
            township = t_stem + ("乡" if rng.random() < (0.6 if plateau else 0.2) else "镇")
            for v, v_stem in enumerate(rng.choice(VILLAGE_STEMS, size=int(rng.integers(4, 10)), replace=False), 1):
                readiness = float(rng.random()) - (PLATEAU_LAG if plateau else 0.0)
                completed = BASE_YEAR + math.ceil((THRESHOLD_BASE - readiness) / YEARLY_STEP)
                weights = [p if not plateau else q for _, p, q in MODES]
                villages.append(
                    county
                    | {
                        "township": township,
                        "village": f"{v_stem}村",
                        "code": f"{county_code}{t:03d}{v:03d}",
                        "completed": max(EARLIEST_COMPLETION, completed),
                        "mode": MODES[int(rng.choice(len(MODES), p=weights))][0],
                    }
                )
    return villages


def _row(village: dict, year: int) -> list:
    treated = village["completed"] <= year
    return [
        year,
        village["city"],
        village["county"],
        village["county_code"],
        village["township"],
        village["village"],
        village["code"],
        "是" if treated else "否",
        village["mode"] if treated else "无",
        village["completed"] if treated else "",
    ]


def _write_year(path: Path, year: int, villages: list[dict], rng: np.random.Generator) -> int:
    by_city: dict[str, list[str]] = {}
    for v in villages:
        codes = by_city.setdefault(v["city"], [])
        if v["county_code"] not in codes:
            codes.append(v["county_code"])
    rows = []
    for village in villages:
        row = _row(village, year)
        roll = rng.random()
        if roll < P_WRONG_COUNTY:  # the code of the same-numbered village of a neighbouring county
            others = [c for c in by_city[village["city"]] if c != village["county_code"]]
            row[6] = str(rng.choice(others)) + village["code"][6:]
        elif roll < P_WRONG_COUNTY + P_MODE_MISMATCH and row[7] == "是":
            row[8] = "无"
        rows.append(row)
        roll = rng.random()
        if roll < P_EXACT_REPEAT:
            rows.append(list(row))
        elif roll < P_EXACT_REPEAT + P_CONFLICT and row[7] == "是":
            rows.append([*row[:7], "否", "无", ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([n, *row] for n, row in enumerate(rows, start=1))
    return len(rows)


def generate_rural_sewage_villages(landing: Path, start: date, end: date, seed: int) -> dict:
    """One file for every year of [start, end], the same villages every year."""
    villages = _villages(seed)
    rows = 0
    for year in range(start.year, end.year + 1):
        path = landing / DATASET / f"四川省行政村生活污水治理情况_{year}年.csv"
        rows += _write_year(path, year, villages, np.random.default_rng([seed, 8, year]))
    return {"files": end.year - start.year + 1, "rows": rows, "villages": len(villages)}
