"""The vectorised HJ 212 codec: public test vectors, quarantine rules, round trips, fuzz.

Expected values are worked out by hand from the vectors' text (STANDARDS.md) or built by the test
from what it encoded (codes mapped with the csv module from the standards CSV), never taken from
the codec.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.hj212 import codec
from pipelines.hj212.protocol import STATUS_CODES, FrameScanner, crc16_modbus, encode_packet, format_cp
from pipelines.hj212.segments import INDEX_DTYPE, segment_stem
from tests.helpers import VECTOR_2005, VECTOR_2017, VECTOR_EMPTY_CP, crc_reference

REPO = Path(__file__).resolve().parents[1]

RECEIVED_US = 1_717_203_600_000_000  # 2024-06-01 01:00 UTC


def segment(records: list[bytes], statuses: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(b"".join(records), dtype=np.uint8)
    index = np.zeros(len(records), INDEX_DTYPE)
    lengths = np.array([len(r) for r in records], dtype=np.int64)
    index["offset"] = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if records else []
    index["length"] = lengths
    index["received_us"] = RECEIVED_US + np.arange(len(records))
    index["peer_ip"] = 0x7F000001
    index["peer_port"] = 9000
    index["status"] = statuses if statuses is not None else 0
    return data, index


def decode(records: list[bytes], **kwargs) -> codec.Decoded:
    return codec.decode(*segment(records), **kwargs)


def value_rows(decoded: codec.Decoded) -> list[tuple]:
    cols = ["packet_no", "mn", "pollutant_code", "pollutant_code_sent", "field", "value", "flag"]
    return [
        tuple(r) for r in decoded.values.select(pl.col(c).cast(pl.String) if c in cols[1:5] else c for c in cols).rows()
    ]


def csv_code_map() -> dict[str, str]:
    with (REPO / "standards/hj212/hj212_2017_codes.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return {r[2].strip(): r[0].strip() for r in rows[1:] if r[2].strip()}


CODE_MAP = csv_code_map()


def check_accounting(decoded: codec.Decoded, n: int) -> None:
    """Every record is in packets; published exactly when not quarantined; values only for published."""
    packets, values, quarantine = decoded
    assert packets["packet_no"].to_list() == list(range(n))
    q = set(quarantine["packet_no"].to_list())
    published = set(packets.filter(pl.col("quarantine_rule").is_null())["packet_no"].to_list())
    assert q.isdisjoint(published) and q | published == set(range(n))
    assert set(values["packet_no"].unique().to_list()) <= published
    assert packets.filter(pl.col("quarantine_rule").is_not_null())["packet_no"].to_list() == sorted(q)


# --------------------------------------------------------------------------- public vectors


def test_public_vectors():
    decoded = decode([VECTOR_2017, VECTOR_2005, VECTOR_EMPTY_CP])
    check_accounting(decoded, 3)
    packets = decoded.packets
    assert packets["quarantine_rule"].to_list() == [None, None, None]
    assert packets["status"].cast(pl.String).to_list() == ["ok", "ok", "ok"]
    assert packets["qn"].to_list() == ["20160801085857223", None, "20240601085857223"]
    assert packets["st"].cast(pl.String).to_list() == ["32", "32", "32"]
    assert packets["cn"].cast(pl.String).to_list() == ["1062", "2011", "1011"]
    assert packets["mn"].cast(pl.String).to_list() == [
        "010000A8900016F000169DC0",
        "LD130133000015",
        "010000A8900016F000169DC0",
    ]
    assert packets["flag"].to_list() == [5, None, 9]
    assert packets["protocol"].cast(pl.String).to_list() == ["2017", "2005", "2017"]
    # 17-digit 2005 DataTime 20160824003817000 = 2016-08-24 00:38:17.000, kept as naive local time.
    assert packets["data_time"].to_list() == [None, datetime(2016, 8, 24, 0, 38, 17), None]
    assert packets["crc_variant"].cast(pl.String).to_list() == ["hj212"] * 3
    assert packets["peer"].to_list() == ["127.0.0.1:9000"] * 3
    assert packets["pw_ok"].to_list() == [None] * 3
    # Only the 2005 vector carries values: B01 → w00000, 011 → w01018, 060 → w21003.
    assert value_rows(decoded) == [
        (1, "LD130133000015", "w00000", "B01", "Rtd", 36.91, None),
        (1, "LD130133000015", "w01018", "011", "Rtd", 231.0, "N"),
        (1, "LD130133000015", "w21003", "060", "Rtd", 1.803, "N"),
    ]
    values = decoded.values
    assert values["data_time"].to_list() == [datetime(2016, 8, 24, 0, 38, 17)] * 3
    assert (
        values["st"].cast(pl.String).to_list() == ["32"] * 3 and values["cn"].cast(pl.String).to_list() == ["2011"] * 3
    )
    assert decoded.quarantine.height == 0


def test_vector_with_bad_crc_is_quarantined_with_expected_and_sent():
    broken = VECTOR_2017[:-6] + b"1C81\r\n"
    decoded = decode([broken, VECTOR_2005[:-6] + b"zz80\r\n"])
    check_accounting(decoded, 2)
    q = decoded.quarantine
    assert q["rule"].cast(pl.String).to_list() == ["bad_crc", "bad_crc"]
    assert q["reason"][0] == "CRC sent 1C81, expected 1C80 (hj212 variant)"
    assert q["reason"][1] == "CRC sent (not 4 hex digits), expected 4980 (hj212 variant)"
    assert q["raw_text"][0] == broken.decode().replace("\r", "?").replace("\n", "?")
    assert q["raw"][0] == broken


def test_lower_case_crc_is_accepted():
    decoded = decode([VECTOR_2017[:-6] + b"1c80\r\n"])
    assert decoded.packets["quarantine_rule"].to_list() == [None]


# --------------------------------------------------------------------------- rules


def packet(cp: str, *, mn: str = "MN0001", qn: str | None = "20240601101500123", flag: int | None = 5, **kw) -> bytes:
    return encode_packet(
        qn=qn, st=kw.get("st", 32), cn=kw.get("cn", 2051), pw=kw.get("pw", "123456"), mn=mn, flag=flag, cp=cp
    )


DT = "DataTime=20240601101500;"


@pytest.mark.parametrize(
    ("record", "rule", "reason"),
    [
        (packet(DT + "w01018-Avg=1", mn=""), "no_mn", "no MN (device id) in the header"),
        (
            packet("DataTime=20241301101500;w01018-Avg=1"),
            "bad_data_time",
            "DataTime at data offset 67 is not a valid yyyyMMddHHmmss[SSS] time",
        ),
        (packet("DataTime=20240230101500"), "bad_data_time", None),  # February 30th
        (packet("DataTime=2024060110150;w01018-Avg=1"), "bad_data_time", None),  # 13 digits
        (packet("w01018-Avg=1"), "bad_data_time", "values without a DataTime"),
        (packet(DT + "DataTime=20240601101600"), "bad_data_time", None),
        (packet(DT + "w01018-Avg"), "bad_cp_item", None),
        (packet(DT + "-Avg=1"), "bad_cp_item", None),
        (packet(DT + "w01018-=1"), "bad_cp_item", None),
        (packet(DT + "w01018-Avg=abc"), "bad_value", None),
        (packet(DT + "w01018-Avg="), "bad_value", None),
        (packet(DT + "w01018-Avg=1.2.3"), "bad_value", None),
        (packet(DT + "w01018-Avg=1,w01018-Flag="), "bad_value", None),
        (packet(DT + "w01018-Avg=1", flag=None), None, None),  # no Flag: fine
        (b"##0010QN=1;ST=32\r\n", "bad_length", None),
        (b"##2000" + b"x" * 2000 + b"ABCD\r\n", "bad_length", None),
        (b"hello\r\n", "framing", None),
        (b"##abcd\r\n", "framing", None),
    ],
)
def test_quarantine_rules(record, rule, reason):
    decoded = decode([record])
    check_accounting(decoded, 1)
    assert decoded.packets["quarantine_rule"].cast(pl.String).to_list() == [rule]
    if rule is None:
        assert decoded.values.height == 1
        return
    assert decoded.values.height == 0
    assert decoded.quarantine["rule"].cast(pl.String).to_list() == [rule]
    if reason:
        assert decoded.quarantine["reason"][0] == reason


def test_header_problems():
    no_cn = b"QN=1;ST=32;PW=1;MN=M;Flag=4;CP=&&&&"
    bad_flag = b"QN=1;ST=32;CN=2011;PW=1;MN=M;Flag=x;CP=&&&&"
    no_cp = b"QN=1;ST=32;CN=2011;PW=1;MN=M;Flag=4"
    frames = [b"##%04d%s%04X\r\n" % (len(d), d, crc_reference(d)) for d in (no_cn, bad_flag, no_cp)]
    decoded = decode(frames)
    check_accounting(decoded, 3)
    q = decoded.quarantine
    assert q["rule"].cast(pl.String).to_list() == ["bad_header", "bad_header", "no_cp"]
    assert q["reason"].to_list()[:2] == ["header field CN missing", "header field Flag is not a number"]


def test_gateway_status_byte_is_not_trusted():
    garbage = b"##0005abcdeZZZZ\r\n"
    data, index = segment([VECTOR_2017, garbage], statuses=[STATUS_CODES["bad_crc"], STATUS_CODES["ok"]])
    decoded = codec.decode(data, index)
    packets = decoded.packets
    assert packets["gateway_status"].cast(pl.String).to_list() == ["bad_crc", "ok"]
    assert packets["status"].cast(pl.String).to_list() == ["ok", "bad_crc"]
    assert packets["quarantine_rule"].cast(pl.String).to_list() == [None, "bad_crc"]


def test_modbus_variant_per_mn_and_passwords():
    data = VECTOR_2005[6:-6]
    modbus = b"##%04d%s%04X\r\n" % (len(data), data, crc16_modbus(data))
    assert decode([modbus]).packets["quarantine_rule"].cast(pl.String).to_list() == ["bad_crc"]
    decoded = decode([modbus, VECTOR_2017], crc_variants={"LD130133000015": "modbus"})
    assert decoded.packets["quarantine_rule"].to_list() == [None, None]
    assert decoded.packets["crc_variant"].cast(pl.String).to_list() == ["modbus", "hj212"]
    with pytest.raises(ValueError, match="CRC variant 'crc32' of MN 'X'"):
        decode([VECTOR_2017], crc_variants={"X": "crc32"})
    # 010000A8900016F000169DC0 is configured with 123456: the first vector's PW 100000 is wrong.
    decoded = decode([VECTOR_2017, VECTOR_EMPTY_CP, VECTOR_2005], passwords={"010000A8900016F000169DC0": "123456"})
    assert decoded.packets["pw_ok"].to_list() == [False, True, None]
    assert decoded.packets["quarantine_rule"].cast(pl.String).to_list() == ["bad_password", None, None]


def test_flags_fields_and_numbers():
    cp = (
        "DataTime=20240601101500;a21026-Rtd=12.5,a21026-ZsRtd=14.25,a21026-Flag=M,a21026-EFlag=A01;"
        "a19001-Avg=-0.5e1,a19001-Flag=D;w00000-Cou=+3.,w00000-SampleTime=20240601101000;"
        "a34013-Avg=0.1000000000000000055511151231257827;a21002-Avg=5e-324"
    )
    decoded = decode([packet(cp, st=31)])
    assert decoded.packets["quarantine_rule"].to_list() == [None]
    rows = decoded.values.select("pollutant_code", "field", "value", "value_text", "flag").rows()
    assert [tuple(str(x) if isinstance(x, str) or x is None else x for x in r) for r in rows] == [
        ("a21026", "Rtd", 12.5, "None", "M"),
        ("a21026", "ZsRtd", 14.25, "None", "M"),
        ("a21026", "EFlag", "None", "A01", "M"),
        ("a19001", "Avg", -5.0, "None", "D"),
        ("w00000", "Cou", 3.0, "None", "None"),
        ("w00000", "SampleTime", 20240601101000.0, "None", "None"),
        ("a34013", "Avg", 0.1, "None", "None"),
        ("a21002", "Avg", 5e-324, "None", "None"),
    ]


def test_2005_codes_with_a_qn_make_a_2005_packet():
    decoded = decode([packet(DT + "011-Avg=1"), packet(DT + "w01018-Avg=1")])
    assert decoded.packets["protocol"].cast(pl.String).to_list() == ["2005", "2017"]
    assert decoded.values["pollutant_code"].cast(pl.String).to_list() == ["w01018", "w01018"]


def test_decode_segment_from_files(tmp_path):
    data, index = segment([VECTOR_2017, VECTOR_2005, VECTOR_EMPTY_CP])
    stem = segment_stem("gw1", RECEIVED_US, 0)
    data.tofile(tmp_path / f"{stem}.dat")
    index.tofile(tmp_path / f"{stem}.idx")
    decoded = codec.decode_segment(tmp_path / f"{stem}.idx")
    assert decoded.values.height == 3 and decoded.packets.height == 3
    assert decoded.packets["received_at"].dt.epoch("us").to_list() == [RECEIVED_US, RECEIVED_US + 1, RECEIVED_US + 2]


def test_decode_segments_pipeline_equals_decoding_each_segment(tmp_path):
    """The pipelined reader (next segment's compiled pass beside the current one's assembly) gives,
    per segment and in order, what decode_segment gives; passwords and CRC variants included."""
    paths = []
    for k in range(4):
        records = [packet(DT + f"w01018-Avg={k}{j}.5,w01018-Flag=N", mn=f"MN{j % 7}") for j in range(300 + k)]
        records[k] = records[k][:-6] + b"XXXX\r\n"  # one bad CRC per segment, at a different place
        data, index = segment(records)
        stem = segment_stem("gw1", RECEIVED_US + k * 1_000_000, k)
        data.tofile(tmp_path / f"{stem}.dat")
        index.tofile(tmp_path / f"{stem}.idx")
        paths.append(tmp_path / f"{stem}.dat")
    options = {"passwords": {"MN1": "123456", "MN2": "wrong"}, "crc_variants": {"MN3": "modbus"}}
    piped = list(codec.decode_segments(paths, **options))
    assert [p for p, _ in piped] == paths
    for path, decoded in piped:
        alone = codec.decode_segment(path, **options)
        for a, b in zip(decoded, alone, strict=True):
            assert a.with_columns(pl.col(pl.Enum).cast(pl.String)).equals(
                b.with_columns(pl.col(pl.Enum).cast(pl.String))
            )
        assert decoded.quarantine.height >= 1
    assert [p for p, _ in codec.decode_segments(paths[:1])] == paths[:1]
    assert list(codec.decode_segments([])) == []


def test_empty_segment():
    decoded = decode([])
    assert (decoded.packets.height, decoded.values.height, decoded.quarantine.height) == (0, 0, 0)


def test_many_packets_on_several_threads_match_one_thread():
    records = [packet(DT + f"w01018-Avg={k}.5,w01018-Flag=N;060-Rtd={k}", mn=f"MN{k % 97}") for k in range(45_000)]
    records[123] = records[123][:-6] + b"XXXX\r\n"  # one bad CRC
    one = codec.decode(*segment(records), threads=1)
    two = codec.decode(*segment(records), threads=2)
    for a, b in zip(one, two, strict=True):
        assert a.with_columns(pl.col(pl.Enum).cast(pl.String)).equals(b.with_columns(pl.col(pl.Enum).cast(pl.String)))
    assert one.values.height == 2 * (45_000 - 1)
    assert one.values.filter(pl.col("packet_no") == 44_999)["value"].to_list() == [44999.5, 44999.0]


def test_arrays_and_intern_table_grow():
    # Short items (many rows per byte) and a new MN and codes in every packet overflow the first
    # row estimate and the first intern table; nothing may be lost or mixed up when they grow.
    records, expected = [], []
    for k in range(3000):
        items = ",".join(f"c{k}x{j}-F{j % 3}={j}" for j in range(60))
        records.append(packet(DT + items, mn=f"M{k}"))
        expected += [(k, f"M{k}", f"c{k}x{j}", f"c{k}x{j}", f"F{j % 3}", float(j), None) for j in range(60)]
    decoded = codec.decode(*segment(records), threads=1)
    assert decoded.quarantine.height == 0
    assert value_rows(decoded) == expected


# --------------------------------------------------------------------------- round trip

MN_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CODES_2017 = ["w01018", "w21003", "w00000", "a21026", "a21002", "a34013", "a19001", "w01001", "x99999"]
CODES_2005 = ["011", "060", "B01", "B02", "02", "03", "001"]
FIELDS = ["Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax"]


@st.composite
def numbers(draw) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return str(draw(st.integers(-(10**9), 10**9)))
    if kind == 1:
        x = draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
        return f"{x:.{draw(st.integers(0, 6))}f}"
    if kind == 2:
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
    return f"{draw(st.integers(1, 999))}e{draw(st.integers(-30, 30))}"


@st.composite
def packets(draw):
    legacy = draw(st.booleans())
    mn = draw(st.text(MN_CHARS, min_size=1, max_size=24))
    data_time = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
    dt_text = data_time.strftime("%Y%m%d%H%M%S") + (f"{data_time.microsecond // 1000:03d}" if legacy else "")
    data_time = data_time.replace(microsecond=(data_time.microsecond // 1000) * 1000 if legacy else 0)
    codes = draw(st.lists(st.sampled_from(CODES_2005 if legacy else CODES_2017), max_size=4, unique=True))
    pollutants = {}
    for code in codes:
        fields = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True))
        entry = {f: draw(numbers()) for f in fields}
        flag = draw(st.none() | st.sampled_from("NFMSDCTB"))
        if flag:
            entry["Flag"] = flag
        pollutants[code] = entry
    flag = None if legacy else draw(st.sampled_from([4, 5, 6, 7, 9]))
    split = flag is not None and flag & 2
    qn = None if legacy else data_time.strftime("%Y%m%d%H%M%S") + "123"
    cp = format_cp(dt_text if codes or draw(st.booleans()) else None, pollutants)
    raw = encode_packet(
        qn=qn,
        st=draw(st.sampled_from([31, 32])),
        cn=draw(st.sampled_from([2011, 2051, 2061, 2031])),
        pw="123456",
        mn=mn,
        flag=flag,
        cp=cp,
        pnum=3 if split else None,
        pno=1 if split else None,
    )
    expected = [
        (mn, CODE_MAP.get(code, code), code, f, float(v), entry.get("Flag"))
        for code, entry in pollutants.items()
        for f, v in entry.items()
        if f != "Flag"
    ]
    return (
        raw,
        expected,
        {"mn": mn, "qn": qn, "flag": flag, "legacy": legacy, "data_time": data_time if codes else None},
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(packets(), min_size=1, max_size=12), st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_round_trip_through_scanner_and_codec(items, cuts):
    stream = b"".join(raw for raw, _, _ in items)
    scanner = FrameScanner()
    frames, pos, k = [], 0, 0
    while pos < len(stream):  # arbitrary TCP chunking
        size = cuts[k % len(cuts)]
        frames += scanner.feed(stream[pos : pos + size])
        pos, k = pos + size, k + 1
    frames += scanner.flush()
    assert [f.raw for f in frames] == [raw for raw, _, _ in items]
    assert all(f.status == "ok" for f in frames)
    decoded = codec.decode(*segment([f.raw for f in frames], [STATUS_CODES[f.status] for f in frames]))
    check_accounting(decoded, len(items))
    assert decoded.quarantine.height == 0
    expected = [(k, *row) for k, (_, rows, _) in enumerate(items) for row in rows]
    assert value_rows(decoded) == expected
    packets_ = decoded.packets
    assert packets_["mn"].cast(pl.String).to_list() == [meta["mn"] for _, _, meta in items]
    assert packets_["qn"].to_list() == [meta["qn"] for _, _, meta in items]
    assert packets_["flag"].to_list() == [meta["flag"] for _, _, meta in items]
    assert packets_["protocol"].cast(pl.String).to_list() == ["2005" if m["legacy"] else "2017" for _, _, m in items]
    with_values = [(k, m["data_time"]) for k, (_, _, m) in enumerate(items) if m["data_time"] is not None]
    dts = packets_["data_time"].to_list()
    assert [(k, dts[k]) for k, _ in with_values] == with_values


# --------------------------------------------------------------------------- fuzz


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        p = rng.randrange(len(b) + 1)
        if op < 0.4 and b:
            b[min(p, len(b) - 1)] = rng.randrange(256)
        elif op < 0.7:
            b[p:p] = bytes(rng.choice([b"#", b";", b",", b"=", b"&", b"-", b"\r\n", b"9", b"\x00", b"\xff"]))
        elif b:
            del b[p : p + rng.randint(1, 5)]
    return bytes(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_fuzz_scanner_and_codec_never_raise(seed):
    rng = random.Random(seed)
    good = [VECTOR_2017, VECTOR_2005, VECTOR_EMPTY_CP, packet(DT + "w01018-Avg=1.5,w01018-Flag=N")]
    pieces = []
    for _ in range(rng.randint(1, 25)):
        r = rng.random()
        if r < 0.3:
            pieces.append(rng.choice(good))
        elif r < 0.8:
            pieces.append(_mutate(rng, rng.choice(good)))
        else:
            pieces.append(rng.randbytes(rng.randint(0, 300)))
    stream = b"".join(pieces)
    scanner = FrameScanner()
    frames, pos = [], 0
    while pos < len(stream):
        size = rng.randint(1, 400)
        frames += scanner.feed(stream[pos : pos + size])
        pos += size
    frames += scanner.flush()
    assert b"".join(f.raw for f in frames) == stream
    # The codec also gets the pieces as records, whatever the scanner made of them.
    for records in ([f.raw for f in frames], [p for p in pieces if p]):
        decoded = codec.decode(*segment(records))
        check_accounting(decoded, len(records))
        ok = decoded.packets.filter(pl.col("quarantine_rule").is_null())
        assert ok["status"].cast(pl.String).unique().to_list() in ([], ["ok"])
        for k in ok["packet_no"].to_list():
            assert FrameScanner().feed(records[k])[0].status == "ok"  # published ⇒ well framed, CRC right
