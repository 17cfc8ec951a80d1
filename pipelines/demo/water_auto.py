"""Demo deliveries of the surface-water automatic stations (DEPARTMENTS.md #3): one CSV per day in
GBK, a row per station every 4 hours, as CNEMC publishes them.

The stations sit at the river assessment sections of ``water_sections_sichuan.csv`` (the first
``N_STATIONS``), with the same pollution factor: seasonal water temperature, a daily cycle of
dissolved oxygen and pH (photosynthesis), nutrients higher in the dry season. The published class
is the simulated publisher's own (numpy over the GB 3838 limits of the measured items).

The mess, in small proportions: "--" and "*" for a missing value; stations under maintenance (维护)
or out of order (故障) for a day, all their values "--"; a rare impossible value (pH above 14 or a
negative concentration: quarantined by the contract).
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from pipelines.demo.water import SECTIONS_CSV

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMITS_CSV = REPO_ROOT / "standards" / "water" / "gb3838_limits.csv"
DATASET = Path("env_monitoring") / "water_auto_4h"
N_STATIONS = 16
HOURS = (0, 4, 8, 12, 16, 20)
HEADER = (
    "省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),"
    "高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L),站点情况"
)
CLASS_NAMES = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ")
CLASSED_ITEMS = ("ph", "dissolved_oxygen", "codmn", "nh3_n", "tp")

P_MISSING = 0.02  # per value: "--" or "*"
P_DOWN = 0.01  # per station-day: maintenance or failure, no values
P_IMPOSSIBLE = 0.0005  # per row: pH above 14 or a negative NH3-N


def _stations() -> list[dict]:
    with SECTIONS_CSV.open(encoding="utf-8") as fh:
        rivers = [r for r in csv.DictReader(fh) if r["water_body"] == "河流"]
    return rivers[:N_STATIONS]


def _limits() -> dict[str, list[tuple[float | None, float | None]]]:
    """item → [(low, high) of classes I–V] for rivers, from the standards table."""
    out: dict[str, list[tuple[float | None, float | None]]] = {}
    with LIMITS_CSV.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["item_code"] in CLASSED_ITEMS and r["water_body"] in ("all", "river"):
                bounds = (
                    float(r["limit_lo"]) if r["limit_lo"] else None,
                    float(r["limit_hi"]) if r["limit_hi"] else None,
                )
                out.setdefault(r["item_code"], []).append(bounds)
    return out


def _class(values: dict[str, float], limits: dict) -> int:
    worst = 1
    for item in CLASSED_ITEMS:
        value = values[item]
        cls = next(
            (
                k + 1
                for k, (lo, hi) in enumerate(limits[item])
                if (lo is None or value >= lo) and (hi is None or value <= hi)
            ),
            6,
        )
        worst = max(worst, cls)
    return worst


def generate_water_auto(landing: Path, start: date, end: date, seed: int) -> dict:
    stations = _stations()
    limits = _limits()
    folder = landing / DATASET
    files = rows = down = missing = impossible = 0
    day = start
    while day <= end:
        rng = np.random.default_rng([seed, 4, day.toordinal()])
        lines = [HEADER]
        season = math.cos(2 * math.pi * (day.timetuple().tm_yday - 200) / 365)  # +1 in mid July
        for station in stations:
            factor = float(station["pollution"])
            state = "正常"
            if rng.random() < P_DOWN:
                state = "维护" if rng.random() < 0.6 else "故障"
            for hour in HOURS:
                at = datetime(day.year, day.month, day.day) + timedelta(hours=hour)
                if state != "正常":
                    cells = ["--"] * 12
                    down += 1
                else:
                    sun = math.sin(2 * math.pi * (hour - 8) / 24)  # photosynthesis peaks in the afternoon
                    temperature = 15 + 8 * season + 1.5 * sun + rng.normal(0, 0.5)
                    dry = 1 + 0.25 * -season
                    v = {
                        "ph": float(np.clip(7.7 + 0.25 * sun + rng.normal(0, 0.1), 6.5, 8.9)),
                        "dissolved_oxygen": max(1.5, 10.0 - 0.15 * temperature - 0.9 * (factor - 1) + 1.2 * sun),
                        "codmn": 2.2 * factor * rng.lognormal(0, 0.2),
                        "nh3_n": 0.16 * factor**1.6 * dry * rng.lognormal(0, 0.35),
                        "tp": 0.07 * factor**1.3 * dry * rng.lognormal(0, 0.3),
                        "tn": 1.1 * factor * dry * rng.lognormal(0, 0.2),
                    }
                    cls = CLASS_NAMES[_class(v, limits) - 1]
                    cells = [
                        cls,
                        f"{temperature:.1f}",
                        f"{v['ph']:.2f}",
                        f"{v['dissolved_oxygen']:.2f}",
                        f"{300 + 80 * factor * rng.lognormal(0, 0.1):.0f}",
                        f"{20 * rng.lognormal(0, 0.6):.1f}",
                        f"{v['codmn']:.2f}",
                        f"{v['nh3_n']:.3f}",
                        f"{v['tp']:.3f}",
                        f"{v['tn']:.2f}",
                        f"{0.002 * rng.lognormal(0, 0.5):.4f}",
                        f"{2e6 * rng.lognormal(0, 0.8):.0f}",
                    ]
                    for i in range(1, len(cells)):
                        if rng.random() < P_MISSING:
                            cells[i] = "--" if rng.random() < 0.7 else "*"
                            missing += 1
                    if rng.random() < P_IMPOSSIBLE:
                        cells[2] = "15.20"  # pH above 14
                        impossible += 1
                lines.append(
                    ",".join(
                        [
                            "四川省",
                            station["basin"],
                            station["section_name"],
                            at.strftime("%Y-%m-%d %H:%M"),
                            *cells,
                            state,
                        ]
                    )
                )
                rows += 1
        path = folder / str(day.year) / f"{day.isoformat()}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
        files += 1
        day += timedelta(days=1)
    return {
        "files": files,
        "rows": rows,
        "stations": len(stations),
        "mess": {"down_rows": down, "missing_values": missing, "impossible_values": impossible},
    }
