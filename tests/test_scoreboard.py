"""The scoreboard recomputed from the landing files with this test's own simple code: good-air days
from the CNEMC hourly files, national-section compliance from the water workbooks. Both must agree
with assessment.scoreboard for every city, the province and every month of the demo."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import yaml

from tests.helpers import REPO, ecolake, query

START, END = "2023-01-01", "2023-03-31"
# GB 3095 / HJ 633 daily: the concentration at IAQI 100 (a day is good when its AQI ≤ 100, i.e. when
# every pollutant's daily value is at most this); µg/m³, CO mg/m³ (reference/STANDARDS.md)
GOOD_DAY_LIMIT = {"pm2_5": 75, "pm10": 150, "so2": 150, "no2": 80, "co": 4, "o3_8h": 160}
DECIMALS = {"pm2_5": 0, "pm10": 0, "so2": 0, "no2": 0, "co": 1, "o3_8h": 0}
HOURLY_COLUMN = {"pm2_5": "pm2_5", "pm10": "pm10", "so2": "so2", "no2": "no2", "co": "co", "o3": "o3_24h"}
# GB 3838-2002 Table 1 (reference/STANDARDS.md): item → (bound, limits of classes I–V); TP for rivers
GB3838 = {
    "ph": ("range", None),
    "dissolved_oxygen": ("min", [7.5, 6, 5, 3, 2]),
    "codmn": ("max", [2, 4, 6, 10, 15]),
    "cod": ("max", [15, 15, 20, 30, 40]),
    "bod5": ("max", [3, 3, 4, 6, 10]),
    "nh3_n": ("max", [0.15, 0.5, 1.0, 1.5, 2.0]),
    "tp": ("max", [0.02, 0.1, 0.2, 0.3, 0.4]),
    "cu": ("max", [0.01, 1.0, 1.0, 1.0, 1.0]),
    "zn": ("max", [0.05, 1.0, 1.0, 2.0, 2.0]),
    "fluoride": ("max", [1.0, 1.0, 1.0, 1.5, 1.5]),
    "se": ("max", [0.01, 0.01, 0.01, 0.02, 0.02]),
    "arsenic": ("max", [0.05, 0.05, 0.05, 0.1, 0.1]),
    "hg": ("max", [0.00005, 0.00005, 0.0001, 0.001, 0.001]),
    "cd": ("max", [0.001, 0.005, 0.005, 0.005, 0.01]),
    "cr6": ("max", [0.01, 0.05, 0.05, 0.05, 0.1]),
    "pb": ("max", [0.01, 0.01, 0.05, 0.05, 0.1]),
    "cyanide": ("max", [0.005, 0.05, 0.2, 0.2, 0.2]),
    "volatile_phenol": ("max", [0.002, 0.002, 0.005, 0.01, 0.1]),
    "petroleum": ("max", [0.05, 0.05, 0.05, 0.5, 1.0]),
    "las": ("max", [0.2, 0.2, 0.2, 0.3, 0.3]),
    "sulfide": ("max", [0.05, 0.1, 0.2, 0.5, 1.0]),
}
LAKE_TP = [0.01, 0.025, 0.05, 0.1, 0.2]
ROMAN = {"Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "Ⅴ": 5, "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
CHINESE = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("scoreboard")
    # the scoreboard reads no HJ 212 data: its demo day (~500k packets) is left out
    ecolake(
        warehouse,
        *("demo-data", "--start", START, "--end", END, "--seed", "11"),
        *("--skip", "pollution_source/hj212_packets"),
    )
    ecolake(warehouse, "materialize")
    return warehouse


def scoreboard(warehouse: Path, indicator: str) -> dict[tuple[str, str, date], float]:
    rows = query(
        warehouse,
        "select region_code, period_type, period_end, value from assessment.scoreboard where indicator_code = ?",
        [indicator],
    )
    return {(r[0], r[1], r[2]): float(r[3]) for r in rows if r[3] is not None}


def regions() -> dict[str, str]:
    with (REPO / "standards" / "regions" / "gbt2260_sichuan.csv").open(encoding="utf-8") as fh:
        return {r["name_zh"]: r["region_code"] for r in csv.DictReader(fh) if r["level"] == "city"}


def round_half_even(value: float, decimals: int) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


# ------------------------------------------------------------------------------------------------
# good-air days from the hourly files


def hourly_rows(landing: Path) -> pl.DataFrame:
    """Every delivered station-hour the contract accepts: numeric, within the contract's ranges,
    the newest file's row for a station-hour (the files are read in path order, by hour)."""
    contract = yaml.safe_load((REPO / "contracts/env_monitoring/air_station_hourly.odcs.yaml").read_text())
    ranges = {
        p["physicalName"]: p["logicalTypeOptions"]
        for p in contract["schema"][0]["properties"]
        if p["logicalType"] in ("number", "integer") and "logicalTypeOptions" in p
    }
    files = sorted((landing / "env_monitoring" / "air_station_hourly").rglob("*.csv"))
    frame = pl.concat(
        [pl.read_csv(f, infer_schema=False).with_columns(pl.lit(i).alias("_file")) for i, f in enumerate(files)],
        how="diagonal",
    )
    ok = pl.lit(True)
    for column, limits in ranges.items():
        value = pl.col(column).cast(pl.Float64, strict=False)
        blank = pl.col(column).is_null() | (pl.col(column) == "")
        ok = ok & (blank | (value.is_not_null() & (value >= limits["minimum"]) & (value <= limits["maximum"])))
    return (
        frame.filter(ok)
        .with_row_index("_order")
        .sort("_file", "_order")
        .unique(subset=["stationcode", "timepoint"], keep="last")
    )


def station_daily(rows: pl.DataFrame) -> dict[tuple[str, date], dict[str, float]]:
    """Each station-day's 24-hour means (≥ 20 hours) and its maximum 8-hour O3 (windows ending
    08:00–24:00 with ≥ 6 hours; ≥ 14 of them), day D being the hours D 01:00 … D+1 00:00."""
    hours: dict[tuple[str, date], dict[int, dict[str, float]]] = defaultdict(dict)
    for r in rows.iter_rows(named=True):
        at = datetime.fromisoformat(r["timepoint"])
        day = (at - timedelta(hours=1)).date()
        hour = 24 if at.hour == 0 else at.hour
        values = {}
        for pollutant, column in HOURLY_COLUMN.items():
            text = r[column]
            if text not in (None, ""):
                values[pollutant] = float(text)
        hours[(r["stationcode"], day)][hour] = values
    out = {}
    for key, by_hour in hours.items():
        daily = {}
        for pollutant in ("pm2_5", "pm10", "so2", "no2", "co"):
            values = [v[pollutant] for v in by_hour.values() if pollutant in v]
            if len(values) >= 20:
                daily[pollutant] = round_half_even(sum(values) / len(values), DECIMALS[pollutant])
        windows = []
        for end in range(8, 25):
            values = [by_hour[h]["o3"] for h in range(end - 7, end + 1) if h in by_hour and "o3" in by_hour[h]]
            if len(values) >= 6:
                windows.append(sum(values) / len(values))
        if len(windows) >= 14:
            daily["o3_8h"] = round_half_even(max(windows), 0)
        out[key] = daily
    return out


def test_good_air_days_recomputed_from_the_hourly_files_agree_with_the_scoreboard(demo: Path) -> None:
    landing = demo / "landing"
    codes = regions()
    with next((landing / "env_monitoring" / "air_stations").rglob("*.csv")).open(encoding="utf-8-sig") as fh:
        registry = list(csv.DictReader(fh))
    control = {r["监测点编码"] for r in registry if r["对照点"] == "是"}
    rows = hourly_rows(landing)
    city_of = {r["stationcode"]: codes.get(r["area"]) for r in rows.select("stationcode", "area").iter_rows(named=True)}
    # the registry's city wins for the stations it lists
    city_of |= {r["监测点编码"]: codes.get(r["城市"]) for r in registry}
    city_days: dict[tuple[str, date], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (station, day), values in station_daily(rows).items():
        region = city_of.get(station)
        if region is None or station in control or not (date.fromisoformat(START) <= day <= date.fromisoformat(END)):
            continue
        for pollutant, value in values.items():
            city_days[(region, day)][pollutant].append(value)
    good: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # region → [good days, valid days]
    for (region, _day), values in city_days.items():
        means = {p: round_half_even(sum(v) / len(v), DECIMALS[p]) for p, v in values.items() if v}
        if not means:
            continue
        good[region][1] += 1
        good[region][0] += all(means[p] <= GOOD_DAY_LIMIT[p] for p in means)
    ours = {region: g / n for region, (g, n) in good.items()}
    ours["510000"] = sum(g for g, _ in good.values()) / sum(n for _, n in good.values())

    board = scoreboard(demo, "air_good_day_ratio")
    period_end = date(2023, 3, 1)
    compared = 0
    for region, value in ours.items():
        assert math.isclose(board[(region, "ytd", period_end)], value, abs_tol=5e-5), region
        compared += 1
    assert compared == 22
    print(f"good-air days: {compared} regions' 2023 Q1 ratios recomputed from {rows.height} station-hours: equal")


# ------------------------------------------------------------------------------------------------
# national-section compliance from the workbooks


def item_class(item: str, text: str, lake: bool) -> int | None:
    text = text.translate(str.maketrans("０１２３４５６７８９．＜Ｌ", "0123456789.<L")).strip().upper()
    bound, limits = GB3838[item]
    if item == "tp" and lake:
        limits = LAKE_TP
    if text in ("ND", "未检出"):
        return 1 if bound == "max" else None
    value = float(text.lstrip("<").rstrip("L").strip())
    if bound == "range":
        return 1 if 6 <= value <= 9 else 6
    meets = [value >= lim if bound == "min" else value <= lim for lim in limits]
    return next((k + 1 for k, ok in enumerate(meets) if ok), 6)


def target_class(text: str) -> int:
    text = text.replace("类", "").strip().upper()
    return ROMAN.get(text) or CHINESE.get(text) or int(text)


def test_national_section_compliance_recomputed_from_the_workbooks_agrees_with_the_scoreboard(demo: Path) -> None:
    codes = regions()
    per_month: dict[tuple[str, date], list[bool]] = defaultdict(list)
    pattern_ok = set("0123456789.０１２３４５６７８９．<＜LＬ ")
    for path in sorted((demo / "landing" / "env_monitoring" / "water_section_monthly").rglob("*.xlsx")):
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            month = datetime.strptime(sheet.title, "%Y年%m月").date()
            rows = list(sheet.iter_rows(values_only=True))
            # the column names: row 3, or row 2 above it where the basic columns are merged over both rows
            header = [str(low if low is not None else high or "") for high, low in zip(rows[1], rows[2], strict=True)]
            for row in rows[3:]:
                record = dict(zip(header, row, strict=False))
                cells = {item: record.get(name) for item, name in _item_columns(header).items()}
                texts = {k: str(v).strip() for k, v in cells.items() if v not in (None, "")}
                if any(not (set(t) <= pattern_ok or t in ("ND", "nd", "未检出")) for t in texts.values()):
                    continue  # a lab note instead of a number: the contract quarantines the row
                if record["断面级别"] != "国考":
                    continue
                lake = record["水体类型"] == "湖库"
                classes = [item_class(i, t, lake) for i, t in texts.items() if i in GB3838]
                section_class = max(c for c in classes if c is not None)
                region = codes[record["所在城市"]]
                per_month[(region, month)].append(section_class <= target_class(record["目标水质类别"]))
    ours = {(r, m): sum(v) / len(v) for (r, m), v in per_month.items()}
    province: dict[date, list[bool]] = defaultdict(list)
    for (_, m), v in per_month.items():
        province[m].extend(v)
    ours |= {("510000", m): sum(v) / len(v) for m, v in province.items()}

    board = scoreboard(demo, "water_national_section_compliance")
    for (region, month), value in ours.items():
        assert math.isclose(board[(region, "month", month)], value, abs_tol=5e-5), (region, month)
    assert {(r, m) for r, t, m in board if t == "month"} == set(ours)
    print(f"national-section compliance: {len(ours)} region-months recomputed from the workbooks: equal")


def _item_columns(header: list[str]) -> dict[str, str]:
    """The workbook's item columns, matched on the Chinese item names of GB 3838 Table 1."""
    names = {
        "ph": "pH值",
        "dissolved_oxygen": "溶解氧",
        "codmn": "高锰酸盐指数",
        "cod": "化学需氧量",
        "bod5": "五日生化需氧量",
        "nh3_n": "氨氮",
        "tp": "总磷",
        "cu": "铜",
        "zn": "锌",
        "fluoride": "氟化物",
        "se": "硒",
        "arsenic": "砷",
        "hg": "汞",
        "cd": "镉",
        "cr6": "铬（六价）",
        "pb": "铅",
        "cyanide": "氰化物",
        "volatile_phenol": "挥发酚",
        "petroleum": "石油类",
        "las": "阴离子表面活性剂",
        "sulfide": "硫化物",
        "water_temperature": "水温",
        "tn": "总氮",
        "fecal_coliform": "粪大肠菌群",
    }
    out = {}
    for item, name in names.items():
        out[item] = next(h for h in header if h == name or h.startswith(name + "("))
    return out
