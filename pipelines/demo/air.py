"""Demo deliveries of the Sichuan air department (DEPARTMENTS.md #1 and #2).

`generate_air(landing, start, end, seed)` writes

* `env_monitoring/air_station_hourly/<YYYY>/<YYYY-MM-DD>/<YYYY-MM-DD>T<HH>.csv` — one file per hour
  in the real CNEMC national hourly format (see `shared/realdata/cnemc/README.md`): the 104 Sichuan
  stations of `stations_sichuan.csv` plus two real Chongqing stations, O3 columns swapped against
  their names as CNEMC publishes them, `aqi`/`primarypollutant` computed the CNEMC hourly way from
  the HJ 633 breakpoint tables in `standards/air/`;
* `env_monitoring/air_stations/air_stations_<end>.csv` — the station registry (UTF-8 with BOM).

Values are synthetic but shaped like Sichuan: winter PM peaks in the basin, summer afternoon ozone,
diurnal cycles, clean plateau prefectures, Chengdu dirtiest, AR(1) regional weather shared by
neighbouring cities, a ~3 %/yr improving trend. Every random draw comes from a generator keyed on
(seed, stream, calendar day) — so a station-hour's values do not depend on the requested span, and
the same arguments always give byte-identical files.

Mess (small proportions; counted in the returned summary): blank `aqi`/`primarypollutant` with all
concentrations present, whole files whose rows are repeated twice, missing hour files, missing
station rows, blank concentrations, two stations outside Sichuan in every file, negative or absurd
values, a non-numeric value. File-level mess (one duplicated and one missing hour file) is placed in
every half month, so any calendar month — and any span of 31 days or more — has every kind.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

REPO_ROOT = Path(__file__).resolve().parents[2]
STATIONS_CSV = Path(__file__).with_name("stations_sichuan.csv")
BREAKPOINTS_CSV = REPO_ROOT / "standards" / "air" / "hj633_iaqi_breakpoints.csv"
AQI_INPUTS_CSV = REPO_ROOT / "standards" / "air" / "hj633_aqi_inputs.csv"
VERSIONS_CSV = REPO_ROOT / "standards" / "air" / "hj633_versions.csv"

HOURLY_DATASET = Path("env_monitoring") / "air_station_hourly"
REGISTRY_DATASET = Path("env_monitoring") / "air_stations"

HEADER = (
    "timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,"
    "pm10,pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h"
)
REGISTRY_HEADER = "监测点编码,监测点名称,城市,经度,纬度,对照点"
CONTROL_SUFFIX = "(对照点)"

# Two real Chongqing stations, static fields copied from the CNEMC national file
# shared/realdata/cnemc/hourly/2022-01-01T00.csv (code, name, area, longitude, latitude).
CHONGQING_STATIONS = (
    ("1419A", "南坪", "重庆市", "106.5777", "29.5102"),
    ("3348A", "春阳街", "重庆市", "105.839", "30.1946"),
)

# Registry mess: a later name of one station, and a second row for one code with another name.
REGISTRY_RENAME = ("1909A", "嘉陵区生态环境局")  # hourly files keep 嘉陵区环保局
REGISTRY_DUPLICATE = ("2526A", "广元市监测站")  # the same code is also 监测站

# The six 1-hour channels, in the order CNEMC lists co-primary pollutants
# (observed: "颗粒物(PM10),细颗粒物(PM2.5)", "细颗粒物(PM2.5),臭氧1小时", "颗粒物(PM10),臭氧1小时").
CHANNELS = ("pm10", "pm2_5", "o3", "no2", "so2", "co")
PM10, PM25, O3, NO2, SO2, CO = range(6)
PRIMARY_NAMES = ("颗粒物(PM10)", "细颗粒物(PM2.5)", "臭氧1小时", "二氧化氮", "二氧化硫", "一氧化碳")

# Random streams (the second key of every generator).
_S_WEATHER, _S_NOISE, _S_MESS, _S_FILES, _S_STATION = 1, 2, 3, 4, 5

# Mess rates.
P_BLANK_VALUE = 0.005  # per 1-hour value: not measured (blank, also missing from the 24 h means)
P_MISSING_ROW = 0.005  # per station-hour row: absent from the file
P_BLANK_AQI = 0.010  # per row: aqi and primarypollutant blank although all values present
P_BAD_VALUE = 0.0005  # per row: one negative or absurd value (pm2_5, pm10, no2 or o3 1 h)
P_NON_NUMERIC = 0.0002  # per row: one 1-hour value is a non-numeric token
NON_NUMERIC_TOKEN = "—"

# ---------------------------------------------------------------------------------------------
# Climate of the demo: per city (area full name) the geometric-centre level of PM2.5, NO2, SO2
# (µg/m³), CO (mg/m³), the O3 afternoon photochemical amplitude and night level (µg/m³), and the
# weather region. Annual means come out ~1.2x the PM2.5 centre in the basin.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    region: str
    pm25: float
    no2: float
    so2: float
    co: float
    o3_amp: float
    o3_night: float
    basin: bool


_CITIES: dict[str, _City] = {
    "成都市": _City("west", 39, 36, 5, 0.70, 95, 22, True),
    "德阳市": _City("west", 30, 28, 6, 0.70, 90, 24, True),
    "绵阳市": _City("west", 30, 27, 6, 0.70, 85, 24, True),
    "眉山市": _City("west", 32, 26, 7, 0.70, 90, 24, True),
    "资阳市": _City("west", 28, 22, 7, 0.70, 85, 26, True),
    "乐山市": _City("west", 32, 25, 9, 0.70, 85, 24, True),
    "雅安市": _City("west", 24, 18, 7, 0.70, 72, 26, True),
    "自贡市": _City("south", 34, 28, 8, 0.80, 92, 22, True),
    "内江市": _City("south", 31, 24, 10, 0.80, 85, 24, True),
    "宜宾市": _City("south", 33, 26, 9, 0.70, 85, 22, True),
    "泸州市": _City("south", 31, 26, 10, 0.70, 85, 22, True),
    "南充市": _City("northeast", 30, 24, 8, 0.70, 78, 24, True),
    "遂宁市": _City("northeast", 26, 22, 7, 0.70, 78, 26, True),
    "广安市": _City("northeast", 27, 20, 9, 0.80, 78, 26, True),
    "达州市": _City("northeast", 31, 26, 8, 0.90, 72, 22, True),
    "巴中市": _City("northeast", 25, 20, 6, 0.70, 68, 26, True),
    "广元市": _City("northeast", 22, 20, 8, 0.70, 65, 28, True),
    "重庆市": _City("northeast", 32, 35, 8, 0.90, 85, 20, True),
    "阿坝藏族羌族自治州": _City("plateau", 16, 14, 5, 0.50, 42, 70, False),
    "甘孜藏族自治州": _City("plateau", 16, 14, 5, 0.60, 42, 70, False),
    "凉山彝族自治州": _City("southwest", 21, 18, 12, 0.80, 55, 55, False),
    "攀枝花市": _City("southwest", 25, 32, 24, 1.60, 60, 45, False),
}
_REGIONS = ("west", "south", "northeast", "plateau", "southwest")

_BASE_YEAR = 2021.0
_TREND = 0.97  # pollutant levels x0.97 per year (O3 flat)
_PHI = {"prov": 0.8, "region": 0.7, "city": 0.5}  # daily AR(1) persistence of weather components
_LOAD = {"prov": 0.75, "region": 0.55, "city": 0.36}  # their weights in a city's weather factor
_HIGHPASS_DAYS = 91  # weather anomalies are relative to their centred 91-day mean
_AR_LOOKBACK = 60  # days of innovations behind each day's AR(1) value (0.8^60 ~ 1e-6)
_HOURLY_PHI = 0.7  # hour-to-hour persistence of station noise
_HOURLY_TAPS = 12


# ---------------------------------------------------------------------------------------------
# Stations and standards
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    area: str
    longitude: str
    latitude: str

    @property
    def control(self) -> bool:
        return self.name.endswith(CONTROL_SUFFIX)

    @property
    def sichuan(self) -> bool:
        return self.area != "重庆市"


def load_stations() -> list[Station]:
    """The Sichuan stations of the demo plus the two Chongqing ones, ordered by code as CNEMC."""
    with STATIONS_CSV.open(encoding="utf-8", newline="") as fh:
        rows = [
            Station(r["station_code"], r["station_name"], r["area"], r["longitude"], r["latitude"])
            for r in csv.DictReader(fh)
        ]
    rows += [Station(*row) for row in CHONGQING_STATIONS]
    for st in rows:
        if st.area not in _CITIES:
            raise ValueError(f"no demo climate for area {st.area!r} (station {st.code})")
        if any(c in f for f in (st.code, st.name, st.area) for c in ',"\n'):
            raise ValueError(f"station {st.code} has a field that would need quoting")
    return sorted(rows, key=lambda s: s.code)


@dataclass(frozen=True)
class AqiStandard:
    code: str
    effective_from: dt.date
    effective_to: dt.date | None
    curves: tuple[tuple[np.ndarray, np.ndarray], ...]  # per CHANNELS: (concentrations, IAQI)
    incomplete_threshold: float | None  # publish an AQI with a value missing only above this

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def load_aqi_standards() -> list[AqiStandard]:
    """Hourly-AQI curves per HJ 633 version, from standards/air (nothing hard-coded here)."""
    with BREAKPOINTS_CSV.open(encoding="utf-8", newline="") as fh:
        bps = list(csv.DictReader(fh))
    with AQI_INPUTS_CSV.open(encoding="utf-8", newline="") as fh:
        inputs = [r for r in csv.DictReader(fh) if r["aqi_kind"] == "hourly"]
    with VERSIONS_CSV.open(encoding="utf-8", newline="") as fh:
        versions = {r["standard_code"]: r for r in csv.DictReader(fh)}
    out = []
    for code in sorted({r["standard_code"] for r in bps}):
        rows = [r for r in bps if r["standard_code"] == code]
        curves = {}
        for inp in (r for r in inputs if r["standard_code"] == code):
            channel = inp["measure"].removesuffix("_1h")
            seg = sorted(
                (
                    (float(r["bp_lo"]), float(r["bp_hi"]), float(r["iaqi_lo"]), float(r["iaqi_hi"]))
                    for r in rows
                    if r["pollutant_code"] == inp["pollutant_code"]
                    and r["averaging_period"] == inp["breakpoint_period"]
                ),
            )
            if not seg:
                raise ValueError(f"{code}: no breakpoints for {inp['measure']}")
            xs = [seg[0][0]] + [s[1] for s in seg]
            ys = [seg[0][2]] + [s[3] for s in seg]
            curves[channel] = (np.array(xs), np.array(ys))
        if set(curves) != set(CHANNELS):
            raise ValueError(f"{code}: hourly inputs {sorted(curves)} != {sorted(CHANNELS)}")
        thr = versions.get(code, {}).get("aqi_only_above_when_incomplete") or ""
        out.append(
            AqiStandard(
                code=code,
                effective_from=dt.date.fromisoformat(rows[0]["effective_from"]),
                effective_to=dt.date.fromisoformat(rows[0]["effective_to"]) if rows[0]["effective_to"] else None,
                curves=tuple(curves[c] for c in CHANNELS),
                incomplete_threshold=float(thr) if thr else None,
            )
        )
    return out


def hourly_aqi(values: np.ndarray, std: AqiStandard) -> tuple[np.ndarray, np.ndarray]:
    """CNEMC hourly AQI of rows of the six 1-hour values (columns in CHANNELS order, NaN = missing).

    Returns (aqi as float with NaN where not published, primary-pollutant bit mask per row).
    IAQI = ceiling of the linear interpolation (above the top breakpoint: the top IAQI).
    """
    iaqi = np.empty(values.shape, dtype=np.float64)
    for k, (xs, ys) in enumerate(std.curves):
        iaqi[:, k] = np.ceil(np.round(np.interp(values[:, k], xs, ys), 6))
    present = ~np.isnan(iaqi)
    complete = present.all(axis=1)
    aqi = np.where(present, iaqi, -1.0).max(axis=1)
    aqi[~present.any(axis=1)] = np.nan
    publish = complete.copy()
    if std.incomplete_threshold is not None:
        publish |= ~complete & (aqi > std.incomplete_threshold)
    aqi[~publish] = np.nan
    bits = np.zeros(len(values), dtype=np.int64)
    lead = (aqi > 50)[:, None] & (iaqi == aqi[:, None])
    for k in range(len(CHANNELS)):
        bits |= lead[:, k].astype(np.int64) << k
    return aqi, bits


def _primary_lut() -> np.ndarray:
    lut = []
    for bits in range(1 << len(PRIMARY_NAMES)):
        names = [n for k, n in enumerate(PRIMARY_NAMES) if bits >> k & 1]
        text = ",".join(names)
        lut.append(f'"{text}"' if len(names) > 1 else text)
    return np.array(lut, dtype=object)


# ---------------------------------------------------------------------------------------------
# Randomness keyed on calendar days
# ---------------------------------------------------------------------------------------------


def _rng(seed: int, stream: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *key])


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = np.abs(hours - centre)
    d = np.minimum(d, 24 - d)
    return np.exp(-0.5 * (d / width) ** 2)


def _diurnal() -> np.ndarray:
    """Multiplicative diurnal profiles (24 hour labels) for pm, no2, so2, co; the O3 bump."""
    h = np.arange(24, dtype=np.float64)
    pm = 1 + 0.10 * np.cos(2 * np.pi * (h - 9) / 24) + 0.06 * _bump(h, 22, 2.5)
    no2 = 1 + 0.30 * _bump(h, 8.5, 1.8) + 0.45 * _bump(h, 21.5, 2.5) - 0.35 * _bump(h, 14.5, 3)
    so2 = 1 + 0.25 * _bump(h, 11.5, 3)
    co = 1 + 0.12 * _bump(h, 9, 2) + 0.20 * _bump(h, 21, 3) - 0.15 * _bump(h, 15, 3)
    prof = np.stack([pm, no2, so2, co])
    prof /= prof.mean(axis=1, keepdims=True)
    o3 = _bump(h, 15, 3.2)
    return np.vstack([prof, o3])


class _Weather:
    """Daily regional weather factors: ventilation V (high = stagnant, polluted) and sunshine U.

    Each city's factor is a weighted sum of a province-wide, a regional and a city AR(1)
    component, minus its centred 91-day mean; day d's value is a finite sum over the innovations
    of the days around it, each drawn from a generator keyed on (seed, day) — so it does not
    depend on the requested span.
    """

    def __init__(self, seed: int, first: dt.date, last: dt.date, cities: list[str]):
        self.first = first
        hw = _HIGHPASS_DAYS // 2
        n_ext = (last - first).days + 1 + 2 * hw
        n = (last - first).days + 1
        n_reg, n_city = len(_REGIONS), len(cities)
        comp = 1 + n_reg + n_city
        phi = np.array([_PHI["prov"]] + [_PHI["region"]] * n_reg + [_PHI["city"]] * n_city)
        phi = np.concatenate([phi, phi])  # V and U
        o0 = first.toordinal() - hw - _AR_LOOKBACK
        eps = np.stack(
            [_rng(seed, _S_WEATHER, o).standard_normal(2 * comp) for o in range(o0, last.toordinal() + hw + 1)]
        )
        ar = np.zeros((n_ext, 2 * comp))
        scale = np.sqrt(1 - phi**2)
        for k in range(_AR_LOOKBACK + 1):
            ar += (phi**k * scale) * eps[_AR_LOOKBACK - k : _AR_LOOKBACK - k + n_ext]
        # High-pass: take out the centred running mean so that anomalies last days to weeks, not
        # seasons — otherwise one dirty winter hides the year-on-year trend.
        cs = np.concatenate([np.zeros((1, 2 * comp)), np.cumsum(ar, axis=0)])
        ar = ar[hw : hw + n] - (cs[2 * hw + 1 :] - cs[:n]) / (2 * hw + 1)
        region_of = np.array([_REGIONS.index(_CITIES[c].region) for c in cities])
        out = []
        for f in range(2):
            a = ar[:, f * comp : (f + 1) * comp]
            prov, reg, city = a[:, :1], a[:, 1 : 1 + n_reg], a[:, 1 + n_reg :]
            out.append(_LOAD["prov"] * prov + _LOAD["region"] * reg[:, region_of] + _LOAD["city"] * city)
        self.v, self.u = out  # (days, cities)

    def days(self, a: dt.date, n: int) -> tuple[np.ndarray, np.ndarray]:
        i = (a - self.first).days
        return self.v[i : i + n], self.u[i : i + n]


@dataclass
class _StationParams:
    city_idx: np.ndarray  # (S,)
    level: np.ndarray  # (S, 6): pm25, no2, so2, co, o3_amp, o3_night
    pm_season_amp: np.ndarray
    pm_peak_doy: np.ndarray
    o3_season_amp: np.ndarray
    o3_peak_doy: np.ndarray
    pm_ratio: np.ndarray  # PM2.5/PM10 annual mean ratio


def _station_params(stations: list[Station], cities: list[str], seed: int) -> _StationParams:
    lv, pa, pp, oa, op, ratio = [], [], [], [], [], []
    for st in stations:
        c = _CITIES[st.area]
        r = _rng(seed, _S_STATION, zlib.crc32(st.code.encode()))
        m = np.exp(0.08 * r.standard_normal(6))
        ctl = (0.85, 0.45, 0.9, 0.85, 1.10, 1.30) if st.control else (1,) * 6
        lv.append(np.array([c.pm25, c.no2, c.so2, c.co, c.o3_amp, c.o3_night]) * m * ctl)
        if c.basin:
            pa.append(0.55), pp.append(10), oa.append(0.55), op.append(170), ratio.append(0.62)
        else:
            pa.append(0.30), pp.append(70), oa.append(0.30), op.append(130), ratio.append(0.50)
    return _StationParams(
        city_idx=np.array([cities.index(s.area) for s in stations]),
        level=np.array(lv),
        pm_season_amp=np.array(pa),
        pm_peak_doy=np.array(pp, dtype=np.float64),
        o3_season_amp=np.array(oa),
        o3_peak_doy=np.array(op, dtype=np.float64),
        pm_ratio=np.array(ratio),
    )


# ---------------------------------------------------------------------------------------------
# One chunk of days: truth, derived columns, mess, text
# ---------------------------------------------------------------------------------------------


def _daily_to_hourly(daily: np.ndarray) -> np.ndarray:
    """Values anchored at each day's noon, interpolated to the hours of days [1, n-1)."""
    n = daily.shape[0]
    g = np.arange(24, (n - 1) * 24)
    p = g / 24.0 - 0.5
    i0 = np.floor(p).astype(np.int64)
    f = (p - i0).reshape((-1,) + (1,) * (daily.ndim - 1))
    return daily[i0] * (1 - f) + daily[i0 + 1] * f


def _rolling_mean24(x: np.ndarray) -> np.ndarray:
    """Mean of the last 24 values (NaN skipped) for rows 23.., rounded half to even."""
    filled = np.where(np.isnan(x), 0.0, x)
    cs = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(filled, axis=0)])
    cn = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(~np.isnan(x), axis=0)])
    s = cs[24:] - cs[:-24]
    c = cn[24:] - cn[:-24]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, np.round(s / np.maximum(c, 1)), np.nan)


def _o3_columns(o3: np.ndarray, n_days: int) -> tuple[np.ndarray, ...]:
    """From 1-hour O3 over days [a-1, b] (row 0 = day a-1 label 00): for the hours of days a..b
    the 24 h max 1-hour value, the 8 h moving mean within the day (labels 01 … next 00) and the
    day's maximum 8 h mean so far."""
    th = o3.shape[0]
    filled = np.where(np.isnan(o3), -np.inf, o3)
    win = np.lib.stride_tricks.sliding_window_view(filled, 24, axis=0)
    mx = win.max(axis=-1)  # row j = window ending at row j + 23
    mx = np.where(np.isinf(mx), np.nan, mx)[1:]  # rows 24.. of o3
    seg = np.concatenate([o3[1:], np.full((1, o3.shape[1]), np.nan)]).reshape(n_days + 1, 24, o3.shape[1])
    val = np.where(np.isnan(seg), 0.0, seg)
    cnt = (~np.isnan(seg)).astype(np.float64)
    zero = np.zeros((n_days + 1, 1, o3.shape[1]))
    cs = np.concatenate([zero, np.cumsum(val, axis=1)], axis=1)
    cn = np.concatenate([zero, np.cumsum(cnt, axis=1)], axis=1)
    hi = np.arange(1, 25)
    lo = np.maximum(hi - 8, 0)
    s = cs[:, hi] - cs[:, lo]
    c = cn[:, hi] - cn[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        m8 = np.where(c > 0, np.round(s / np.maximum(c, 1)), np.nan)
    m8max = np.fmax.accumulate(m8, axis=1)
    flat8 = m8.reshape(-1, o3.shape[1])[: th - 1]  # row i = o3 row i + 1
    flat8max = m8max.reshape(-1, o3.shape[1])[: th - 1]
    return mx, flat8[23:], flat8max[23:]


def _fmt_int(x: np.ndarray) -> pl.Series:
    return pl.Series(x, nan_to_null=True).cast(pl.Int64).cast(pl.String).fill_null("")


def _fmt_tenths(x: np.ndarray) -> pl.Series:
    t = pl.Series(x, nan_to_null=True).cast(pl.Int64)
    return pl.select(pl.concat_str([t // 10, pl.lit("."), t % 10]).fill_null("").alias("v")).to_series()


class _Generator:
    def __init__(self, landing: Path, start: dt.date, end: dt.date, seed: int):
        self.landing = Path(landing)
        self.start, self.end, self.seed = start, end, seed
        self.stations = load_stations()
        self.standards = load_aqi_standards()
        self.cities = list(dict.fromkeys(s.area for s in self.stations))
        self.params = _station_params(self.stations, self.cities, seed)
        self.weather = _Weather(seed, start - dt.timedelta(days=2), end + dt.timedelta(days=1), self.cities)
        self.diurnal = _diurnal()
        self.prefix = np.array(
            [f"{s.code},{s.longitude},{s.latitude},{s.area},{s.name}" for s in self.stations],
            dtype=object,
        )
        self.sichuan = np.array([s.sichuan for s in self.stations])
        self.primary_lut = _primary_lut()
        self.counts = dict.fromkeys(
            (
                "blank_aqi",
                "duplicated_files",
                "missing_hours",
                "missing_station_rows",
                "blank_values",
                "outside_sichuan_rows",
                "negative_values",
                "absurd_values",
                "non_numeric_values",
            ),
            0,
        )
        self.files = self.rows = self.station_hours = 0
        self.hours = 0

    # -- truth ------------------------------------------------------------------------------
    def _truth(self, a: dt.date, n_days: int) -> np.ndarray:
        """Rounded 1-hour values (CHANNELS order, CO in tenths, NaN = not measured) for every
        hour of days a-1 … a+n_days-1: shape (hours, stations, 6)."""
        s_n = len(self.stations)
        first = a - dt.timedelta(days=2)
        nd = n_days + 3  # days a-2 … b+1
        zsd = np.empty((nd, s_n, 6))
        eh = np.empty((nd * 24, s_n, 6))
        for i in range(nd):
            r = _rng(self.seed, _S_NOISE, (first + dt.timedelta(days=i)).toordinal())
            zsd[i] = r.standard_normal((s_n, 6))
            eh[i * 24 : i * 24 + 24] = r.standard_normal((24, s_n, 6))
        w = _HOURLY_PHI ** np.arange(_HOURLY_TAPS) * math.sqrt(1 - _HOURLY_PHI**2)
        w /= math.sqrt((w**2).sum())
        th = (nd - 2) * 24  # hours of days a-1 … b
        e = np.zeros((th, s_n, 6))
        for k in range(_HOURLY_TAPS):
            e += w[k] * eh[24 - k : 24 - k + th]
        z = _daily_to_hourly(zsd)
        v_d, u_d = self.weather.days(first, nd)
        p = self.params
        v = _daily_to_hourly(v_d)[:, p.city_idx]
        u = _daily_to_hourly(u_d)[:, p.city_idx]

        day0 = a - dt.timedelta(days=1)
        hour_of = np.tile(np.arange(24), nd - 2)
        day_idx = np.repeat(np.arange(nd - 2), 24)
        ords = day0.toordinal() + day_idx
        doy = (
            np.array([dt.date.fromordinal(o).timetuple().tm_yday for o in range(ords[0], ords[-1] + 1)])[day_idx]
            + hour_of / 24.0
        )
        years = (ords + hour_of / 24.0 - dt.date(int(_BASE_YEAR), 1, 1).toordinal()) / 365.25
        trend = (_TREND**years)[:, None]
        theta = 2 * np.pi * doy[:, None] / 365.25

        lv = p.level
        pm_season = np.exp(p.pm_season_amp * np.cos(theta - 2 * np.pi * p.pm_peak_doy / 365.25))
        winter = np.cos(theta - 2 * np.pi * 10 / 365.25)
        o3_season = np.cos(theta - 2 * np.pi * p.o3_peak_doy / 365.25)
        dpm, dno2, dso2, dco, g_o3 = (self.diurnal[i][hour_of][:, None] for i in range(5))

        out = np.empty((th, s_n, 6))
        pm25 = lv[:, 0] * pm_season * trend * dpm * np.exp(0.42 * v + 0.10 * z[..., PM25] + 0.12 * e[..., PM25])
        ratio = p.pm_ratio + 0.05 * winter
        out[..., PM25] = pm25
        out[..., PM10] = pm25 / ratio * np.exp(0.10 * e[..., PM10] + 0.05 * z[..., PM10])
        out[..., NO2] = (
            lv[:, 1] * np.exp(0.20 * winter) * trend * dno2 * np.exp(0.22 * v + 0.10 * z[..., NO2] + 0.15 * e[..., NO2])
        )
        out[..., SO2] = np.minimum(
            lv[:, 2]
            * np.exp(0.20 * winter)
            * trend
            * dso2
            * np.exp(0.20 * v + 0.15 * z[..., SO2] + 0.20 * e[..., SO2]),
            600.0,
        )
        out[..., CO] = (
            10
            * lv[:, 3]
            * np.exp(0.20 * winter)
            * np.sqrt(trend)
            * dco
            * np.exp(0.20 * v + 0.08 * z[..., CO] + 0.10 * e[..., CO])
        )
        night = lv[:, 5] * np.exp(0.30 * o3_season - 0.15 * v)
        photo = lv[:, 4] * np.exp(p.o3_season_amp * o3_season + 0.25 * u + 0.06 * z[..., O3])
        o3 = (night + photo * g_o3) * np.exp(0.10 * e[..., O3])
        out[..., O3] = o3 / (1 + (o3 / 350.0) ** 4) ** 0.25  # saturates: peaks stay below ~350
        out = np.round(out)  # whole µg/m³, CO whole tenths of mg/m³ (half to even)

        # Not measured: blank, and missing from every mean (keyed on the same day as the hour).
        blank = np.empty((th, s_n, 6), dtype=bool)
        for i in range(nd - 2):
            r = _rng(self.seed, _S_MESS, (day0 + dt.timedelta(days=i)).toordinal())
            blank[i * 24 : i * 24 + 24] = r.random((24, s_n, 6)) < P_BLANK_VALUE
        out[blank] = np.nan
        return out

    # -- one chunk ---------------------------------------------------------------------------
    def chunk(self, a: dt.date, b: dt.date) -> None:
        n_days = (b - a).days + 1
        s_n = len(self.stations)
        truth = self._truth(a, n_days)  # days a-1 … b
        n_h = n_days * 24
        one = truth[24:].copy()  # days a … b (published 1-hour values)
        means = {ch: _rolling_mean24(truth[..., ch])[1:] for ch in (PM10, PM25, NO2, SO2, CO)}
        o3_max24, o3_8h, o3_8h_max = _o3_columns(truth[..., O3], n_days)

        # Row-level mess: one uniform per row picks the kind, another the column / variant.
        rnd = np.empty((n_h, s_n, 2))
        for i in range(n_days):
            r = _rng(self.seed, _S_MESS, (a + dt.timedelta(days=i)).toordinal())
            r.random((24, s_n, 6))  # the blank-value draws of this day (used in _truth)
            rnd[i * 24 : i * 24 + 24] = r.random((24, s_n, 2))
        u0, u1 = rnd[..., 0], rnd[..., 1]
        cut = np.cumsum([P_MISSING_ROW, P_BLANK_AQI, P_BAD_VALUE, P_NON_NUMERIC])
        missing_row = u0 < cut[0]
        blank_aqi = (u0 >= cut[0]) & (u0 < cut[1])
        bad = (u0 >= cut[1]) & (u0 < cut[2])
        nonnum = (u0 >= cut[2]) & (u0 < cut[3])

        bad_cols = (PM25, PM10, NO2, O3)
        v4 = u1 * len(bad_cols)
        bad_col = np.array(bad_cols)[np.minimum(v4.astype(np.int64), len(bad_cols) - 1)]
        frac = v4 - np.floor(v4)
        bad_val = np.where(frac < 0.5, -(1 + np.floor(frac * 18)), np.where(frac < 0.75, 9999.0, 99999.0))
        nn_col = np.minimum((u1 * 6).astype(np.int64), 5)
        nonnum_mask = np.zeros((n_h, s_n, 6), dtype=bool)
        for ch in range(6):
            sel = bad & (bad_col == ch)
            one[..., ch] = np.where(sel, bad_val, one[..., ch])
            nonnum_mask[..., ch] = nonnum & (nn_col == ch)
        one_for_aqi = np.where(nonnum_mask, np.nan, one)

        # AQI, per the standard in force on each hour's date.
        dates = [a + dt.timedelta(days=i) for i in range(n_days)]
        vals = one_for_aqi.reshape(-1, 6).copy()
        vals[:, CO] /= 10.0
        aqi = np.full(n_h * s_n, np.nan)
        bits = np.zeros(n_h * s_n, dtype=np.int64)
        day_std = []
        for d in dates:
            stds = [s for s in self.standards if s.in_force(d)]
            if not stds:
                raise ValueError(f"no HJ 633 standard in force on {d}")
            day_std.append(stds[0].code)
        row_std = np.repeat(np.array(day_std), 24 * s_n)
        for std in self.standards:
            sel = row_std == std.code
            if sel.any():
                aqi[sel], bits[sel] = hourly_aqi(vals[sel], std)
        complete = ~np.isnan(vals).any(axis=1)
        inject = blank_aqi.ravel() & ~np.isnan(aqi) & complete
        aqi[inject] = np.nan
        bits[inject] = 0

        keep = ~missing_row
        kf = keep.ravel()
        self.counts["missing_station_rows"] += int(missing_row.sum())
        self.counts["blank_aqi"] += int((inject & kf).sum())
        self.counts["negative_values"] += int((bad & keep & (bad_val < 0)).sum())
        self.counts["absurd_values"] += int((bad & keep & (bad_val > 0)).sum())
        self.counts["non_numeric_values"] += int((nonnum & keep).sum())
        self.counts["blank_values"] += int((np.isnan(one) & ~nonnum_mask & keep[..., None]).sum())
        self.counts["outside_sichuan_rows"] += int((keep & ~self.sichuan[None, :]).sum())

        # Text.
        idx = np.flatnonzero(kf)
        tps = np.array([f"{d.isoformat()}T{h:02d}:00:00" for d in dates for h in range(24)], dtype=object)

        def col(x: np.ndarray) -> np.ndarray:
            return x.reshape(-1)[idx]

        def num(ch: int) -> pl.Series:
            s = _fmt_tenths(col(one[..., ch])) if ch == CO else _fmt_int(col(one[..., ch]))
            m = col(nonnum_mask[..., ch])
            if m.any():
                s = pl.select(pl.when(pl.Series(m)).then(pl.lit(NON_NUMERIC_TOKEN)).otherwise(s)).to_series()
            return s

        parts = [
            pl.Series(np.repeat(tps, s_n)[idx]),
            pl.Series(np.tile(self.prefix, n_h)[idx]),
            pl.Series(self.primary_lut[bits[idx]]),
            _fmt_int(aqi[idx]),
            num(PM10),
            _fmt_int(col(means[PM10])),
            num(PM25),
            _fmt_int(col(means[PM25])),
            _fmt_int(col(o3_max24)),  # o3: max 1-hour over the last 24 h
            num(O3),  # o3_24h: the latest 1-hour value
            _fmt_int(col(o3_8h_max)),  # o3_8h: the day's max 8-hour mean so far
            _fmt_int(col(o3_8h)),  # o3_8h_24h: the latest 8-hour mean
            num(NO2),
            _fmt_int(col(means[NO2])),
            num(SO2),
            _fmt_int(col(means[SO2])),
            num(CO),
            _fmt_tenths(col(means[CO])),
        ]
        frame = pl.DataFrame({f"c{i}": s.cast(pl.String) for i, s in enumerate(parts)})
        lines = frame.select(pl.concat_str(pl.all(), separator=",")).to_series().to_list()
        per_hour = keep.sum(axis=1)
        offsets = np.concatenate([[0], np.cumsum(per_hour)])

        dup, miss = self._file_mess(a, b)
        out_dir = self.landing / HOURLY_DATASET
        for i, d in enumerate(dates):
            day_dir = out_dir / f"{d.year:04d}" / d.isoformat()
            day_dir.mkdir(parents=True, exist_ok=True)
            for h in range(24):
                t = i * 24 + h
                self.hours += 1
                if (d, h) in miss:
                    self.counts["missing_hours"] += 1
                    continue
                body = "\n".join(lines[offsets[t] : offsets[t + 1]]) + "\n"
                n_rows = int(per_hour[t])
                text = HEADER + "\n" + body
                if (d, h) in dup:
                    text += body
                    n_rows *= 2
                    self.counts["duplicated_files"] += 1
                (day_dir / f"{d.isoformat()}T{h:02d}.csv").write_bytes(text.encode("utf-8"))
                self.files += 1
                self.rows += n_rows
                self.station_hours += int(per_hour[t])
        # Rows of missing hour files are not delivered: take them out of the row-level counts.
        for d, h in miss:
            t = (d - a).days * 24 + h
            k = keep[t]
            self.counts["missing_station_rows"] -= int(missing_row[t].sum())
            self.counts["blank_aqi"] -= int((inject.reshape(n_h, s_n)[t] & k).sum())
            self.counts["negative_values"] -= int((bad[t] & k & (bad_val[t] < 0)).sum())
            self.counts["absurd_values"] -= int((bad[t] & k & (bad_val[t] > 0)).sum())
            self.counts["non_numeric_values"] -= int((nonnum[t] & k).sum())
            self.counts["blank_values"] -= int((np.isnan(one[t]) & ~nonnum_mask[t] & k[:, None]).sum())
            self.counts["outside_sichuan_rows"] -= int((k & ~self.sichuan).sum())

    def _file_mess(self, a: dt.date, b: dt.date) -> tuple[set, set]:
        """One duplicated and one missing hour file per half month (1st–15th, 16th–end)."""
        dup, miss = set(), set()
        y, m = a.year, a.month
        month_end = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
        for half, (d0, d1) in enumerate(((1, 15), (16, month_end))):
            n_hours = (d1 - d0 + 1) * 24
            picks = _rng(self.seed, _S_FILES, y, m, half).choice(n_hours, 2, replace=False)
            for target, pick in zip((dup, miss), picks, strict=True):
                d = dt.date(y, m, d0) + dt.timedelta(days=int(pick) // 24)
                if a <= d <= b:
                    target.add((d, int(pick) % 24))
        return dup, miss

    # -- registry ----------------------------------------------------------------------------
    def registry(self) -> tuple[Path, int]:
        rows = []
        for st in self.stations:
            if not st.sichuan:
                continue
            name = st.name.removesuffix(CONTROL_SUFFIX)
            if st.code == REGISTRY_RENAME[0]:
                name = REGISTRY_RENAME[1]
            ctl = "是" if st.control else "否"
            rows.append((st.code, name, st.area, st.longitude, st.latitude, ctl))
        dup = next(r for r in rows if r[0] == REGISTRY_DUPLICATE[0])
        rows.append((dup[0], REGISTRY_DUPLICATE[1], *dup[2:]))
        path = self.landing / REGISTRY_DATASET / f"air_stations_{self.end.isoformat()}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join([REGISTRY_HEADER] + [",".join(r) for r in rows]) + "\n"
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        return path, len(rows)


def _month_chunks(start: dt.date, end: dt.date):
    a = start
    while a <= end:
        nxt = dt.date(a.year + a.month // 12, a.month % 12 + 1, 1)
        b = min(end, nxt - dt.timedelta(days=1))
        yield a, b
        a = b + dt.timedelta(days=1)


def generate_air(landing: Path, start: dt.date, end: dt.date, seed: int = 2021) -> dict:
    """Write the air department's demo deliveries for every hour of [start 00:00, end 23:00].

    Returns a summary: files written, rows, and how many of each kind of mess were delivered
    (row-level counts are over distinct station-hour rows, not the second copy of a duplicated
    file).
    """
    if end < start:
        raise ValueError(f"end {end} before start {start}")
    gen = _Generator(Path(landing), start, end, seed)
    for a, b in _month_chunks(start, end):
        gen.chunk(a, b)
    reg_path, reg_rows = gen.registry()
    return {
        "dataset": "env_monitoring/air_station_hourly",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "seed": seed,
        "hours": gen.hours,
        "files": gen.files,
        "rows": gen.rows,
        "station_hours": gen.station_hours,
        "stations": len(gen.stations),
        "mess": dict(gen.counts),
        "registry": {
            "path": str(reg_path),
            "rows": reg_rows,
            "renamed_stations": 1,
            "duplicate_codes": 1,
        },
    }
