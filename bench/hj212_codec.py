"""HJ 212 codec throughput: one province-day of minute data, codec vs a naive per-packet parser.

Generates (vectorised, untimed) `--outlets` × `--minutes` minute packets (CN 2051) — wastewater
outlets in HJ 212-2017 and in legacy 2005 codes with 17-digit DataTime, flue-gas outlets with
converted (Zs) values — with flags M/D/C now and then and a few bad CRCs, lands them as sealed
segments of the landing-log format (≤ 64 MiB each), then times on the same bytes in the same run:

- the codec: `decode_segments` — read_segment + decode (framing, length, CRC, header, CP, DataTime,
  typed rows, quarantine) of every segment, the next two segments' compiled passes running while the
  current one's columns are assembled, as the ingest path runs it;
- a naive pure-Python parser written here: per packet, table-driven CRC (reg = T[(reg >> 8) ^ b]),
  str.split of the data segment, float()/datetime per value, rows as tuples, quarantine list.

Both must agree on the counts of published packets, value rows and quarantined packets. Last line:
both packets/s and the ratio, against the goals (≥ 400k packets/s, ≥ 6× the naive parser).

    .venv/bin/python bench/hj212_codec.py [--outlets 3000] [--minutes 1440] [--seed 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zlib
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from pipelines.hj212 import codec  # noqa: E402
from pipelines.hj212.segments import (  # noqa: E402
    INDEX_DTYPE,
    packets_dir,
    read_segment,
    sealed_segments,
    segment_stem,
)

GOAL_PPS = 400_000
GOAL_RATIO = 6.0
SEGMENT_BYTES = 64 << 20
DAY = datetime(2024, 6, 1)

# (ST, 2017 codes, 2005 codes or None, fields per pollutant, typical value)
WATER = [
    ("w01018", "011", ("Min", "Avg", "Max", "Cou"), 40.0),  # COD mg/L
    ("w21003", "060", ("Min", "Avg", "Max", "Cou"), 3.0),  # NH3-N
    ("w21011", "101", ("Min", "Avg", "Max", "Cou"), 0.4),  # TP
    ("w00000", "B01", ("Min", "Avg", "Max", "Cou"), 12.0),  # flow L/s
    ("w01001", "001", ("Min", "Avg", "Max"), 7.2),  # pH
]
GAS = [
    ("a21026", None, ("Avg", "ZsAvg", "Min", "Max", "Cou"), 25.0),  # SO2 mg/m3
    ("a21002", None, ("Avg", "ZsAvg", "Min", "Max", "Cou"), 45.0),  # NOx
    ("a34013", None, ("Avg", "ZsAvg", "Min", "Max", "Cou"), 5.0),  # particulates
    ("a19001", None, ("Avg", "Min", "Max"), 9.5),  # O2 %
    ("a00000", None, ("Avg", "Min", "Max", "Cou"), 60.0),  # flue gas flow m3/s
]
FLAGS = np.array(["N", "M", "D", "C", "F"])


# --------------------------------------------------------------------------- data generation


@numba.njit(cache=True)
def _crc_hj212_many(buf, offsets, lengths, table):
    # Generation only: the HJ 212 CRC per data segment (the timed parsers compute their own).
    out = np.empty(offsets.shape[0], np.int64)
    for i in range(offsets.shape[0]):
        reg = 0xFFFF
        for j in range(offsets[i], offsets[i] + lengths[i]):
            reg = table[(reg >> 8) ^ buf[j]]
        out[i] = reg
    return out


def _crc_table() -> np.ndarray:
    table = np.zeros(256, np.int64)
    for x in range(256):
        reg = x
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        table[x] = reg
    return table


def _decimal(expr: pl.Expr, decimals: int) -> pl.Expr:
    """A fixed-point text of an integer count of 10^-decimals (e.g. 12345, 3 → "12.345")."""
    scale = 10**decimals
    return pl.concat_str(
        (expr // scale).cast(pl.String), pl.lit("."), (expr % scale).cast(pl.String).str.zfill(decimals)
    )


def _group_frame(
    rng: np.random.Generator, mns: list[str], first_minute: int, minutes: int, pollutants: list, st: str, legacy: bool
) -> pl.DataFrame:
    """Data segments of one kind of outlet: columns minute, outlet, data (text)."""
    n_out = len(mns)
    n = n_out * minutes
    minute = np.repeat(np.arange(first_minute, first_minute + minutes, dtype=np.int64), n_out)
    outlet = np.tile(np.arange(n_out, dtype=np.int64), minutes)
    base = pl.DataFrame({"minute": minute, "outlet": outlet})
    stamp = pl.lit(DAY) + pl.duration(minutes=pl.col("minute"))
    cols = [stamp.dt.strftime("%Y%m%d%H%M%S").alias("dt")]
    items = []
    for code17, code05, fields, typical in pollutants:
        code = code05 if legacy else code17
        # Each outlet has its own level (seeded by outlet, so blocks agree), varying minute to minute.
        outlet_rng = np.random.default_rng([zlib.crc32(mns[0].encode()), zlib.crc32(code17.encode())])
        outlet_level = outlet_rng.lognormal(np.log(typical), 0.3, n_out)
        level = outlet_level[outlet] * rng.lognormal(0.0, 0.05, n)
        avg = np.round(level * 1000).astype(np.int64)
        spread = np.round(avg * rng.uniform(0.01, 0.1, n)).astype(np.int64)
        values = {"Avg": avg, "Min": avg - spread, "Max": avg + spread, "ZsAvg": np.round(avg * 1.12).astype(np.int64)}
        values["Cou"] = np.round(avg * 0.06).astype(np.int64)
        flag = FLAGS[np.where(rng.random(n) < 0.985, 0, rng.integers(1, len(FLAGS), n))]
        parts = []
        for f in fields:
            name = f"v_{code}_{f}"
            base = base.with_columns(pl.Series(name, values[f]))
            parts += [pl.lit(f"{code}-{f}="), _decimal(pl.col(name), 3), pl.lit(",")]
        base = base.with_columns(pl.Series(f"f_{code}", flag))
        parts += [pl.lit(f"{code}-Flag="), pl.col(f"f_{code}")]
        items.append(pl.concat_str(parts))
    mn = pl.Series("mn_text", mns).gather(outlet)
    base = base.with_columns(mn.alias("mn_text"), *cols)
    if legacy:
        head = pl.concat_str(
            pl.lit(f"ST={st};CN=2051;PW=123456;MN="),
            pl.col("mn_text"),
            pl.lit(";CP=&&DataTime="),
            pl.col("dt"),
            pl.lit("000;"),
        )
    else:
        ms = pl.Series("qn_ms", rng.integers(0, 1000, n)).cast(pl.String).str.zfill(3)
        sec = pl.Series("qn_s", rng.integers(1, 30, n)).cast(pl.String).str.zfill(2)
        base = base.with_columns(ms, sec)
        qn = pl.concat_str(pl.col("dt").str.slice(0, 12), pl.col("qn_s"), pl.col("qn_ms"))
        head = pl.concat_str(
            pl.lit("QN="),
            qn,
            pl.lit(f";ST={st};CN=2051;PW=123456;MN="),
            pl.col("mn_text"),
            pl.lit(";Flag=5;CP=&&DataTime="),
            pl.col("dt"),
            pl.lit(";"),
        )
    data = pl.concat_str([head, pl.concat_str(items, separator=";"), pl.lit("&&")])
    return base.select("minute", "outlet", data.alias("data"))


def generate(outlets: int, minutes: int, seed: int, block: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """(bytes as uint8, int64 packet offsets with a final end offset) of the day, in arrival order.

    Built `block` minutes at a time to bound the memory of the intermediate frames."""
    rng = np.random.default_rng(seed)
    datas, offs, base = [], [], 0
    for first in range(0, minutes, block):
        d, o = _generate_block(rng, outlets, first, min(block, minutes - first), seed)
        datas.append(d)
        offs.append(o[:-1] + base)
        base += len(d)
    return np.concatenate(datas), np.concatenate([*offs, [base]]).astype(np.int64)


def _generate_block(
    rng: np.random.Generator, outlets: int, first_minute: int, minutes: int, seed: int, bad_crc_rate: float = 0.0005
) -> tuple[np.ndarray, np.ndarray]:
    n_water05 = outlets // 10
    n_gas = outlets * 3 // 10
    n_water17 = outlets - n_water05 - n_gas
    mn_all = [f"51{k:06d}MN{seed:04d}{k * 7919 % 1000000:06d}" for k in range(outlets)]
    frames = [
        _group_frame(rng, mn_all[:n_water17], first_minute, minutes, WATER, "32", legacy=False),
        _group_frame(rng, mn_all[n_water17 : n_water17 + n_water05], first_minute, minutes, WATER, "32", legacy=True),
        _group_frame(rng, mn_all[n_water17 + n_water05 :], first_minute, minutes, GAS, "31", legacy=False),
    ]
    offset = 0
    for k, f in enumerate(frames):
        frames[k] = f.with_columns(pl.col("outlet") + offset)
        offset += [n_water17, n_water05, n_gas][k]
    day = pl.concat(frames).sort("minute", "outlet")  # loggers report each minute, all outlets
    seg = day["data"].cast(pl.String).to_arrow().cast("large_string")
    seg_offsets = np.frombuffer(seg.buffers()[1], np.int64)[seg.offset : seg.offset + len(seg) + 1]
    seg_bytes = np.frombuffer(seg.buffers()[2], np.uint8)
    seg_lens = np.diff(seg_offsets)
    if seg_lens.max() > 1024:
        raise SystemExit(f"generated data segment of {seg_lens.max()} bytes exceeds HJ 212's 1024")
    crc = _crc_hj212_many(seg_bytes, seg_offsets[:-1], seg_lens, _crc_table())
    bad = rng.random(len(crc)) < bad_crc_rate
    crc[bad] ^= 0x0101
    # Frame: "##" + 4-digit length + data + 4 hex CRC + CRLF, assembled with array copies.
    n = len(seg_lens)
    frame_lens = seg_lens + 12
    out_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(frame_lens, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), np.uint8)
    starts = out_offsets[:-1]
    digits = np.frombuffer(b"0123456789", np.uint8)
    hexd = np.frombuffer(b"0123456789ABCDEF", np.uint8)
    out[starts] = ord("#")
    out[starts + 1] = ord("#")
    for k, p in enumerate((1000, 100, 10, 1)):
        out[starts + 2 + k] = digits[(seg_lens // p) % 10]
    total = int(seg_lens.sum())
    body = np.repeat(starts + 6 - (seg_offsets[:-1] - seg_offsets[0]), seg_lens) + np.arange(total)
    out[body] = seg_bytes[seg_offsets[0] : seg_offsets[0] + total]
    tail = starts + 6 + seg_lens
    for k, sh in enumerate((12, 8, 4, 0)):
        out[tail + k] = hexd[(crc >> sh) & 0xF]
    out[tail + 4] = ord("\r")
    out[tail + 5] = ord("\n")
    return out, out_offsets


def write_segments(folder: Path, data: np.ndarray, offsets: np.ndarray) -> int:
    """Land the packets as sealed segments (≤ SEGMENT_BYTES each) of the landing-log format."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(offsets) - 1
    received0 = int((DAY.timestamp() - 8 * 3600) * 1e6)
    first, seq = 0, 0
    while first < n:
        last = int(np.searchsorted(offsets, offsets[first] + SEGMENT_BYTES, side="right")) - 1
        last = max(last, first + 1)
        last = min(last, n)
        index = np.zeros(last - first, INDEX_DTYPE)
        index["offset"] = offsets[first:last] - offsets[first]
        index["length"] = np.diff(offsets[first : last + 1])
        index["received_us"] = received0 + np.arange(first, last, dtype=np.int64) * 14_000
        index["peer_ip"] = 0x7F000001
        index["peer_port"] = 40000 + (np.arange(first, last) % 3000)
        stem = segment_stem("bench", int(index["received_us"][0]), seq)
        data[offsets[first] : offsets[last]].tofile(folder / f"{stem}.dat")
        index.tofile(folder / f"{stem}.idx")
        first, seq = last, seq + 1
    return seq


# --------------------------------------------------------------------------- naive baseline


def _naive_parser():
    table = [int(v) for v in _crc_table()]
    code_map = codec.code_map_2005()

    def parse(buf: bytes, index: np.ndarray, packets: list, values: list, quarantine: list) -> None:
        for k, (off, length, received) in enumerate(
            zip(index["offset"].tolist(), index["length"].tolist(), index["received_us"].tolist(), strict=True)
        ):
            raw = buf[off : off + length]
            if raw[:2] != b"##" or not raw[2:6].isdigit():
                quarantine.append((k, "framing", raw))
                continue
            n = int(raw[2:6])
            if n > 1024 or len(raw) != n + 12 or raw[-2:] != b"\r\n":
                quarantine.append((k, "bad_length", raw))
                continue
            data = raw[6 : 6 + n]
            reg = 0xFFFF
            for b in data:
                reg = table[(reg >> 8) ^ b]
            try:
                sent = int(raw[6 + n : 10 + n], 16)
            except ValueError:
                sent = -1
            if sent != reg:
                quarantine.append((k, "bad_crc", f"CRC sent {sent:04X}, expected {reg:04X}"))
                continue
            text = data.decode("ascii")
            head, sep, cp = text.partition("CP=&&")
            if not sep or not cp.endswith("&&"):
                quarantine.append((k, "no_cp", text))
                continue
            header = {}
            for item in head.split(";"):
                key, eq, value = item.partition("=")
                if eq:
                    header.setdefault(key, value)
            mn, st, cn = header.get("MN"), header.get("ST"), header.get("CN")
            if not mn:
                quarantine.append((k, "no_mn", text))
                continue
            data_time = None
            rows = []
            bad = None
            for item in cp[:-2].split(";"):
                flags = {}
                item_rows = []
                for fld in item.split(","):
                    if not fld:
                        continue
                    key, eq, value = fld.partition("=")
                    if not eq:
                        bad = "bad_cp_item"
                        break
                    if key == "DataTime":
                        try:
                            data_time = datetime(
                                int(value[0:4]),
                                int(value[4:6]),
                                int(value[6:8]),
                                int(value[8:10]),
                                int(value[10:12]),
                                int(value[12:14]),
                                int(value[14:17] or 0) * 1000,
                            )
                        except ValueError:
                            bad = "bad_data_time"
                            break
                        continue
                    code, dash, name = key.partition("-")
                    if not dash:
                        continue
                    if name == "Flag":
                        flags[code] = value
                    else:
                        try:
                            item_rows.append((code, name, float(value)))
                        except ValueError:
                            bad = "bad_value"
                            break
                if bad:
                    break
                for code, name, value in item_rows:
                    rows.append(
                        (k, mn, st, cn, data_time, code_map.get(code, code), code, name, value, flags.get(code))
                    )
            if bad:
                quarantine.append((k, bad, text))
                continue
            packets.append((k, received, mn, st, cn, header.get("QN"), data_time))
            values.extend(rows)

    return parse


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outlets", type=int, default=3000)
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    data, offsets = generate(args.outlets, args.minutes, args.seed)
    npk = len(offsets) - 1
    print(f"generated {npk:,} packets, {len(data) / 1e6:,.0f} MB in {time.perf_counter() - t0:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_hj212_codec_") as tmp:
        folder = packets_dir(Path(tmp)) / "2024-06-01"
        nseg = write_segments(folder, data, offsets)
        del data
        segments = sealed_segments(Path(tmp))
        assert len(segments) == nseg, (len(segments), nseg)
        # Compile (or load the numba cache) outside the timed section.
        d0, i0 = read_segment(segments[0])
        codec.decode(d0, i0[:1000])

        t, cpu = time.perf_counter(), time.process_time()
        c_packets = c_values = c_quarantine = 0
        for _path, out in codec.decode_segments(segments):
            c_packets += out.packets.height - out.quarantine.height
            c_values += out.values.height
            c_quarantine += out.quarantine.height
            del out
        codec_s, codec_cpu = time.perf_counter() - t, time.process_time() - cpu
        print(
            f"codec: {npk:,} packets in {codec_s:.2f} s ({codec_cpu:.2f} s CPU, all threads) over {nseg} segments — "
            f"{c_packets:,} published, "
            f"{c_values:,} value rows, {c_quarantine:,} quarantined",
            flush=True,
        )

        naive = _naive_parser()
        t, cpu = time.perf_counter(), time.process_time()
        n_published = n_values = n_quarantined = 0
        for path in segments:
            d, index = read_segment(path)
            # Rows of a segment are counted and dropped, as the codec's are (a day of tuples would not fit).
            seg_packets: list = []
            seg_values: list = []
            seg_quarantine: list = []
            naive(d.tobytes(), index, seg_packets, seg_values, seg_quarantine)
            n_published += len(seg_packets)
            n_values += len(seg_values)
            n_quarantined += len(seg_quarantine)
            del seg_packets, seg_values, seg_quarantine
        naive_s, naive_cpu = time.perf_counter() - t, time.process_time() - cpu
        print(
            f"naive: {npk:,} packets in {naive_s:.2f} s ({naive_cpu:.2f} s CPU) — {n_published:,} published, "
            f"{n_values:,} value rows, {n_quarantined:,} quarantined",
            flush=True,
        )
    if (c_packets, c_values, c_quarantine) != (n_published, n_values, n_quarantined):
        raise SystemExit("codec and naive parser disagree on the counts above")
    codec_pps = npk / codec_s
    naive_pps = npk / naive_s
    ratio = codec_pps / naive_pps
    ok = "met" if codec_pps >= GOAL_PPS and ratio >= GOAL_RATIO else "MISSED"
    print(
        f"hj212 codec: {codec_pps:,.0f} packets/s vs naive {naive_pps:,.0f} packets/s = {ratio:.1f}x "
        f"({npk:,} packets; goals >= {GOAL_PPS:,} packets/s and >= {GOAL_RATIO:.0f}x: {ok})"
    )


if __name__ == "__main__":
    main()
