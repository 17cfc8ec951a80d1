"""HJ 633 AQI through the real pipeline (landing file → contract → dbt), for both versions.

Every expected value below was worked out by hand from the standard's Table 1 (the numbers in
../shared/reference/STANDARDS.md), not by the code under test. HJ 633-2012 applies to 2022 hours,
HJ 633-2026 (in force 2026-03-01) to 2026 hours.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest

from tests.helpers import landing_dir, query, station_row, write_cnemc

T2012 = "2022-03-01T10:00:00"
T2026 = "2026-06-01T10:00:00"
ZERO = {"pm2_5": 0, "pm10": 0, "so2": 0, "no2": 0, "co": 0, "o3": 0}

# (station, timepoint, concentrations, expected AQI, expected primary pollutants)
HOURLY_CASES = [
    # HJ 633-2012
    ("1001A", T2012, {"pm2_5": 35}, 50, []),  # on a breakpoint; AQI ≤ 50: none primary
    ("1002A", T2012, {"pm2_5": 36}, 52, ["pm2_5"]),  # 50 + ⌈50·1/40⌉ = 50 + ⌈1.25⌉
    ("1003A", T2012, {"pm2_5": 75, "pm10": 150}, 100, ["pm10", "pm2_5"]),  # tie: both listed
    ("1004A", T2012, {"pm2_5": 61}, 83, ["pm2_5"]),  # 50 + ⌈50·26/40⌉ = 50 + ⌈32.5⌉
    ("1005A", T2012, {"so2": 900, "so2_24h": 100}, 75, ["so2"]),  # SO2 1h > 800 → SO2 24h: 50 + ⌈50·50/100⌉
    ("1006A", T2012, {"co": 5.05}, 51, ["co"]),  # no input rounding: 50 + ⌈0.5⌉
    ("1007A", T2012, {"co": 5.25}, 53, ["co"]),  # 50 + ⌈2.5⌉
    ("1008A", T2012, {"no2": 2340}, 300, ["no2"]),
    ("1009A", T2012, {"no2": 2341}, 301, ["no2"]),  # 300 + ⌈100·1/750⌉
    ("1010A", T2012, {"o3": 1300}, 500, ["o3"]),  # above the table: 500
    ("1011A", T2012, {"pm10": 120}, 85, ["pm10"]),  # 50 + ⌈50·70/100⌉
    # HJ 633-2026
    ("2001A", T2026, {"pm2_5": 61}, 101, ["pm2_5"]),  # new row 60 → 100: 100 + ⌈50·1/55⌉
    ("2002A", T2026, {"so2": 900, "so2_24h": 100}, 200, ["so2"]),  # SO2 1h > 800 → IAQI 200
    ("2003A", T2026, {"co": 5.05}, 50, []),  # rounded first: 5.05 → 5.0 (half to even)
    ("2004A", T2026, {"co": 5.25}, 52, ["co"]),  # 5.25 → 5.2 (half-up would give 5.3 → 53)
    ("2005A", T2026, {"pm2_5": 60.5}, 100, ["pm2_5"]),  # 60.5 → 60 → 100
    ("2006A", T2026, {"pm2_5": 61.5}, 102, ["pm2_5"]),  # 61.5 → 62 → 100 + ⌈50·2/55⌉
    ("2007A", T2026, {"pm10": 120}, 100, ["pm10"]),  # new PM10 row 120 → 100
]
# rows with pollutants missing: HJ 633-2026 §5.3.1 publishes the AQI only above 100
INCOMPLETE_CASES = [
    ("3001A", T2012, {"pm2_5": 40}, 57, ["pm2_5"]),  # 2012: from what is present
    ("3002A", T2026, {"pm2_5": 40}, None, None),  # 2026: 57 ≤ 100 → not published
    ("3003A", T2026, {"pm2_5": 200}, 250, ["pm2_5"]),  # 2026: 200 + ⌈100·50/100⌉ > 100
    ("3004A", T2012, {}, None, None),  # nothing measured
]
RANDOM_2026 = [f"{5000 + i}A" for i in range(400)]


def _random_rows() -> list[dict]:
    rnd = random.Random(633)
    rows = []
    for code in RANDOM_2026:
        rows.append(
            station_row(
                T2026,
                code,
                pm2_5=rnd.randint(0, 520),
                pm10=rnd.randint(0, 650),
                so2=rnd.randint(0, 900),
                no2=rnd.randint(0, 1500),
                co=rnd.randint(0, 400) / 10,
                o3=rnd.randint(0, 1300),
            )
        )
    return rows


def _daily_o3_rows(day: str, code: str) -> list[tuple[str, dict]]:
    """24 hours of O3 at 900 µg/m³ (8-hour means above 800) and low everything else."""
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(f"{day}T01:00:00")
    return [
        (
            (start + timedelta(hours=h)).isoformat(),
            station_row(
                (start + timedelta(hours=h)).isoformat(), code, pm2_5=10, pm10=20, so2=5, no2=10, co=0.5, o3=900
            ),
        )
        for h in range(24)
    ]


def _o3_peak_with_a_missing_hour() -> list[tuple[str, dict]]:
    """2022-03-03, station 4003A: O3 200 at hours 13–19 and 50 otherwise, the row of hour 20 missing.
    The 8-hour mean ending at 20:00 has 7 hours (13–19), all 200: the day's maximum is 200 although
    no row is labelled 20:00. (Ending 19:00: (50 + 7·200)/8 = 181.25; ending 21:00: 1250/7 = 178.6.)"""
    rows = []
    for h in range(1, 25):
        if h == 20:
            continue
        at = "2022-03-04T00:00:00" if h == 24 else f"2022-03-03T{h:02d}:00:00"
        rows.append(
            (at, station_row(at, "4003A", pm2_5=10, pm10=20, so2=5, no2=10, co=0.5, o3=200 if 13 <= h <= 19 else 50))
        )
    return rows


def land(warehouse: Path) -> None:
    """This module's CNEMC files, landed in the shared department warehouse of tests/conftest.py (no
    other module there delivers air data)."""
    folder = landing_dir(warehouse) / "aqi_cases"
    by_time: dict[str, list[dict]] = {}
    for code, at, values, _, _ in HOURLY_CASES:
        by_time.setdefault(at, []).append(station_row(at, code, **(ZERO | values)))
    for code, at, values, _, _ in INCOMPLETE_CASES:
        by_time.setdefault(at, []).append(station_row(at, code, **values))
    by_time[T2026].extend(_random_rows())
    for day, code in (("2022-03-02", "4001A"), ("2026-06-02", "4002A")):
        for at, row in _daily_o3_rows(day, code):
            by_time.setdefault(at, []).append(row)
    for at, row in _o3_peak_with_a_missing_hour():
        by_time.setdefault(at, []).append(row)
    for at, rows in by_time.items():
        write_cnemc(folder / f"{at.replace(':', '')}.csv", rows)


@pytest.fixture(scope="module")
def aqi_warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def _computed(warehouse: Path) -> dict[str, tuple]:
    return {
        code: (aqi, pollutants, standard)
        for code, aqi, pollutants, standard in query(
            warehouse,
            "select station_code, aqi, primary_pollutants, aqi_standard from air.station_hourly "
            "where observed_at in (timestamp '2022-03-01 10:00', timestamp '2026-06-01 10:00')",
        )
    }


def test_hourly_breakpoints_rules_and_rounding(aqi_warehouse: Path) -> None:
    computed = _computed(aqi_warehouse)
    cases = HOURLY_CASES + INCOMPLETE_CASES
    for code, at, values, aqi, primary in cases:
        got_aqi, got_primary, standard = computed[code]
        assert standard == ("HJ 633-2012" if at.startswith("2022") else "HJ 633-2026"), code
        assert (got_aqi, got_primary) == (aqi, primary), f"{code} {at} {values}"
    print(f"compared {len(cases)} hand-worked hourly cases")


def test_daily_o3_8h_above_800(aqi_warehouse: Path) -> None:
    rows = {
        code: (aqi, primary)
        for code, aqi, primary in query(
            aqi_warehouse,
            "select station_code, aqi, primary_pollutants from air.station_daily "
            "where station_code in ('4001A', '4002A')",
        )
    }
    # 2012: O3 8h > 800 → the O3 8-hour IAQI is the 1-hour one: 300 + ⌈100·(900 − 800)/200⌉ = 350,
    #       so both O3 entries are primary (without the rule, O3 8h would have no IAQI at all)
    # 2026: O3 8h > 800 → IAQI 300 (no 1-hour O3 in the 2026 daily AQI)
    assert rows == {"4001A": (350, ["o3", "o3_8h"]), "4002A": (300, ["o3_8h"])}


def test_daily_max_8h_mean_ending_at_a_missing_hour(aqi_warehouse: Path) -> None:
    rows = query(aqi_warehouse, "select o3_8h from air.station_daily where station_code = '4003A'")
    assert rows == [(200,)]


def test_2026_hourly_agrees_with_aqi_hub(aqi_warehouse: Path) -> None:
    """Cross-check with aqi-hub 0.3.3 (independent HJ 633-2026 implementation) on random integer
    concentrations. aqi-hub scores in binary floating point, so a value that should land exactly
    on an integer IAQI can come out a hair above it and be ceiled one too high; such rows are
    counted as explained, every other row must agree exactly."""
    from aqi_hub.aqi_cn.aqi import _cal_iaqi_cn, cal_aqi_cn, cal_primary_pollutant
    from aqi_hub.aqi_cn.common import breakpoints

    names = {"PM2.5": "pm2_5", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3"}
    items = {"PM2.5": "PM25_1H", "PM10": "PM10_1H", "SO2": "SO2_1H", "NO2": "NO2_1H", "CO": "CO_1H", "O3": "O3_1H"}
    computed = _computed(aqi_warehouse)
    agree = explained = 0
    failures = []
    for row in _random_rows():
        values = {
            "PM2.5": float(row["pm2_5"]),
            "PM10": float(row["pm10"]),
            "SO2": float(row["so2"]),
            "NO2": float(row["no2"]),
            "CO": float(row["co"]),
            "O3": float(row["o3_24h"]),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aqi, iaqi = cal_aqi_cn(
                values["PM2.5"],
                values["PM10"],
                values["SO2"],
                values["NO2"],
                values["CO"],
                values["O3"],
                data_type="hourly",
            )
            primary = sorted(names[p] for p in cal_primary_pollutant(iaqi))
        ours = computed[row["stationcode"]]
        if (ours[0], ours[1]) == (aqi, primary):
            agree += 1
            continue
        raw = {p: _cal_iaqi_cn(v, breakpoints[items[p]]) for p, v in values.items()}
        float_artefact = any(abs(r - round(r)) < 1e-9 and r != round(r) for r in raw.values())
        if float_artefact:
            explained += 1
        else:
            failures.append((row, ours, aqi, primary))
    print(
        f"compared {len(RANDOM_2026)} random 2026 station-hours with aqi-hub: {agree} equal, "
        f"{explained} differ only by aqi-hub's floating-point ceiling"
    )
    assert failures == []
    assert agree >= len(RANDOM_2026) * 0.95
