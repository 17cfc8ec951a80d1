"""Demo deliveries of the Forestry and Grassland Administration (DEPARTMENTS.md #14).

Two CSV datasets in UTF-8 with a byte-order mark (as the forestry monitoring system exports them),
one file per year each:

- ``forestry/land_cover_county/<year>年县域森林草地湿地面积.csv``: 统计年度, 市（州）, 县（市、区）, 县级代码,
  国土面积(公顷), 森林面积(公顷), 草地面积(公顷), 湿地面积(公顷);
- ``forestry/protected_areas/<year>年自然保护地名录.csv``: 统计年度, 自然保护地编码, 自然保护地名称, 类型,
  级别, 市（州）, 县（市、区）, 县级代码, 面积(公顷), 设立年份 — the protected areas in force at the end of
  the year; codes as the contract designs them (county code + type letters of
  standards.protected_area_types + number).

FOR DEMO PURPOSES ONLY: the counties are the invented ones of ``pipelines/demo/counties.py`` (their
invented land area is the 国土面积), and the areas are invented around plausible levels: forest
about 30–50% of a basin county and 25–45% of a plateau one (Sichuan's coverage is about 40%),
grassland a few percent in the basin and a third or more on the plateau, wetland 1–3% in the basin
and up to 10% on the plateau; forest grows by some 0.3 points of the land a year. Each county gets
zero to four protected areas (nature reserves, forest parks, wetland parks, scenic areas,
geoparks; larger reserves on the plateau), a few established during the demo years, and one
plateau county holds the seat of a national park established in 2021; every draw is keyed on the
seed alone, so a county-year does not depend on the span.

The mess, in small proportions, in every yearly file: land cover — one county's 国土面积 entered in
平方公里 instead of 公顷 (the three areas now exceed it: quarantined), re-delivered in 公顷 by a
correction file (``…_更正.csv``) arriving an hour later; protected areas — one area's type written
with its level (森林公园（省级）, not a type of the code table: quarantined) and, from the second year,
one area listed under the neighbouring county while its code keeps the old county's digits
(quarantined).
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.demo.counties import County, demo_counties

LAND_COVER = Path("forestry") / "land_cover_county"
PROTECTED_AREAS = Path("forestry") / "protected_areas"
LAND_COVER_HEADER = (
    "统计年度",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "国土面积(公顷)",
    "森林面积(公顷)",
    "草地面积(公顷)",
    "湿地面积(公顷)",
)
PROTECTED_HEADER = (
    "统计年度",
    "自然保护地编码",
    "自然保护地名称",
    "类型",
    "级别",
    "市（州）",
    "县（市、区）",
    "县级代码",
    "面积(公顷)",
    "设立年份",
)
BASE_YEAR = 2021
HA_PER_KM2 = 100
# shares of the land in the base year: (basin range, plateau range)
SHARES = {
    "forest": ((0.30, 0.50), (0.25, 0.45)),
    "grass": ((0.02, 0.08), (0.30, 0.45)),
    "wet": ((0.01, 0.03), (0.03, 0.10)),
}
FOREST_GAIN = 0.003  # share of the land turned forest each year
# type name_zh, code letters, weight, area range basin (ha), area range plateau (ha), levels with weights
TYPES = (
    ("自然保护区", "ZR", 0.35, (1_000, 30_000), (20_000, 300_000), (("国家级", 0.2), ("省级", 0.4), ("市县级", 0.4))),
    ("森林公园", "SL", 0.25, (500, 8_000), (2_000, 20_000), (("国家级", 0.3), ("省级", 0.7))),
    ("湿地公园", "SD", 0.15, (200, 3_000), (1_000, 30_000), (("国家级", 0.4), ("省级", 0.6))),
    ("风景名胜区", "FJ", 0.15, (1_000, 20_000), (5_000, 80_000), (("国家级", 0.3), ("省级", 0.7))),
    ("地质公园", "DZ", 0.10, (1_000, 15_000), (5_000, 50_000), (("国家级", 0.5), ("省级", 0.5))),
)
FEATURES = "龙门山 青峰 白云 翠屏 天台 金顶 云雾 碧水 鹤鸣 玉泉 紫荆 梅岭".split()
NATIONAL_PARK = ("大熊猫国家公园", "国家公园", "GY", "国家级", 1_930_000.0, 2021)  # listed under one county


def _land_cover(county: County, year: int, seed: int) -> list:
    rng = np.random.default_rng([seed, 14, int(county.county_code)])
    land = county.area_km2 * HA_PER_KM2
    forest, grass, wet = (float(rng.uniform(*ranges[county.plateau])) for ranges in SHARES.values())
    drift = np.random.default_rng([seed, 14, int(county.county_code), year]).normal(0, 0.0005, size=3)
    forest += FOREST_GAIN * (year - BASE_YEAR) + drift[0]
    grass += drift[1] - FOREST_GAIN * (year - BASE_YEAR) / 2  # new forest partly on former grassland
    wet += drift[2]
    areas = [round(land * max(0.0, share), 2) for share in (forest, grass, wet)]
    return [year, county.city_name, county.county_name, county.county_code, round(land, 2), *areas]


def _protected_areas(seed: int) -> list[dict]:
    """Every protected area of the demo with the years it is in force (established … revoked)."""
    rng = np.random.default_rng([seed, 14, 0])
    areas = []
    counties = demo_counties()
    for county in counties:
        numbers: dict[str, int] = {}
        features = rng.choice(FEATURES, size=int(rng.integers(0, 5)), replace=False)  # one name each
        for feature in features:
            name, letters, _, basin, plateau, levels = TYPES[int(rng.choice(len(TYPES), p=[t[2] for t in TYPES]))]
            numbers[letters] = numbers.get(letters, 0) + 1
            level = levels[int(rng.choice(len(levels), p=[w for _, w in levels]))][0]
            established = int(rng.integers(1980, 2024)) if rng.random() < 0.92 else int(rng.integers(2021, 2024))
            areas.append(
                {
                    "county": county,
                    "code": f"{county.county_code}{letters}{numbers[letters]:03d}",
                    "name": f"{county.county_name[:-1]}{feature}{name}",
                    "type": name,
                    "level": level,
                    "area": round(float(rng.uniform(*(plateau if county.plateau else basin))), 2),
                    "established": established,
                    "revoked": None,
                }
            )
    # 自然保护地整合优化: one city-county reserve merged into another area from 2022 on
    local = [a for a in areas if a["level"] == "市县级" and a["established"] < BASE_YEAR]
    if local:
        local[int(rng.integers(len(local)))]["revoked"] = BASE_YEAR + 1
    seat = [c for c in counties if c.plateau][0]
    name, type_name, letters, level, area, established = NATIONAL_PARK
    areas.append(
        {
            "county": seat,
            "code": f"{seat.county_code}{letters}001",
            "name": name,
            "type": type_name,
            "level": level,
            "area": area,
            "established": established,
            "revoked": None,
        }
    )
    return areas


def _protected_row(area: dict, year: int) -> list:
    county = area["county"]
    return [
        year,
        area["code"],
        area["name"],
        area["type"],
        area["level"],
        county.city_name,
        county.county_name,
        county.county_code,
        area["area"],
        area["established"],
    ]


def _cell(value: object) -> object:
    """Areas as Excel saves them: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else value


def _write(path: Path, header: tuple[str, ...], rows: list[list], *, age: float = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([_cell(v) for v in row] for row in rows)
    if age:  # dated back so that a correction written next arrives after it
        stamp = path.stat().st_mtime - age
        os.utime(path, (stamp, stamp))


def generate_forestry(landing: Path, start: date, end: date, seed: int) -> dict:
    """Land cover and protected areas for every year of [start, end], and the land-cover corrections."""
    counties = demo_counties()
    areas = _protected_areas(seed)
    land_rows = protected_rows = corrections = 0
    for year in range(start.year, end.year + 1):
        rng = np.random.default_rng([seed, 14, year])
        # land cover: one county's land area in km² instead of hectares, corrected an hour later
        wrong_unit = counties[int(rng.integers(len(counties)))]
        rows = [_land_cover(c, year, seed) for c in counties]
        rows[counties.index(wrong_unit)][4] = wrong_unit.area_km2
        _write(landing / LAND_COVER / f"{year}年县域森林草地湿地面积.csv", LAND_COVER_HEADER, rows, age=3600)
        correction = [_land_cover(wrong_unit, year, seed)]
        _write(landing / LAND_COVER / f"{year}年县域森林草地湿地面积_更正.csv", LAND_COVER_HEADER, correction)
        land_rows += len(rows)
        corrections += len(correction)
        # protected areas in force at the end of the year
        listed = [
            _protected_row(a, year)
            for a in areas
            if a["established"] <= year and (a["revoked"] is None or year < a["revoked"])
        ]
        typo = int(rng.integers(len(listed)))
        if listed[typo][3] != "国家公园":
            listed[typo][3] = f"{listed[typo][3]}（{listed[typo][4]}）"
        if year > start.year:  # the seat moved to the next county of the city, the code left as it was
            moved = (typo + 1) % len(listed)
            row = listed[moved]
            neighbours = [c for c in counties if c.city_code[:4] == row[7][:4] and c.county_code != row[7]]
            if neighbours:
                row[6], row[7] = neighbours[0].county_name, neighbours[0].county_code
        _write(landing / PROTECTED_AREAS / f"{year}年自然保护地名录.csv", PROTECTED_HEADER, listed)
        protected_rows += len(listed)
    return {
        "land_cover_rows": land_rows,
        "land_cover_corrections": corrections,
        "protected_area_rows": protected_rows,
        "protected_areas": len(areas),
    }
