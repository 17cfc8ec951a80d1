"""Demo air deliveries (pipelines/demo/air.py), checked by reading the CSV files with plain code.

Two months of one year are generated (January and July 2022, two calls); everything below reads
the files back with the csv module and recomputes what it checks on its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import statistics
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines.demo.air import generate_air

HEADER = (
    "timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,"
    "pm10,pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h"
)
ONE_HOUR = ("pm10", "pm2_5", "o3_24h", "no2", "so2", "co")  # o3_24h is the 1-hour O3 (swapped)
VALUE_COLS = HEADER.split(",")[8:]
PLATEAU = {"阿坝藏族羌族自治州", "甘孜藏族自治州", "凉山彝族自治州"}
NOT_BASIN = PLATEAU | {"攀枝花市"}
STATIONS_CSV = Path(__file__).resolve().parents[1] / "pipelines" / "demo" / "stations_sichuan.csv"

JAN = (dt.date(2022, 1, 1), dt.date(2022, 1, 31))
JUL = (dt.date(2022, 7, 1), dt.date(2022, 7, 31))

# HJ 633-2012 breakpoints as printed in reference/STANDARDS.md (the independent reference):
# the CNEMC hourly AQI scores SO2, NO2, CO, O3 on their 1-hour rows and the 1-hour PM values
# on the 24-hour rows.
IAQI_LEVELS = (0, 50, 100, 150, 200, 300, 400, 500)
REF_BREAKPOINTS = {
    "so2": (0, 150, 500, 650, 800),  # 1 h, defined up to IAQI 200
    "no2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),  # 1 h
    "co": (0, 5, 10, 35, 60, 90, 120, 150),  # 1 h
    "o3_24h": (0, 160, 200, 300, 400, 800, 1000, 1200),  # 1 h
    "pm10": (0, 50, 150, 250, 350, 420, 500, 600),  # 24 h row
    "pm2_5": (0, 35, 75, 115, 150, 250, 350, 500),  # 24 h row
}
REF_NAMES = {
    "pm10": "颗粒物(PM10)",
    "pm2_5": "细颗粒物(PM2.5)",
    "o3_24h": "臭氧1小时",
    "no2": "二氧化氮",
    "so2": "二氧化硫",
    "co": "一氧化碳",
}


# -------------------------------------------------------------------------------------------
# reading


def _hours(start: dt.date, end: dt.date):
    d = start
    while d <= end:
        for h in range(24):
            yield d, h
        d += dt.timedelta(days=1)


def _hour_path(landing: Path, d: dt.date, h: int) -> Path:
    return (
        landing
        / "env_monitoring"
        / "air_station_hourly"
        / f"{d.year:04d}"
        / d.isoformat()
        / f"{d.isoformat()}T{h:02d}.csv"
    )


def _read_span(landing: Path, start: dt.date, end: dt.date) -> dict:
    """{(date, hour): list of row dicts} for the files that exist; raw text kept for checks."""
    files = {}
    for d, h in _hours(start, end):
        p = _hour_path(landing, d, h)
        if not p.exists():
            continue
        raw = p.read_bytes()
        text = raw.decode("utf-8")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        rows = [dict(zip(header, r, strict=True)) for r in reader]
        files[(d, h)] = {"raw": raw, "header": ",".join(header), "rows": rows}
    return files


def _num(v: str) -> float | None:
    try:
        return float(v)
    except ValueError:
        return None


def _clean(v: str) -> float | None:
    x = _num(v)
    return x if x is not None and 0 <= x < 5000 else None


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def _distinct(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        key = (r["timepoint"], r["stationcode"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


# -------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    summaries = {
        "jan": generate_air(landing, *JAN, seed=2021),
        "jul": generate_air(landing, *JUL, seed=2021),
    }
    files = {"jan": _read_span(landing, *JAN), "jul": _read_span(landing, *JUL)}
    return landing, summaries, files


@pytest.fixture(scope="module")
def sichuan_stations():
    with STATIONS_CSV.open(encoding="utf-8", newline="") as fh:
        return {r["station_code"]: r for r in csv.DictReader(fh)}


# -------------------------------------------------------------------------------------------
# format and determinism


def test_layout_header_and_encoding(demo, sichuan_stations):
    landing, summaries, files = demo
    for key, (start, end) in (("jan", JAN), ("jul", JUL)):
        n_hours = sum(1 for _ in _hours(start, end))
        assert summaries[key]["hours"] == n_hours
        assert len(files[key]) == summaries[key]["files"]
        for (d, h), f in files[key].items():
            assert not f["raw"].startswith(b"\xef\xbb\xbf")
            assert f["raw"].split(b"\n", 1)[0].decode() == HEADER
            assert f["raw"].endswith(b"\n") and b"\r" not in f["raw"]
            for r in f["rows"]:
                assert r["timepoint"] == f"{d.isoformat()}T{h:02d}:00:00"
                for col in ("co", "co_24h"):
                    assert r[col] == "" or _num(r[col]) is None or "." in r[col]
    # static station fields copied as they are
    jan = next(iter(files["jan"].values()))["rows"]
    for r in jan:
        if r["stationcode"] in sichuan_stations:
            ref = sichuan_stations[r["stationcode"]]
            assert (r["positionname"], r["area"], r["longitude"], r["latitude"]) == (
                ref["station_name"],
                ref["area"],
                ref["longitude"],
                ref["latitude"],
            )
    # registry: BOM, header, one renamed station and one duplicated code
    reg = landing / "env_monitoring" / "air_stations" / "air_stations_2022-07-31.csv"
    raw = reg.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert ",".join(rows[0]) == "监测点编码,监测点名称,城市,经度,纬度,对照点"
    codes = Counter(r[0] for r in rows[1:])
    assert set(codes) == set(sichuan_stations)
    assert [c for c, n in codes.items() if n > 1] and max(codes.values()) == 2
    names = {(r[0], r[1]) for r in rows[1:]}
    renamed = [
        c for c, ref in sichuan_stations.items() if (c, ref["station_name"].removesuffix("(对照点)")) not in names
    ]
    assert len(renamed) == 1
    assert {r[5] for r in rows[1:]} == {"是", "否"}
    assert all(not r[1].endswith("(对照点)") for r in rows[1:])
    print(f"\nlayout: {len(files['jan'])} January + {len(files['jul'])} July files checked")


def test_deterministic(demo, tmp_path):
    landing, _, _ = demo
    again = tmp_path / "again"
    generate_air(again, *JAN, seed=2021)
    ref = {k: v for k, v in _tree_bytes(landing).items() if "2022-01-" in k}
    ref = {k: v for k, v in ref.items() if "air_stations_" not in k or k.endswith("01-31.csv")}
    got = _tree_bytes(again)
    assert got.keys() == ref.keys()
    assert got == ref
    other = tmp_path / "other"
    generate_air(other, JAN[0], JAN[0] + dt.timedelta(days=2), seed=7)
    diff = _tree_bytes(other)
    hourly = [k for k in diff if "air_station_hourly" in k]
    assert hourly and sum(diff[k] != ref.get(k) for k in hourly) == len(hourly)
    # a station-hour does not depend on the requested span
    part = tmp_path / "part"
    generate_air(part, dt.date(2022, 1, 10), dt.date(2022, 1, 12), seed=2021)
    sub = {k: v for k, v in _tree_bytes(part).items() if "air_station_hourly" in k}
    assert sub and all(ref[k] == v for k, v in sub.items())
    print(f"\ndeterminism: {len(got)} files identical, {len(hourly)} differ with another seed")


# -------------------------------------------------------------------------------------------
# realism


def _means(files: dict, col: str, hour: int | None = None) -> dict[str, float]:
    acc = defaultdict(list)
    for (_, h), f in files.items():
        if hour is not None and h != hour:
            continue
        for r in _distinct(f["rows"]):
            x = _clean(r[col])
            if x is not None:
                acc[r["area"]].append(x)
    return {a: statistics.fmean(v) for a, v in acc.items()}


def test_seasons_and_geography(demo):
    _, _, files = demo
    pm_jan, pm_jul = _means(files["jan"], "pm2_5"), _means(files["jul"], "pm2_5")
    o3_jan, o3_jul = _means(files["jan"], "o3_24h"), _means(files["jul"], "o3_24h")
    basin = sorted(a for a in pm_jan if a not in NOT_BASIN and a != "重庆市")
    assert len(basin) == 17
    for a in basin:
        assert pm_jan[a] > 1.5 * pm_jul[a], (a, pm_jan[a], pm_jul[a])
        assert o3_jul[a] > 1.3 * o3_jan[a], (a, o3_jan[a], o3_jul[a])
    # Chengdu: winter PM2.5 daily means mostly 60-120-ish, summer 20-35-ish; summer O3 afternoons
    assert 55 <= pm_jan["成都市"] <= 120 and 15 <= pm_jul["成都市"] <= 40
    o3_15 = _means(files["jul"], "o3_24h", hour=15)
    assert 140 <= o3_15["成都市"] <= 260
    assert _means(files["jan"], "o3_24h", hour=15)["成都市"] < 100
    both = {a: (pm_jan[a] + pm_jul[a]) / 2 for a in pm_jan}
    for a in PLATEAU:
        assert both[a] < 0.6 * both["成都市"], (a, both[a], both["成都市"])
        assert 8 <= both[a] <= 30
    # Chengdu is the dirtiest over a year; within two months a regional episode elsewhere can
    # beat it, so here: well above the median basin city.
    assert both["成都市"] > statistics.median(both[a] for a in basin)
    # PM2.5/PM10 ratio in the basin winter
    ratios = [
        x / y
        for f in files["jan"].values()
        for r in f["rows"]
        if r["area"] == "成都市" and (x := _clean(r["pm2_5"])) is not None and (y := _clean(r["pm10"]))
    ]
    assert 0.55 <= statistics.median(ratios) <= 0.75
    print(
        f"\nrealism: PM2.5 Jan/Jul Chengdu {pm_jan['成都市']:.1f}/{pm_jul['成都市']:.1f}, "
        f"plateau {', '.join(f'{both[a]:.1f}' for a in sorted(PLATEAU))}; "
        f"O3 15:00 July Chengdu {o3_15['成都市']:.1f}"
    )


def test_derived_columns(demo):
    """x_24h = mean of the last 24 hourly values; o3 = 24 h max of o3_24h (columns swapped)."""
    _, _, files = demo
    jan = files["jan"]
    series = defaultdict(dict)  # (station) -> {(date, hour) index: row}
    order = list(_hours(*JAN))
    pos = {k: i for i, k in enumerate(order)}
    for k, f in jan.items():
        for r in _distinct(f["rows"]):
            series[r["stationcode"]][pos[k]] = r
    checked = matched = 0
    for rows in series.values():
        for i, r in rows.items():
            window = [rows.get(j) for j in range(i - 23, i + 1)]
            if i < 23 or any(w is None for w in window):
                continue
            vals = [_num(w["pm2_5"]) for w in window]
            o3 = [_num(w["o3_24h"]) for w in window]
            if any(v is None or not 0 <= v < 5000 for v in vals + o3):
                continue
            checked += 1
            mean = round(Fraction(sum(int(v) for v in vals), 24))  # half to even, as GB/T 8170
            matched += (_num(r["pm2_5_24h"]) == mean) and (_num(r["o3"]) == max(o3))
    assert checked > 10_000 and matched == checked
    print(f"\nderived: {checked} station-hours with a full 24 h window, all matched")


# -------------------------------------------------------------------------------------------
# AQI against an independent computation from the standard's numbers


def _ref_iaqi(col: str, value: str) -> int | None:
    c = Fraction(value)
    bps = REF_BREAKPOINTS[col]
    if c < 0:
        return None
    if c > bps[-1]:
        return 500 if len(bps) == len(IAQI_LEVELS) else None
    for k in range(1, len(bps)):
        if c <= bps[k]:
            lo, hi = bps[k - 1], bps[k]
            i = IAQI_LEVELS[k - 1] + (IAQI_LEVELS[k] - IAQI_LEVELS[k - 1]) * (c - lo) / (hi - lo)
            return math.ceil(i)
    raise AssertionError


def test_aqi_matches_independent_reference(demo):
    _, _, files = demo
    checked = ties = 0
    picked_files = 0
    for key in ("jan", "jul"):
        for n, (_, f) in enumerate(sorted(files[key].items())):
            sample = n % 12 == 0  # every 12th file in full …
            for r in _distinct(f["rows"]):
                multi = "," in r["primarypollutant"]
                if not (sample or multi):  # … and every row with co-primary pollutants
                    continue
                if r["aqi"] == "" or any(_num(r[c]) is None for c in ONE_HOUR):
                    continue
                iaqi = {c: _ref_iaqi(c, r[c]) for c in ONE_HOUR}
                if None in iaqi.values():
                    continue
                aqi = max(iaqi.values())
                assert int(r["aqi"]) == aqi, r
                want = {REF_NAMES[c] for c, v in iaqi.items() if v == aqi} if aqi > 50 else set()
                got = set(r["primarypollutant"].split(",")) - {""}
                assert got == want, r
                checked += 1
                ties += multi
            picked_files += sample
    assert checked > 5_000 and ties > 20
    print(
        f"\nAQI: {checked} rows recomputed ({ties} with co-primary pollutants) in "
        f"{picked_files} sampled files + all co-primary rows: all equal"
    )


# -------------------------------------------------------------------------------------------
# mess


def _mess(files: dict, start: dt.date, end: dt.date, sichuan: set[str]) -> Counter:
    c = Counter()
    for d, h in _hours(start, end):
        if (d, h) not in files:
            c["missing_hours"] += 1
    for f in files.values():
        rows = f["rows"]
        keys = Counter((r["timepoint"], r["stationcode"]) for r in rows)
        if rows and set(keys.values()) == {2}:
            c["duplicated_files"] += 1
        distinct = _distinct(rows)
        present = {r["stationcode"] for r in distinct}
        c["missing_station_rows"] += len(sichuan - present)
        for r in distinct:
            if r["area"] == "重庆市":
                c["outside_sichuan_rows"] += 1
            else:
                assert r["stationcode"] in sichuan
            one = [r[col] for col in ONE_HOUR]
            if r["aqi"] == "" and r["primarypollutant"] == "" and all(_num(v) is not None for v in one):
                c["blank_aqi"] += 1
            c["blank_values"] += sum(v == "" for v in one)
            for col in VALUE_COLS:
                v = r[col]
                x = _num(v)
                if v != "" and x is None:
                    c["non_numeric_values"] += 1
                elif x is not None and x < 0:
                    c["negative_values"] += 1
                elif x is not None and x >= 5000:
                    c["absurd_values"] += 1
    return c


def test_every_mess_kind_in_each_month(demo, sichuan_stations):
    _, summaries, files = demo
    sichuan = set(sichuan_stations)
    for key, (start, end) in (("jan", JAN), ("jul", JUL)):
        seen = _mess(files[key], start, end, sichuan)
        reported = summaries[key]["mess"]
        print(f"\nmess {key}: found {dict(sorted(seen.items()))}")
        for kind in (
            "blank_aqi",
            "duplicated_files",
            "missing_hours",
            "missing_station_rows",
            "blank_values",
            "outside_sichuan_rows",
            "negative_values",
            "absurd_values",
            "non_numeric_values",
        ):
            assert seen[kind] > 0, (key, kind)
        # the generator's own summary agrees with what is in the files
        for kind in (
            "duplicated_files",
            "missing_hours",
            "non_numeric_values",
            "blank_aqi",
            "negative_values",
            "absurd_values",
            "blank_values",
        ):
            assert seen[kind] == reported[kind], (key, kind, seen[kind], reported[kind])
        n_files = len(files[key])
        n_rows = sum(len(_distinct(f["rows"])) for f in files[key].values())
        assert seen["outside_sichuan_rows"] == reported["outside_sichuan_rows"]
        # small proportions
        assert seen["duplicated_files"] / n_files < 0.01
        assert seen["missing_hours"] / (n_files + seen["missing_hours"]) < 0.01
        assert 0.001 < seen["missing_station_rows"] / (n_files * 104) < 0.01
        assert 0.003 < seen["blank_aqi"] / n_rows < 0.02
        assert (seen["negative_values"] + seen["absurd_values"]) / n_rows < 0.002
        assert seen["non_numeric_values"] / n_rows < 0.001
