"""A demo fleet of HJ 212 data loggers. FOR DEMO PURPOSES ONLY: every value is invented.

The fleet is the permit registry's outlets (`pipelines.demo.outlets.demo_enterprises`, same seed →
same MNs, permitted pollutants and limits) plus a few devices whose MN the registry does not know.
Each device sends, for its permitted pollutants and its flow (and O₂ for waste gas):

- minute data (CN 2051) every minute: ``-Avg,-Min,-Max,-Cou,-Flag`` (waste gas also
  ``-ZsAvg,-ZsMin,-ZsMax``, converted to reference O₂), sent a few seconds after the minute;
- hourly data (CN 2061) after each hour and daily data (CN 2031) after each day, aggregated from
  the device's own minutes (so an hour the network lost still arrives: store and forward).

The faults a real fleet shows, in small proportions and deterministic from the seed:

- behaviours, one per device: a flatline (the first pollutant constant, Min = Max = Avg, for 4–8 h
  with flag N), values just under the permitted limit all day, exceedances for 2–5 h, gaps (no
  minute packets for 30–180 min, 1–3 times), maintenance (M for 2–4 h, C every 4 h), a plant
  stop (F with zeros for 6 h), a fault (D for 0.5–2 h); the others calibrate (C) 10–20 min a day
  now and then;
- legacy HJ/T 212-2005 loggers: no QN, no Flag, the 2005 pollutant codes (011, 060, B01…);
- clock skew: DataTime and QN some minutes off, or eight hours behind (a device set to UTC);
- reconnects: the connection drops 1–3 times a day and the logger resends its last packets after
  reconnecting (the same bytes, or regenerated with a new QN): duplicates of MN, CN, DataTime;
- bad CRC: about 0.2 % of packets arrive corrupted (the gateway does not reply; the logger resends
  them intact 30 s later); now and then a DTU modem's status line (``+CSQ: 23,99``) between packets.

Two ways out: ``write_segments`` writes the packets as the gateway would have landed them (one
sealed segment per hour of receipt, spec format of ``pipelines.hj212.segments``) — fast, for the
demo and tests; ``send`` replays them over TCP to a running gateway in (scaled) real time.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.hj212 import protocol

CST = timezone(timedelta(hours=8), "CST")
DATASET = Path("pollution_source") / "hj212_packets"
CN_MINUTE, CN_HOURLY, CN_DAILY = "2051", "2061", "2031"
ST_GAS, ST_WATER = "31", "32"
FLOW = {ST_GAS: "a00000", ST_WATER: "w00000"}  # waste gas m³/s, sewage L/s
OXYGEN = "a19001"  # flue-gas O₂ (%), sent by gas outlets
PH = "w01001"
PASSWORD = "123456"
FLAG_2017 = 5  # version 1 (HJ 212-2017) in bits 2–7, bit 0: reply wanted
REFERENCE_O2 = 9.0  # % O₂ the demo converts gas concentrations to (Zs fields)
UNKNOWN_DEVICES = 5  # devices sending under MNs the registry does not list

# share of devices per behaviour (the rest behave normally)
BEHAVIOURS = {
    "flatline": 0.03,
    "under_limit": 0.03,
    "exceeding": 0.04,
    "gappy": 0.05,
    "maintenance": 0.04,
    "stopped": 0.02,
    "fault": 0.02,
}
P_LEGACY_2005 = 0.06
P_RESENDS = 0.10
P_CLOCK_SKEW = 0.03
P_BAD_CRC = 0.002  # per packet
P_MODEM_NOISE = 0.02  # per device and day
P_DAILY_CALIBRATION = 0.3  # per normal device and day
MODEM_NOISE = b"+CSQ: 23,99\r\n"
SEGMENT_SECONDS = 3600  # the demo lands one segment per hour of receipt


@dataclass(frozen=True)
class Device:
    mn: str  # as the device sends it
    st: str  # 31 waste gas, 32 sewage
    limits: tuple[tuple[str, float | None, float], ...]  # (HJ 212-2017 code, lower, upper) as permitted
    registered: bool  # the MN is the one the permit declares
    region_code: str
    behaviour: str  # normal or one of BEHAVIOURS
    legacy_2005: bool
    resends: bool
    clock_skew_min: int
    peer_ip: int  # IPv4 as an integer


def _limit(code: str, text: str) -> tuple[str, float | None, float]:
    parts = [p for p in text.replace("~", "-").split("-") if p.strip()]
    if len(parts) == 2:
        return code, float(parts[0]), float(parts[1])
    return code, None, float(parts[0])


def _pick(rng: np.random.Generator, table: dict[str, float]) -> str:
    u = rng.random()
    for name, share in table.items():
        if u < share:
            return name
        u -= share
    return "normal"


def _device(mn: str, st: str, limits, registered: bool, region: str, n: int, rng: np.random.Generator) -> Device:
    skew = 0
    if rng.random() < P_CLOCK_SKEW:
        skew = -480 if rng.random() < 0.3 else int(rng.choice([-1, 1]) * rng.integers(2, 31))
    return Device(
        mn=mn,
        st=st,
        limits=tuple(limits),
        registered=registered,
        region_code=region,
        behaviour=_pick(rng, BEHAVIOURS),
        legacy_2005=bool(rng.random() < P_LEGACY_2005),
        resends=bool(rng.random() < P_RESENDS),
        clock_skew_min=skew,
        peer_ip=(10 << 24) + (int(region[:4]) % 256 << 16) + n,
    )


def demo_fleet(seed: int, outlets: int | None = None, unknown: int = UNKNOWN_DEVICES) -> list[Device]:
    """The registry's outlets as devices (``outlets``: how many; more than the registry has adds
    devices the registry does not know), then ``unknown`` devices with MNs the registry lacks."""
    from pipelines.demo.outlets import GAS, demo_enterprises

    rng = np.random.default_rng([seed, 212])
    registry = [(e, o) for e in demo_enterprises(seed) for o in e.outlets]
    wanted = len(registry) if outlets is None else outlets
    devices = []
    for n in range(wanted + unknown):
        e, o = registry[n % len(registry)]
        st = ST_GAS if o.outlet_type_zh == GAS else ST_WATER
        limits = [_limit(code, text) for code, text in o.limits]
        if n < min(wanted, len(registry)):
            devices.append(_device(o.packet_mn, st, limits, o.mn == o.packet_mn, e.region_code, n, rng))
        else:  # an MN the registry does not list: a device installed before its permit was updated
            mn = f"{e.region_code}99{n:06d}"
            devices.append(_device(mn, st, limits, False, e.region_code, n, rng))
    return devices


@functools.cache
def codes_2005() -> dict[str, str]:
    """HJ 212-2017 code → HJ/T 212-2005 code, from the standards table."""
    from pipelines import standards
    from pipelines.settings import REPO_ROOT

    table = next(t for t in standards.load_catalog(REPO_ROOT / "standards") if t.name == "hj212_pollutant_codes")
    return {r["code_2017"]: r["code_2005"] for r in standards.read_rows(table) if r["code_2005"]}


# --------------------------------------------------------------------------------------------
# values


def _window(rng: np.random.Generator, n: int, low: int, high: int) -> slice:
    length = min(n, int(rng.integers(low, high + 1)))
    start = int(rng.integers(0, n - length + 1))
    return slice(start, start + length)


def _device_minutes(dev: Device, n: int, day_phase: np.ndarray, rng: np.random.Generator) -> dict:
    """The device's own minute data for n minutes: per item code, Avg/Min/Max/Cou/Zs arrays; the
    flag per minute; which minutes reach the gateway."""
    diurnal = 1 + 0.2 * np.sin(2 * np.pi * (day_phase - 0.3))
    flags = np.full(n, "N", dtype=object)
    sent = np.ones(n, dtype=bool)
    noise = np.exp(np.convolve(rng.normal(0, 0.08, n + 9), np.ones(10) / np.sqrt(10), "valid"))
    flow = (rng.uniform(10, 150) if dev.st == ST_GAS else rng.uniform(5, 80)) * diurnal * noise
    o2 = np.clip(rng.uniform(8, 12) + rng.normal(0, 0.3, n), 3, 20)
    zs_factor = (21 - REFERENCE_O2) / (21 - o2)
    concs = {}
    for code, _lower, upper in dev.limits:
        if code == PH:
            concs[code] = np.clip(7.3 + 0.15 * np.sin(2 * np.pi * day_phase) + rng.normal(0, 0.05, n), 6.2, 8.8)
        else:
            concs[code] = upper * rng.uniform(0.25, 0.6) * diurnal * noise * np.exp(rng.normal(0, 0.05, n))
    target = next((c for c, _, _ in dev.limits if c != PH), dev.limits[0][0])
    upper = next(u for c, _, u in dev.limits if c == target)
    spread = rng.uniform(0.02, 0.1, n)
    zero_variance = np.zeros(n, dtype=bool)
    b = dev.behaviour
    if b == "flatline":
        w = _window(rng, n, 240, 480)
        concs[target][w] = round(float(concs[target][w.start]), 2)
        zero_variance[w] = True
    elif b == "under_limit":
        concs[target] = upper * np.clip(rng.uniform(0.9, 0.97) + rng.normal(0, 0.01, n), 0.88, 0.985)
        spread = np.minimum(spread, 0.005)
    elif b == "exceeding":
        w = _window(rng, n, 120, 300)
        concs[target][w] = upper * rng.uniform(1.3, 1.8) * noise[w]
    elif b == "gappy":
        for _ in range(int(rng.integers(1, 4))):
            sent[_window(rng, n, 30, 180)] = False
    elif b == "maintenance":
        flags[_window(rng, n, 120, 240)] = "M"
        for start in range(int(rng.integers(0, 60)), n, 240):
            flags[start : start + 15] = "C"
    elif b == "stopped":
        w = _window(rng, n, 360, 360)
        flags[w] = "F"
        flow[w] = 0.0
        for code in concs:
            concs[code][w] = 0.0
    elif b == "fault":
        flags[_window(rng, n, 30, 120)] = "D"
    elif rng.random() < P_DAILY_CALIBRATION:
        flags[_window(rng, n, 10, 20)] = "C"
    items = {}
    flow_cou = flow * 60 * (1 if dev.st == ST_GAS else 1e-3)  # m³ in the minute
    items[FLOW[dev.st]] = {"Avg": flow, "Min": flow * (1 - spread), "Max": flow * (1 + spread), "Cou": flow_cou}
    for code, conc in concs.items():
        lo, hi = np.where(zero_variance, 1.0, 1 - spread), np.where(zero_variance, 1.0, 1 + spread)
        if dev.st == ST_GAS:  # the permit limits the converted concentration: Zs is what is compared
            avg = conc / zs_factor
            if zero_variance.any() and code == target:  # a stuck analyser: the measured value is constant
                avg = np.where(zero_variance, round(float(avg[zero_variance.argmax()]), 2), avg)
                conc = avg * zs_factor
            fields = {"Avg": avg, "Min": avg * lo, "Max": avg * hi}
            fields |= {"ZsAvg": conc, "ZsMin": conc * lo, "ZsMax": conc * hi}
        else:
            fields = {"Avg": conc, "Min": conc * lo, "Max": conc * hi}
        if code != PH:  # kg in the minute: mg/m³ × m³/s × 60 s, or mg/L × L/s × 60 s
            fields["Cou"] = fields["Avg"] * flow * 60 * 1e-6
        items[code] = fields
    if dev.st == ST_GAS:
        items[OXYGEN] = {"Avg": o2, "Min": o2 - 0.2, "Max": o2 + 0.2}
    return {"items": items, "flags": flags, "sent": sent}


DIGITS = {"Cou": 4}  # kg and m³ per minute are small: four decimals; everything else two


def _records(devices: list[Device], start: datetime, minutes: int, seed: int) -> pl.DataFrame:
    """Long rows of every device's minute data: dev, minute, item, order, field values, flag, sent."""
    offsets = np.arange(minutes)
    minute_of_day = (start.hour * 60 + start.minute + offsets) % 1440
    phase = minute_of_day / 1440
    frames = []
    for d, dev in enumerate(devices):
        rng = np.random.default_rng([seed, 2051, d, start.toordinal()])
        own = _device_minutes(dev, minutes, phase, rng)
        for order, (code, fields) in enumerate(own["items"].items()):
            cols = {"dev": np.full(minutes, d, np.int32), "minute": offsets.astype(np.int32)}
            cols |= {"item": np.full(minutes, code, dtype=object), "order": np.full(minutes, order, np.int16)}
            for name in ("Avg", "Min", "Max", "ZsAvg", "ZsMin", "ZsMax", "Cou"):
                values = fields.get(name)
                cols[name] = np.full(minutes, np.nan) if values is None else np.maximum(values, 0.0)
            cols["Flag"] = own["flags"]
            cols["sent"] = own["sent"]
            frames.append(pl.DataFrame(cols, schema_overrides={"item": pl.String, "Flag": pl.String}))
    return pl.concat(frames).with_columns(pl.col(pl.Float64).fill_nan(None))


def _aggregate(records: pl.DataFrame, every: int, offset: int) -> pl.DataFrame:
    """Hourly (60) or daily (1440) data as the logger computes it from its own minutes: mean of
    Avg, min of Min, max of Max, sum of Cou; the flag N when at least three quarters of the
    minutes are N, else the interval's most frequent other flag. ``offset``: the minute of the day
    the records start at (intervals are clock hours and days)."""
    period = ((pl.col("minute") + offset) // every).alias("period")
    flag = (
        pl.when((pl.col("Flag") == "N").mean() >= 0.75)
        .then(pl.lit("N"))
        .otherwise(pl.col("Flag").filter(pl.col("Flag") != "N").mode().first())
    )
    return (
        records.group_by("dev", period, "item", "order")
        .agg(
            pl.col("Avg", "ZsAvg").mean(),
            pl.col("Min", "ZsMin").min(),
            pl.col("Max", "ZsMax").max(),
            pl.when(pl.col("Cou").is_not_null().any()).then(pl.col("Cou").sum()).alias("Cou"),
            flag.alias("Flag"),
            pl.col("sent").any().alias("any_sent"),
            pl.len().alias("minutes"),
        )
        .filter(pl.col("minutes") == every)  # only complete intervals are reported
        .with_columns((pl.col("period") * every - offset).alias("minute"))
    )


def _cp_items(frame: pl.DataFrame, legacy: pl.Expr) -> pl.DataFrame:
    """Each row's ``code-Field=value,…,code-Flag=F`` item (2005 codes for legacy loggers)."""
    mapping = codes_2005()
    code = pl.when(legacy).then(pl.col("item").replace(mapping)).otherwise(pl.col("item"))
    pieces = []
    for name in ("Avg", "Min", "Max", "ZsAvg", "ZsMin", "ZsMax", "Cou"):
        text = pl.col(name).round(DIGITS.get(name, 2)).cast(pl.String)
        pieces.append(pl.when(pl.col(name).is_not_null()).then(pl.concat_str([code, pl.lit(f"-{name}="), text])))
    pieces.append(pl.concat_str([code, pl.lit("-Flag="), pl.col("Flag")]))
    return frame.with_columns(pl.concat_str(pieces, separator=",", ignore_nulls=True).alias("cp_item"))


# --------------------------------------------------------------------------------------------
# packets


@dataclass
class Plan:
    """The packets the fleet sends, in order of receipt: bytes, receive time, peer, the gateway's
    framing verdict, and where the device reconnected first."""

    frames: list[bytes]
    received_us: np.ndarray  # int64, Unix µs
    device: np.ndarray  # index into devices
    peer_port: np.ndarray
    status: np.ndarray  # 0 ok, 1 bad CRC, 3 garbage (segments.INDEX_DTYPE codes)
    reconnect: np.ndarray  # bool: the device opened a new connection before this packet
    devices: list[Device]

    def __len__(self) -> int:
        return len(self.frames)


@functools.cache
def _crc_by_distance() -> tuple[np.ndarray, np.ndarray]:
    """The HJ 212 register step ``reg = T[(reg >> 8) ^ byte]`` is linear over GF(2) and forgets
    the register's low byte, so a segment's CRC is ``K[L] ^ XOR_j G[L - 1 - j][byte_j]`` with
    ``F(r) = T[r >> 8]``, ``G[d][b] = F^d(T[b])`` and ``K[L] = F^L(0xFFFF)``: one table lookup per
    byte, vectorised over every byte of every segment."""
    table = np.array(protocol.CRC_TABLE, dtype=np.uint16)
    g = np.empty((protocol.MAX_DATA_LENGTH, 256), dtype=np.uint16)
    k = np.empty(protocol.MAX_DATA_LENGTH + 1, dtype=np.uint16)
    g[0] = table
    k[0] = 0xFFFF
    for d in range(1, protocol.MAX_DATA_LENGTH):
        g[d] = table[g[d - 1] >> 8]
    for n in range(1, protocol.MAX_DATA_LENGTH + 1):
        k[n] = table[k[n - 1] >> 8]
    return g.ravel(), k


def crc16_many(data: list[bytes], chunk: int = 20_000) -> np.ndarray:
    """HJ 212 CRCs of many data segments (each at most 1,024 bytes) at once."""
    g, k = _crc_by_distance()
    out = np.empty(len(data), dtype=np.uint16)
    for first in range(0, len(data), chunk):
        part = data[first : first + chunk]
        lengths = np.fromiter((len(d) for d in part), dtype=np.int64, count=len(part))
        if lengths.max(initial=0) > protocol.MAX_DATA_LENGTH:
            raise ValueError(f"a data segment is longer than {protocol.MAX_DATA_LENGTH} bytes")
        buffer = np.frombuffer(b"".join(part), dtype=np.uint8)
        ends = np.cumsum(lengths)
        # bytes after this one in its segment (< 1,024: int32 is plenty), the row of g to read
        distance = np.repeat((ends - 1).astype(np.int32), lengths) - np.arange(len(buffer), dtype=np.int32)
        terms = g[distance * 256 + buffer]
        crc = np.zeros(len(part), dtype=np.uint16)
        nonempty = lengths > 0
        if len(buffer):
            crc[nonempty] = np.bitwise_xor.reduceat(terms, (ends - lengths)[nonempty])
        out[first : first + len(part)] = crc ^ k[lengths]
    return out


def plan(devices: list[Device], start: datetime, minutes: int, seed: int) -> Plan:
    """Every packet the fleet sends for ``minutes`` minutes of data from ``start`` (naive China
    Standard Time, minute-aligned), with its faults, in order of receipt."""
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    records = _records(devices, start, minutes, seed)
    dev_frame = pl.DataFrame(
        {
            "dev": np.arange(len(devices), dtype=np.int32),
            "mn": [d.mn for d in devices],
            "st": [d.st for d in devices],
            "legacy": [d.legacy_2005 for d in devices],
            "skew": [d.clock_skew_min for d in devices],
        }
    )
    base = np.datetime64(start, "us")
    rng = np.random.default_rng([seed, 9014, start.toordinal(), start.hour, start.minute])

    offset = start.hour * 60 + start.minute
    hourly = _aggregate(records, 60, offset)
    daily = _aggregate(records, 1440, offset)
    # a gap's minutes are lost; the logger's hourly and daily data are sent when it is back
    minute_rows = records.filter(pl.col("sent")).with_columns(pl.lit(CN_MINUTE).alias("cn"), pl.lit(1).alias("span"))
    hourly = hourly.with_columns(pl.lit(CN_HOURLY).alias("cn"), pl.lit(60).alias("span"))
    daily = daily.with_columns(pl.lit(CN_DAILY).alias("cn"), pl.lit(1440).alias("span"))
    columns = ["dev", "minute", "item", "order", "Avg", "Min", "Max", "ZsAvg", "ZsMin", "ZsMax", "Cou", "Flag"]
    rows = pl.concat([f.select(*columns, "cn", "span") for f in (minute_rows, hourly, daily)])
    rows = rows.join(dev_frame.select("dev", "legacy"), on="dev")
    rows = _cp_items(rows, pl.col("legacy"))
    packets = (
        rows.sort("order")
        .group_by("dev", "cn", "minute", "span", maintain_order=True)
        .agg(pl.col("cp_item").str.join(";"))
        .join(dev_frame, on="dev")
        .sort("dev", "minute", "cn")
    )
    n = packets.height
    # sent when the interval is over, plus the logger's and the network's delay
    delay_s = np.where(packets["cn"].to_numpy() == CN_MINUTE, rng.uniform(1, 15, n), rng.uniform(30, 300, n))
    received = (
        base
        + (packets["minute"].to_numpy() + packets["span"].to_numpy()).astype("timedelta64[m]")
        + (delay_s * 1e6).astype("timedelta64[us]")
    )
    # store and forward: what falls in a gap of the device is sent when the gap ends
    gap_end = _gap_ends(records, minutes)
    packets = packets.with_columns(pl.Series("received", received)).with_columns(
        pl.col("received").dt.cast_time_unit("us"),
        (pl.lit(base) + pl.duration(minutes=pl.col("minute") + pl.col("skew"))).alias("device_time"),
        (pl.lit(base) + pl.duration(minutes=pl.col("minute"))).alias("true_time"),
    )
    packets = _delay_into_gap_end(packets, gap_end, base)
    device_clock = pl.col("received") + pl.duration(minutes=pl.col("skew"))
    header = pl.concat_str(
        [
            pl.when(pl.col("legacy"))
            .then(None)
            .otherwise(pl.lit("QN=") + device_clock.dt.strftime("%Y%m%d%H%M%S%3f") + pl.lit(";")),
            pl.lit("ST=") + pl.col("st"),
            pl.lit(";CN=") + pl.col("cn"),
            pl.lit(f";PW={PASSWORD};MN=") + pl.col("mn"),
            pl.when(pl.col("legacy")).then(None).otherwise(pl.lit(f";Flag={FLAG_2017}")),
            pl.lit(";CP=&&DataTime=") + pl.col("device_time").dt.strftime("%Y%m%d%H%M%S"),
            pl.lit(";") + pl.col("cp_item"),
            pl.lit("&&"),
        ],
        ignore_nulls=True,
    )
    packets = packets.with_columns(header.alias("segment")).sort("received")
    return _with_faults(packets, devices, rng)


def _gap_ends(records: pl.DataFrame, minutes: int) -> pl.DataFrame:
    """Per device, each minute that falls in a gap and the minute the gap ends."""
    lost = records.filter(~pl.col("sent")).select("dev", "minute").unique().sort("dev", "minute")
    if lost.is_empty():
        return pl.DataFrame(schema={"dev": pl.Int32, "minute": pl.Int32, "gap_end": pl.Int32})
    run = ((pl.col("minute").diff().fill_null(2) != 1) | (pl.col("dev").diff().fill_null(1) != 0)).cum_sum()
    return lost.with_columns(run.alias("run")).with_columns(
        (pl.col("minute").max().over("run") + 1).clip(upper_bound=minutes).alias("gap_end")
    )


def _delay_into_gap_end(packets: pl.DataFrame, gaps: pl.DataFrame, base: np.datetime64) -> pl.DataFrame:
    """Hourly and daily packets due while the device was offline arrive when it is back."""
    if gaps.is_empty():
        return packets
    due = (pl.col("received") - pl.lit(base)).dt.total_minutes().cast(pl.Int32).alias("due_minute")
    joined = packets.with_columns(due).join(
        gaps.select("dev", pl.col("minute").alias("due_minute"), "gap_end"), on=["dev", "due_minute"], how="left"
    )
    back = pl.lit(base) + pl.duration(minutes=pl.col("gap_end"), seconds=20)
    return joined.with_columns(
        pl.when(pl.col("gap_end").is_not_null()).then(back).otherwise(pl.col("received")).alias("received")
    ).drop("due_minute", "gap_end")


def _with_faults(packets: pl.DataFrame, devices: list[Device], rng: np.random.Generator) -> Plan:
    segments = [s.encode("ascii") for s in packets["segment"].to_list()]
    crcs = crc16_many(segments)
    frames = [b"##%04d%s%04X\r\n" % (len(s), s, c) for s, c in zip(segments, crcs, strict=True)]
    # the plan's times are naive China Standard Time; the landing log wants Unix µs (UTC)
    received = packets["received"].dt.replace_time_zone("Asia/Shanghai").dt.epoch("us").to_numpy().copy()
    dev = packets["dev"].to_numpy().astype(np.int64)
    out_frames: list[bytes] = []
    out_received: list[int] = []
    out_dev: list[int] = []
    out_status: list[int] = []
    n = len(frames)
    # bad CRC: the corrupted copy, then the logger's resend 30 s later (no reply came)
    bad = np.flatnonzero(rng.random(n) < P_BAD_CRC)
    for i in bad:
        corrupt = frames[i][:-6] + b"%04X\r\n" % (int(crcs[i]) ^ 0x5A5A)
        out_frames.append(corrupt)
        out_received.append(int(received[i]))
        out_dev.append(int(dev[i]))
        out_status.append(1)
        received[i] += 30_000_000
    out_frames += frames
    out_received += received.tolist()
    out_dev += dev.tolist()
    out_status += [0] * n
    # reconnects: the logger resends what it sent in the last minutes before the link dropped
    by_device: dict[int, np.ndarray] = {}
    for d in np.unique(dev):
        if devices[d].resends:
            by_device[int(d)] = np.flatnonzero(dev == d)
    resent_frames, resent_received, resent_dev, resent_reconnect = [], [], [], []
    for d, idx in by_device.items():
        for _ in range(int(rng.integers(1, 4))):
            cut = int(rng.integers(0, len(idx)))
            drop_at = int(received[idx[cut]])
            back = drop_at + int(rng.uniform(20, 120) * 1e6)
            k = int(rng.integers(2, 16))
            for m, i in enumerate(idx[max(0, cut - k + 1) : cut + 1]):
                frame = frames[i]
                if rng.random() < 0.5 and not devices[d].legacy_2005:  # regenerated: a new QN
                    text = frame[6:-6].decode("ascii")
                    qn = datetime.fromtimestamp((back + m * 1000) / 1e6, CST).strftime("%Y%m%d%H%M%S%f")[:17]
                    data = ("QN=" + qn + text[text.index(";") :]).encode("ascii")
                    frame = b"##%04d%s%04X\r\n" % (len(data), data, protocol.crc16_hj212(data))
                resent_frames.append(frame)
                resent_received.append(back + m * 200_000)
                resent_dev.append(d)
                resent_reconnect.append(m == 0)
    # modem status lines between packets on some connections
    noise_dev = [d for d in np.unique(dev) if rng.random() < P_MODEM_NOISE]
    for d in noise_dev:
        idx = np.flatnonzero(dev == d)
        out_frames.append(MODEM_NOISE)
        out_received.append(int(received[idx[int(rng.integers(0, len(idx)))]]) - 500_000)
        out_dev.append(int(d))
        out_status.append(3)
    all_received = np.array(out_received + resent_received, dtype=np.int64)
    all_frames = out_frames + resent_frames
    all_dev = np.array(out_dev + resent_dev, dtype=np.int64)
    all_status = np.array(out_status + [0] * len(resent_frames), dtype=np.uint8)
    reconnect = np.array([False] * len(out_frames) + resent_reconnect, dtype=bool)
    order = np.argsort(all_received, kind="stable")
    reconnect_at = reconnect[order]
    # a new source port per connection: count the device's reconnects so far
    ports = np.zeros(len(order), dtype=np.int64)
    seen: dict[int, int] = {}
    for pos, i in enumerate(order):
        d = int(all_dev[i])
        if reconnect_at[pos]:
            seen[d] = seen.get(d, 0) + 1
        ports[pos] = 40000 + (d * 7 + seen.get(d, 0) * 131) % 20000
    return Plan(
        frames=[all_frames[i] for i in order],
        received_us=all_received[order],
        device=all_dev[order],
        peer_port=ports,
        status=all_status[order],
        reconnect=reconnect_at,
        devices=devices,
    )


# --------------------------------------------------------------------------------------------
# way out 1: sealed segments, as the gateway lands them


def index_dtype() -> np.dtype:
    from pipelines.hj212.segments import INDEX_DTYPE

    return INDEX_DTYPE


def write_segments(landing: Path, packets: Plan, gateway_id: str = "demo") -> list[Path]:
    """The packets as sealed segments under landing/pollution_source/hj212_packets/<CST day>/, one
    per hour of receipt; returns the .dat paths."""
    written = []
    if not len(packets):
        return written
    hour = packets.received_us // (SEGMENT_SECONDS * 1_000_000)
    starts = np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]])
    ends = np.r_[starts[1:], len(packets)]
    dtype = index_dtype()
    for seq, (a, b) in enumerate(zip(starts, ends, strict=True)):
        first = int(packets.received_us[a])
        day = datetime.fromtimestamp(first / 1e6, CST).strftime("%Y-%m-%d")
        folder = landing / DATASET / day
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{gateway_id}-{first}-{seq:06d}"
        chunk = packets.frames[a:b]
        index = np.zeros(b - a, dtype=dtype)
        lengths = np.fromiter((len(f) for f in chunk), dtype=np.int64, count=b - a)
        index["offset"] = np.r_[0, np.cumsum(lengths)[:-1]]
        index["length"] = lengths
        index["received_us"] = packets.received_us[a:b]
        index["peer_ip"] = [packets.devices[d].peer_ip for d in packets.device[a:b]]
        index["peer_port"] = packets.peer_port[a:b]
        index["status"] = packets.status[a:b]
        index["acked"] = 0  # nobody was acknowledged: these were never on a socket
        (folder / f"{stem}.dat").write_bytes(b"".join(chunk))
        (folder / f"{stem}.idx").write_bytes(index.tobytes())  # the .idx last: it seals the segment
        written.append(folder / f"{stem}.dat")
    return written


DEMO_OUTLETS: int | None = None  # every registry outlet (about 300)
DEMO_DAYS = 1  # the last day of the span: about 450,000 packets


def generate_hj212_packets(landing: Path, start: date, end: date, seed: int) -> dict:
    """Demo packets of the whole fleet for the last DEMO_DAYS day(s) of the span, landed as sealed
    segments (a short span: a province-day of minute data is millions of rows)."""
    first_day = max(start, end - timedelta(days=DEMO_DAYS - 1))
    devices = demo_fleet(seed, DEMO_OUTLETS)
    total = segments = 0
    for offset in range((end - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        packets = plan(devices, datetime.combine(day, datetime.min.time()), 1440, seed)
        segments += len(write_segments(landing, packets))
        total += len(packets)
    return {
        "days": (end - first_day).days + 1,
        "devices": len(devices),
        "unregistered_mns": sum(not d.registered for d in devices),
        "packets": total,
        "segments": segments,
    }


# --------------------------------------------------------------------------------------------
# way out 2: over TCP to a running gateway


@dataclass
class SendReport:
    devices: int
    packets: int
    acks: int
    connections: int
    seconds: float
    sent_at_us: list[int]  # per packet: when its last byte was written (Unix µs)


async def _device_session(
    host: str, port: int, frames: list[tuple[float, bytes, bool]], speed: float, t0: float, counters: dict
) -> list[int]:
    """One logger: connects, writes its packets at their (scaled) times, split into two writes now
    and then (TCP chunking), reconnecting where the plan says; counts the replies it reads."""
    sent_at = []
    reader = writer = None

    async def read_replies(r: asyncio.StreamReader) -> None:
        try:
            while line := await r.readuntil(b"\r\n"):
                if b"CN=9014" in line:
                    counters["acks"] += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass

    tasks = []
    try:
        for at, frame, reconnect in frames:
            delay = t0 + at / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if writer is None or reconnect:
                if writer is not None:
                    writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                counters["connections"] += 1
                tasks.append(asyncio.create_task(read_replies(reader)))
            if len(frame) > 40 and (len(sent_at) % 7 == 3):
                writer.write(frame[:17])
                await writer.drain()
                writer.write(frame[17:])
            else:
                writer.write(frame)
            await writer.drain()
            sent_at.append(time.time_ns() // 1000)
        await asyncio.sleep(1.0)  # the last replies
    finally:
        if writer is not None:
            writer.close()
        for t in tasks:
            t.cancel()
    return sent_at


async def send(
    packets: Plan, host: str = "127.0.0.1", port: int = 9212, speed: float = 1.0, connections_limit: int = 5000
) -> SendReport:
    """Replay the plan to a gateway: one connection per device, packets at their receive times
    relative to the first (``speed`` times faster than real time)."""
    if not len(packets):
        return SendReport(0, 0, 0, 0, 0.0, [])
    first = int(packets.received_us.min())
    per_device: dict[int, list[tuple[float, bytes, bool]]] = {}
    for frame, at, d, rec in zip(packets.frames, packets.received_us, packets.device, packets.reconnect, strict=True):
        per_device.setdefault(int(d), []).append(((int(at) - first) / 1e6, frame, bool(rec)))
    counters = {"acks": 0, "connections": 0}
    t0 = time.monotonic()
    limit = asyncio.Semaphore(connections_limit)

    async def run(items):
        async with limit:
            return await _device_session(host, port, items, speed, t0, counters)

    results = await asyncio.gather(*(run(items) for items in per_device.values()))
    return SendReport(
        devices=len(per_device),
        packets=len(packets),
        acks=counters["acks"],
        connections=counters["connections"],
        seconds=time.monotonic() - t0,
        sent_at_us=[t for r in results for t in r],
    )


def live_plan(outlets: int, minutes: int, seed: int, now: datetime | None = None) -> Plan:
    """Packets for ``minutes`` minutes of data starting at the current minute (CST)."""
    now = now or datetime.now(CST).replace(tzinfo=None)
    start = now.replace(second=0, microsecond=0)
    return plan(demo_fleet(seed, outlets), start, minutes, seed)


def summary(packets: Plan) -> dict:
    cns: dict[str, int] = {}
    for frame in packets.frames:
        cut = frame.find(b"CN=")
        if cut >= 0:
            key = frame[cut + 3 : cut + 7].decode("ascii", "replace")
            cns[key] = cns.get(key, 0) + 1
    return {
        "packets": len(packets),
        "by_cn": dict(sorted(cns.items())),
        "bad_crc": int((packets.status == 1).sum()),
        "modem_noise": int((packets.status == 3).sum()),
        "reconnects": int(packets.reconnect.sum()),
    }
