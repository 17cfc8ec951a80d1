"""The demo's counties: one invented list shared by every county-level demo delivery.

FOR DEMO PURPOSES ONLY. The 21 cities are the real ones (standards/regions/gbt2260_sichuan.csv),
but no verified GB/T 2260 county list is on hand, so each city gets three to five invented counties
coded under the city's four-digit prefix and numbered from 21 (5101 21, 5101 22, … for 成都市). The
codes have the GB/T 2260 structure and need not be real county codes. The list does not depend on
the demo seed, so every department's deliveries (villages, fertilizer, land cover, red lines,
farmland) speak of the same counties.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
REGIONS_CSV = REPO_ROOT / "standards" / "regions" / "gbt2260_sichuan.csv"
PLATEAU = ("阿坝藏族羌族自治州", "甘孜藏族自治州", "凉山彝族自治州")
COUNTY_STEMS = "安宁 平川 兴文 永和 清溪 金川 长宁 东林 西河 南岭 北坝 青山 龙门 白水 红原 盐源".split()
FIRST_NUMBER = 21


@dataclass(frozen=True)
class County:
    county_code: str
    county_name: str
    city_code: str
    city_name: str
    plateau: bool
    area_km2: float  # land area, invented: plateau counties are several times larger


@cache
def cities() -> tuple[dict, ...]:
    with REGIONS_CSV.open(encoding="utf-8") as fh:
        return tuple(r for r in csv.DictReader(fh) if r["level"] == "city")


@cache
def demo_counties() -> tuple[County, ...]:
    rng = np.random.default_rng([2260, 21])
    counties = []
    for city in cities():
        plateau = city["name_zh"] in PLATEAU
        stems = rng.choice(COUNTY_STEMS, size=int(rng.integers(3, 6)), replace=False)
        for number, stem in enumerate(stems, start=FIRST_NUMBER):
            area = float(rng.uniform(5_000, 15_000) if plateau else rng.uniform(800, 2_500))
            counties.append(
                County(
                    county_code=city["region_code"][:4] + f"{number:02d}",
                    county_name=f"{stem}县",
                    city_code=city["region_code"],
                    city_name=city["name_zh"],
                    plateau=plateau,
                    area_km2=round(area, 1),
                )
            )
    return tuple(counties)
