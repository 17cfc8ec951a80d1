"""HJ 212 packets end to end: segments written here through the gateway's SegmentWriter (a handful of
outlets, values chosen by hand), ingested by the asset, modelled into the pollution_source theme.
Served values, a resent record published once (the latest receipt), exceedances, emissions, the
transmission rate, enforcement leads with their evidence rows, quarantined packets with their
reasons and reconciled batches — every expected figure worked out by hand below. Also: the demo
fleet's segments ingest with their mess quarantined, and the simulator talks to a real gateway."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from pipelines.hj212.protocol import FrameScanner, encode_packet
from pipelines.hj212.segments import STATUS_CODES, SegmentWriter, read_segment, sealed_segments
from tests.helpers import REPO, crc_reference, env_for, free_port, query, settings_for
from tests.test_outlets_enforcement import OUTLETS, _write_registry

CST = timezone(timedelta(hours=8))
D = datetime(2024, 3, 1)  # the day of the crafted data (naive China Standard Time, as DataTime is)
# outlets of the crafted registry of tests/test_outlets_enforcement.py (delivered again here)
WATER = "LD510600000001"  # 德阳, w01018 COD ≤ 100 mg/L, w21003 NH3-N ≤ 10 mg/L, pH 6~9
GAS = "51010000000001"  # 成都, a21026 SO2 ≤ 35 mg/m³
UNKNOWN = "51099900000001"  # not in the registry; a legacy HJ/T 212-2005 logger
GAP = range(600, 780)  # minutes of D without a minute packet from WATER (10:00–12:59)
CALIBRATION = range(300, 310)  # WATER's COD flagged C
FLAT = range(0, 300)  # WATER's COD constant 42.0 with flag N (00:00–04:59)
RESENT_MINUTES = (1000, 1001, 1002)  # WATER's minute packets resent after a reconnect
UNKNOWN_MINUTES = range(0, 240)
UNKNOWN_MAINTENANCE = range(0, 150)


def _us(at: datetime) -> int:
    return int(at.replace(tzinfo=CST).timestamp() * 1_000_000)


def _qn(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S") + f"{at.microsecond // 1000:03d}"


def _cp(data_time: datetime, items: dict[str, dict[str, object]]) -> str:
    parts = [f"DataTime={data_time:%Y%m%d%H%M%S}"]
    parts += [",".join(f"{code}-{k}={v}" for k, v in fields.items()) for code, fields in items.items()]
    return ";".join(parts)


def _packet(mn: str, st: str, cn: str, data_time: datetime, received: datetime, items, *, legacy=False) -> tuple:
    raw = encode_packet(
        qn=None if legacy else _qn(received),
        st=st,
        cn=cn,
        pw="123456",
        mn=mn,
        flag=None if legacy else 5,
        cp=_cp(data_time, items),
    )
    return received, raw


def cod_minute(m: int) -> float:
    return 42.0 if m in FLAT else 40.0 + m % 7


def water_packets() -> tuple[list[tuple], list[bytes]]:
    """WATER's day: minute packets (but the gap), hourly and daily packets, the resends; and the four
    packets the codec must refuse."""
    packets = []
    for m in range(1440):
        if m in GAP:
            continue
        at = D + timedelta(minutes=m)
        flag = "C" if m in CALIBRATION else "N"
        items = {
            "w01018": {"Avg": cod_minute(m), "Min": cod_minute(m), "Max": cod_minute(m), "Cou": 0.025, "Flag": flag},
            "w21003": {"Avg": round(5 + (m % 5) * 0.1, 1), "Cou": 0.003, "Flag": "N"},
            "w01001": {"Avg": round(7 + (m % 3) * 0.1, 1), "Flag": "N"},
        }
        packets.append(_packet(WATER, "32", "2051", at, at + timedelta(seconds=65), items))
    for m in RESENT_MINUTES:  # the same bytes again, two hours later (after a reconnect)
        received, raw = next(p for p in packets if p[0] == D + timedelta(minutes=m, seconds=65))
        packets.append((received + timedelta(hours=2), raw))
    for h in range(24):
        at = D + timedelta(hours=h)
        cod = {"Avg": 42.0, "Min": 42.0, "Max": 42.0} if h < 5 else {"Avg": 50.0, "Min": 30.0, "Max": 70.0}
        if h == 14:
            cod = {"Avg": 125.0, "Min": 30.0, "Max": 150.0}
        nh3 = 9.5 if h < 12 else 5.0
        items = {
            "w01018": {**cod, "Cou": 1.5, "Flag": "N"},
            "w21003": {"Avg": nh3, "Min": nh3 - 0.2, "Max": nh3 + 0.2, "Cou": 0.2, "Flag": "N"},
            "w01001": {"Avg": 7.2, "Min": 7.0, "Max": 7.4, "Flag": "N"},
        }
        packets.append(_packet(WATER, "32", "2061", at, at + timedelta(hours=1, seconds=40), items))
        if h == 14:  # resent 5 minutes later with a new QN and the logger's recomputed COD: the latest wins
            items = {**items, "w01018": {"Avg": 130.0, "Min": 30.0, "Max": 150.0, "Cou": 1.5, "Flag": "N"}}
            packets.append(_packet(WATER, "32", "2061", at, at + timedelta(hours=1, minutes=5), items))
    daily = {"w01018": {"Avg": 48.0, "Cou": 36.2, "Flag": "N"}}
    packets.append(_packet(WATER, "32", "2031", D, D + timedelta(days=1, minutes=3), daily))

    received = D + timedelta(minutes=100, seconds=64)
    good = next(raw for at, raw in packets if at == D + timedelta(minutes=100, seconds=65))
    bad_crc = good[:-6] + (b"0000\r\n" if not good.endswith(b"0000\r\n") else b"1111\r\n")
    bad_time = encode_packet(
        qn=_qn(received), st="32", cn="2051", pw="123456", mn=WATER, flag=5, cp="DataTime=20240301256100;w01018-Avg=1"
    )
    bad_item = encode_packet(
        qn=_qn(received), st="32", cn="2051", pw="123456", mn=WATER, flag=5, cp="DataTime=20240301011000;w01018-Avg:12"
    )
    noise = b"+CSQ: 23,99\r\n"
    refused = [bad_crc, noise, bad_time, bad_item]
    packets += [(received + timedelta(milliseconds=k), raw) for k, raw in enumerate(refused)]
    return sorted(packets, key=lambda p: p[0]), refused


def other_packets() -> list[tuple]:
    """GAS: hourly data only (SO2 ZsAvg 40 > 35 at 08:00); UNKNOWN: four hours of minute data from a
    2005 logger (code 011), the first 150 minutes flagged M."""
    packets = []
    for h in range(24):
        at = D + timedelta(hours=h)
        zs, avg = (40.0, 30.0) if h == 8 else (20.0, 15.0)
        so2 = {"Avg": avg, "Min": avg - 1, "Max": avg + 1, "ZsAvg": zs, "ZsMin": zs - 1, "ZsMax": zs + 1}
        item = {"a21026": {**so2, "Cou": 0.5, "Flag": "N"}}
        packets.append(_packet(GAS, "31", "2061", at, at + timedelta(hours=1, seconds=30), item))
    for m in UNKNOWN_MINUTES:
        at = D + timedelta(minutes=m)
        flag = "M" if m in UNKNOWN_MAINTENANCE else "N"
        item = {"011": {"Avg": 20.0 + m % 4, "Flag": flag}}
        packets.append(_packet(UNKNOWN, "32", "2051", at, at + timedelta(seconds=70), item, legacy=True))
    return sorted(packets, key=lambda p: p[0])


async def _land(landing: Path, gateway_id: str, packets: list[tuple]) -> None:
    """Through the gateway's own writer, each packet with the gateway's framing verdict."""
    writer = SegmentWriter(landing, gateway_id, seal_seconds=3600)
    await writer.start()
    for k, (received, raw) in enumerate(packets):
        scanner = FrameScanner()
        frames = scanner.feed(raw) + scanner.flush()
        assert len(frames) == 1, raw
        writer.append(raw, _us(received), (10 << 24) + 7, 40000 + k % 3, STATUS_CODES[frames[0].status])
    await writer.close()


def land(warehouse: Path) -> None:
    """This module's deliveries: the registry (as tests/test_outlets_enforcement.py writes it: the same
    file, so the shared warehouse holds one) and two segments."""
    landing = warehouse / "landing"
    _write_registry(landing / OUTLETS / "registry_2023.xlsx")
    water, _ = water_packets()
    asyncio.run(_land(landing, "testA", water))
    asyncio.run(_land(landing, "testB", other_packets()))


HELD_AT = D + timedelta(days=1, hours=1)


def land_mess(warehouse: Path) -> None:
    """A segment with more refused packets than the contract tolerates (1 of 2 > 20 %): held."""
    item = {"a21026": {"Avg": 99.0, "ZsAvg": 99.0, "Flag": "N"}}
    good = _packet(GAS, "31", "2061", D + timedelta(days=1), HELD_AT, item)
    asyncio.run(_land(warehouse / "landing", "testC", [good, (HELD_AT + timedelta(seconds=1), b"##garbage\r\n")]))


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


def test_public_vectors_frame_as_the_simulator_encodes() -> None:
    from pipelines.hj212.simulator import crc16_many

    vectors = [
        b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&",
        b"ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,"
        b"011-Flag=N;060-Rtd=1.803,060-Flag=N&&",
        b"QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&",
    ]
    assert [int(c) for c in crc16_many(vectors)] == [0x1C80, 0x4980, 0x2200]
    assert [crc_reference(v) for v in vectors] == [0x1C80, 0x4980, 0x2200]


def test_minute_values_served_once_per_record(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select data_time, avg_value, flag, receipts, is_registered, region_code, credit_code "
        "from pollution_source.outlet_minute_values where outlet_mn = ? and pollutant_code = 'w01018' "
        "and data_time in (?, ?, ?, ?) order by data_time",
        [WATER, D, D + timedelta(minutes=305), D + timedelta(minutes=1000), D + timedelta(minutes=1001)],
    )
    # COD 42.0 at 00:00 (flatline), 40 + 305 mod 7 = 44 at 05:05 (calibration C), 40 + 1000 mod 7 = 46
    # and 40 + 1001 mod 7 = 40 at 16:40/16:41: received twice, served once
    deyang = ("510600", "91110000600037341L")
    assert rows == [
        (D, 42.0, "N", 1, True, *deyang),
        (D + timedelta(minutes=305), 44.0, "C", 1, True, *deyang),
        (D + timedelta(minutes=1000), 46.0, "N", 2, True, *deyang),
        (D + timedelta(minutes=1001), 40.0, "N", 2, True, *deyang),
    ]
    counts = query(
        warehouse,
        "select outlet_mn, count(*), count(distinct data_time) from pollution_source.outlet_minute_values "
        "where outlet_mn in (?, ?) group by all order by 1",
        [WATER, UNKNOWN],
    )
    # WATER: 1,440 − 180 gap minutes = 1,260 minutes × 3 pollutants; UNKNOWN: 240 minutes × 1
    assert counts == [(UNKNOWN, 240, 240), (WATER, 1260 * 3, 1260)]
    legacy = query(
        warehouse,
        "select distinct pollutant_code, pollutant_code_sent, is_registered, region_code "
        "from pollution_source.outlet_minute_values where outlet_mn = ?",
        [UNKNOWN],
    )
    assert legacy == [("w01018", "011", False, None)]


def test_a_resent_record_is_published_once_from_its_latest_receipt(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select avg_value, receipts, received_at from pollution_source.outlet_hourly_values "
        "where outlet_mn = ? and pollutant_code = 'w01018' and data_time = ?",
        [WATER, D + timedelta(hours=14)],
    )
    assert rows == [(130.0, 2, D + timedelta(hours=15, minutes=5))]


def test_exceedances_against_the_permitted_limits(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select outlet_mn, pollutant_code, data_time, compared_field, compared_value, limit_upper, direction, "
        "exceedance_multiple, region_code from pollution_source.exceedances where outlet_mn in (?, ?, ?) order by 1",
        [WATER, GAS, UNKNOWN],
    )
    assert rows == [
        # SO2 ZsAvg 40 > 35 (Avg 30 would not be): (40 − 35) / 35 = 0.142857… → 0.1429
        (GAS, "a21026", D + timedelta(hours=8), "ZsAvg", 40.0, 35.0, "above", 0.1429, "510100"),
        # COD hourly Avg 130 (the latest receipt; the first said 125) > 100: (130 − 100) / 100 = 0.3
        (WATER, "w01018", D + timedelta(hours=14), "Avg", 130.0, 100.0, "above", 0.3, "510600"),
    ]


def test_daily_emissions_from_the_hourly_amounts(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select pollutant_code, emission_from_hours, hours_with_amount, emission_reported_daily, amount_unit "
        "from pollution_source.outlet_daily_emissions where outlet_mn = ? and emission_date = ? order by 1",
        [WATER, D.date()],
    )
    # COD 24 h × 1.5 kg = 36.0 (the daily record says 36.2); NH3-N 24 × 0.2 = 4.8; pH has no Cou
    assert [(r[0], round(r[1], 6), r[2], r[3], r[4]) for r in rows] == [
        ("w01018", 36.0, 24, 36.2, "千克"),
        ("w21003", 4.8, 24, None, "千克"),
    ]


def test_transmission_effective_rate(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select outlet_mn, expected_records, received_records, valid_records, transmission_rate, effective_rate, "
        "is_registered from pollution_source.transmission_rates where rate_date = ? and outlet_mn in (?, ?, ?) "
        "order by 1",
        [D.date(), WATER, GAS, UNKNOWN],
    )
    assert rows == [
        (GAS, 1440, 0, 0, 0.0, 0.0, True),  # registered, hourly data only: no minute record
        (UNKNOWN, 1440, 240, 90, 0.1667, 0.0625, False),  # 240 / 1440; 240 − 150 flagged M = 90 valid
        # 1,440 − 180 = 1,260 received (the resends count once) → 0.875; 1,260 − 10 C = 1,250 → 0.8681
        (WATER, 1440, 1260, 1250, 0.875, 0.8681, True),
    ]


def _leads(warehouse: Path) -> dict[tuple, tuple]:
    rows = query(
        warehouse,
        "select rule, outlet_mn, pollutant_code, lead_id, started_at, ended_at, measure, threshold, evidence_rows "
        "from pollution_source.anomaly_leads where outlet_mn in (?, ?, ?)",
        [WATER, GAS, UNKNOWN],
    )
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def test_leads_for_enforcement(warehouse: Path) -> None:
    leads = {k: (v[1], v[2], v[3], v[4], v[5]) for k, v in _leads(warehouse).items()}
    assert leads == {
        # COD 42.0 from 00:00 to 04:59 with flag N: 300 minutes = 5 h ≥ 4 h
        ("flatline", WATER, "w01018"): (D, D + timedelta(minutes=299), 5.0, 4.0, 300),
        # hourly COD Min = Max at 00:00 … 04:00: 5 hours ≥ 3
        ("zero_variance", WATER, "w01018"): (D, D + timedelta(hours=4), 5.0, 3.0, 5),
        # NH3-N 9.5 ≥ 0.9 × 10 and ≤ 10 for hours 0–11: 12 ≥ 12
        ("near_limit", WATER, "w21003"): (D, D + timedelta(hours=11), 12.0, 12.0, 12),
        # 180 of 1,440 minutes missing = 0.125 > 0.1: one gap
        ("missing_data", WATER, None): (D + timedelta(minutes=600), D + timedelta(minutes=779), 0.125, 0.1, 1),
        # no minute record at all: the whole day is one gap
        ("missing_data", GAS, None): (D, D + timedelta(minutes=1439), 1.0, 0.1, 1),
        # 1,200 of 1,440 missing → 0.8333; 150 minutes flagged M > 120
        ("missing_data", UNKNOWN, None): (D + timedelta(minutes=240), D + timedelta(minutes=1439), 0.8333, 0.1, 1),
        ("frequent_flags", UNKNOWN, None): (D, D + timedelta(minutes=149), 150.0, 120.0, 150),
    }


def test_a_flatline_lead_has_its_evidence_rows(warehouse: Path) -> None:
    lead_id = _leads(warehouse)[("flatline", WATER, "w01018")][0]
    evidence = query(
        warehouse,
        "select evidence_no, pollutant_code, command_code, data_time, field, value, flag "
        "from pollution_source.anomaly_lead_evidence where lead_id = ? order by evidence_no",
        [lead_id],
    )
    assert evidence == [(n + 1, "w01018", "2051", D + timedelta(minutes=n), "Avg", 42.0, "N") for n in FLAT]
    gap = query(
        warehouse,
        "select data_time, data_time_end, value from pollution_source.anomaly_lead_evidence where lead_id = ?",
        [_leads(warehouse)[("missing_data", WATER, None)][0]],
    )
    assert gap == [(D + timedelta(minutes=600), D + timedelta(minutes=779), 180.0)]


def test_refused_packets_are_quarantined_with_their_reason(warehouse: Path) -> None:
    _, refused = water_packets()
    rows = query(
        warehouse,
        "select q.rule, q.field, q.reason, q.record from quarantine.pollution_source__hj212_packets q "
        "join catalog.ingest_batches b on b.delivery_id = q._delivery_id where b.delivery_id like 'testA-%' "
        "order by q._source_line",
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("bad_crc", "CRC"),
        ("framing", "frame"),
        ("bad_data_time", "DataTime"),
        ("bad_cp_item", "CP"),
    ]
    data = refused[0][6:-6]
    expected, sent = crc_reference(data), refused[0][-6:-2].decode()
    assert f"CRC sent {sent}" in rows[0][2] and f"expected {expected:04X}" in rows[0][2]
    assert "DataTime" in rows[2][2] and "code-field=value" in rows[3][2]
    assert rows[1][3].startswith("+CSQ: 23,99")


def test_segments_reconcile_and_the_held_one_is_not_served(warehouse: Path) -> None:
    water, refused = water_packets()
    batches = {
        r[0].split("-")[0]: r[1:]
        for r in query(
            warehouse,
            "select delivery_id, status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches "
            "where dataset = 'pollution_source/hj212_packets'",
        )
    }
    # WATER: 1,260 minutes + 3 resent + 24 hours + 1 resent + 1 day + 4 refused = 1,293 packets
    assert len(water) == 1293
    others = len(other_packets())  # 24 GAS hours + 240 UNKNOWN minutes
    assert batches == {
        "testA": ("published", 1293, 1289, 4),
        "testB": ("published", others, others, 0),
        "testC": ("held", 2, 1, 1),
    }
    raw = query(
        warehouse,
        "select count(*) from raw.pollution_source__hj212_packets where split_part(segment, '-', 1) like 'test_'",
    )[0][0]
    assert raw == 1289 + others + 1
    held = query(
        warehouse,
        "select count(*) from pollution_source.outlet_hourly_values where outlet_mn = ? and data_time >= ?",
        [GAS, D + timedelta(days=1)],
    )
    assert held == [(0,)]


# --------------------------------------------------------------------------------------------
# the simulator


def test_demo_segments_ingest_with_their_mess_quarantined(tmp_path: Path) -> None:
    from pipelines.hj212 import simulator
    from pipelines.hj212.ingest import ingest_segments, pending_segments

    devices = simulator.demo_fleet(2021, outlets=30, unknown=2)
    packets = simulator.plan(devices, datetime(2023, 12, 31, 22), 120, 2021)
    written = simulator.write_segments(tmp_path / "landing", packets)
    assert [p.with_suffix(".idx") for p in written] == sealed_segments(tmp_path / "landing")
    settings = settings_for(tmp_path)
    report = ingest_segments(settings, pending_segments(settings))
    bad_crc, noise = int((packets.status == 1).sum()), int((packets.status == 3).sum())
    assert report.rows_in == len(packets)
    assert report.rows_quarantined == bad_crc + noise
    assert report.quarantine_by_rule == {k: v for k, v in {"bad_crc": bad_crc, "framing": noise}.items() if v}
    assert all(b.rows_in == b.rows_published + b.rows_quarantined for b in report.batches)
    assert pending_segments(settings) == []  # recorded: not ingested twice
    # the minute records of two hours, every device, each published once downstream of the resends
    keys = query(
        tmp_path,
        "select count(*), count(distinct (mn, cn, data_time)) from raw.pollution_source__hj212_packets "
        "where cn = '2051'",
    )[0]
    assert keys[0] >= keys[1] and keys[1] <= len(devices) * 120
    assert {d.mn for d in devices} >= {
        r[0] for r in query(tmp_path, "select distinct mn from raw.pollution_source__hj212_packets")
    }
    # minute data leaves the logger 1–15 s after its minute ends: received_at is the same clock (CST)
    lag = query(
        tmp_path,
        "select median(date_diff('second', data_time, received_at)) from raw.pollution_source__hj212_packets "
        "where cn = '2051'",
    )[0][0]
    assert 61 <= lag <= 75
    data, index = read_segment(written[0])
    assert len(data) == int(index["offset"][-1] + index["length"][-1])


@pytest.mark.slow
def test_the_simulator_sends_to_a_running_gateway(tmp_path: Path) -> None:
    from pipelines.hj212 import simulator

    port = free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "hj212-gateway", "--port", str(port), "--seal-seconds", "1"],
        cwd=REPO,
        env=env_for(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or gateway.poll() is not None:
                    raise AssertionError("gateway did not start") from None
                time.sleep(0.2)
        packets = simulator.live_plan(8, 3, 2021)
        report = asyncio.run(simulator.send(packets, "127.0.0.1", port, speed=120))
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=30)
    landed = [read_segment(p)[1] for p in sealed_segments(tmp_path / "landing")]
    index = np.concatenate(landed)
    assert len(index) == len(packets) == report.packets
    statuses = np.bincount(index["status"], minlength=4)
    assert statuses[1] == int((packets.status == 1).sum()) and statuses[3] == int((packets.status == 3).sum())
    # a reply to every good 2017 packet (Flag 5 asks for one); none to the 2005 loggers' or the bad ones
    wanting = sum(
        1 for frame, status in zip(packets.frames, packets.status, strict=True) if status == 0 and b";Flag=5;" in frame
    )
    assert report.acks == wanting
