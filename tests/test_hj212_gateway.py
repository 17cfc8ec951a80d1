"""The HJ 212 gateway as deployed: a real `ecolake hj212-gateway` process, real sockets, real files.

Expected replies and CRCs come from a bit-by-bit port of the standard's CRC loop written here,
checked first against the three public test vectors of STANDARDS.md."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pipelines.hj212.gateway import DeviceConfigError, load_devices
from pipelines.hj212.segments import (
    INDEX_DTYPE,
    SegmentWriter,
    read_segment,
    recover_segments,
    sealed_segments,
)
from tests.helpers import (
    HJ212_VECTORS,
    REPO,
    VECTOR_2005,
    VECTOR_2017,
    VECTOR_EMPTY_CP,
    crc_reference,
    env_for,
    free_port,
)

LOCALHOST = (127 << 24) + 1
QN_RE = re.compile(rb"QN=(\d+);")


def frame(segment: str, *, modbus: bool = False, crc: int | None = None) -> bytes:
    data = segment.encode("ascii")
    crc = crc_reference(data, modbus) if crc is None else crc
    return b"##%04d%s%04X\r\n" % (len(data), data, crc)


def packet(qn: str, *, flag: int | None = 5, mn: str = "51010000000001", pw: str = "123456", extra: str = "") -> bytes:
    flag_part = f"Flag={flag};" if flag is not None else ""
    return frame(
        f"QN={qn};ST=32;CN=2051;PW={pw};MN={mn};{flag_part}{extra}CP=&&DataTime=20240601085800;w01018-Avg=12.5,w01018-Flag=N&&"
    )


def reply_for(qn: str, pw: str, mn: str, *, modbus: bool = False) -> bytes:
    return frame(f"QN={qn};ST=91;CN=9014;PW={pw};MN={mn};Flag=4;CP=&&&&", modbus=modbus)


class GatewayProcess:
    def __init__(self, warehouse: Path, *, seal_seconds: float = 0.3) -> None:
        self.warehouse = warehouse
        self.port = free_port()
        self.seal_seconds = seal_seconds
        self.log = warehouse / f"gateway-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> GatewayProcess:
        self.warehouse.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pipelines.cli", "hj212-gateway", "--port", str(self.port)]
        command += ["--gateway-id", "test", "--seal-seconds", str(self.seal_seconds)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(command, cwd=REPO, env=env_for(self.warehouse), stderr=log, stdout=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"gateway did not listen on {self.port} within 30 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        return self.proc.returncode

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def gateway(tmp_path: Path):
    gw = GatewayProcess(tmp_path / "warehouse").start()
    yield gw
    gw.stop()


def read_replies(sock: socket.socket, until: bytes, timeout: float = 10.0) -> list[bytes]:
    """Reply frames received until (and including) `until`; they come in packet order per connection."""
    sock.settimeout(timeout)
    buf = b""
    while until not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before the reply {until!r}; got {buf!r}")
        buf += chunk
    return [f + b"\r\n" for f in buf.split(b"\r\n") if f]


def landed(warehouse: Path) -> list[tuple[bytes, dict]]:
    """Every record of every sealed segment: the raw bytes and the index fields."""
    rows = []
    for path in sealed_segments(warehouse / "landing"):
        data, index = read_segment(path)
        # the data file is the records' bytes laid end to end, nothing between
        assert path.with_suffix(".dat").read_bytes() == b"".join(
            bytes(data[r["offset"] : r["offset"] + r["length"]]) for r in index
        )
        for r in index:
            raw = bytes(data[r["offset"] : r["offset"] + r["length"]])
            rows.append((raw, {name: int(r[name]) for name in INDEX_DTYPE.names}))
    return rows


def wait_landed(warehouse: Path, count: int, timeout: float = 10.0) -> list[tuple[bytes, dict]]:
    deadline = time.monotonic() + timeout
    while len(rows := landed(warehouse)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(rows)} records sealed, expected {count}")
        time.sleep(0.1)
    return rows


def test_reference_crc_matches_the_public_vectors() -> None:
    for vector, crc in HJ212_VECTORS:
        assert crc_reference(vector[6:-6]) == crc
        assert frame(vector[6:-6].decode()) == vector
    assert crc_reference(b"123456789", modbus=True) == 0x4B37  # CRC-16/MODBUS check value


def test_ack_bytes_for_the_public_vectors(gateway: GatewayProcess) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(VECTOR_2017 + VECTOR_2005 + VECTOR_EMPTY_CP)
        replies = read_replies(sock, b"QN=20240601085857223")
    # vector 1 (Flag=5) and 3 (Flag=9) have bit 0 set; vector 2 is a 2005 packet without Flag
    reply_1 = b"QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    assert len(reply_1) == 87 and crc_reference(reply_1) == 0x71C0
    assert replies == [
        b"##0087" + reply_1 + b"71C0\r\n",
        reply_for("20240601085857223", "123456", "010000A8900016F000169DC0"),
    ]
    assert gateway.stop() == 0
    rows = landed(gateway.warehouse)
    assert [raw for raw, _ in rows] == [VECTOR_2017, VECTOR_2005, VECTOR_EMPTY_CP]
    assert [r["status"] for _, r in rows] == [0, 0, 0]
    assert [r["acked"] for _, r in rows] == [1, 0, 1]


def test_acks_only_for_flag_bit_0_and_never_for_bad_frames(gateway: GatewayProcess) -> None:
    sent = {
        "1": packet("1", flag=4),  # 2017, no reply wanted
        "2": packet("2", flag=5),
        "3": packet("3", flag=0),  # 2005 style
        "4": packet("4", flag=1),
        "5": packet("5", flag=None),
        "6": packet("6", flag=7, extra="PNUM=2;PNO=1;"),  # split packet, both parts want a reply
        "7": packet("7", flag=7, extra="PNUM=2;PNO=2;"),
        "8": packet("8", flag=6, extra="PNUM=2;PNO=1;"),
        "9": frame("QN=9;ST=32;CN=2051;PW=123456;MN=51010000000001;Flag=5;CP=&&&&", crc=0x1234),  # bad CRC
        "10": b"##0999QN=10;ST=32;CN=2051;PW=123456;MN=51010000000001;Flag=5;CP=&&&&ABCD\r\n",  # bad length
        "11": frame("QN=11;ST=91;CN=9014;PW=123456;MN=51010000000001;Flag=5;CP=&&&&"),  # a reply: not answered
        "12": packet("12", flag=5),
    }
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(b"".join(sent.values()))
        replies = read_replies(sock, b"QN=12;")
    assert replies == [reply_for(qn, "123456", "51010000000001") for qn in ("2", "4", "6", "7", "12")]
    rows = wait_landed(gateway.warehouse, len(sent))
    assert [raw for raw, _ in rows] == list(sent.values())
    assert [r["status"] for _, r in rows] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]


def test_arbitrary_chunking_and_garbage_are_landed_verbatim(gateway: GatewayProcess) -> None:
    rng = random.Random(212)
    stream, expected = b"", []
    for i in range(60):
        p = packet(f"{100 + i}", flag=rng.choice([4, 5]))
        expected.append((p, 0))
        stream += p
        if i % 7 == 3:
            junk = bytes(rng.choice(b"abcXYZ019 ;=&") for _ in range(rng.randint(1, 40)))
            expected.append((junk, 3))
            stream += junk
    want_acks = [p for p, s in expected if s == 0 and b"Flag=5" in p]
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pos = 0
        while pos < len(stream):
            # from one byte to several packets per write, with pauses so the chunks stay apart
            size = rng.choice([1, 2, 5, 17, 100, 333, 1000])
            sock.sendall(stream[pos : pos + size])
            pos += size
            if rng.random() < 0.3:
                time.sleep(0.005)
        local_port = sock.getsockname()[1]
        last_qn = QN_RE.search(want_acks[-1]).group(1)
        replies = read_replies(sock, b"QN=" + last_qn + b";")
    assert [QN_RE.search(r).group(1) for r in replies] == [QN_RE.search(p).group(1) for p in want_acks]
    rows = wait_landed(gateway.warehouse, len(expected))  # sealed while the gateway runs (every 0.3 s)
    assert b"".join(raw for raw, _ in rows) == stream
    assert [(raw, r["status"]) for raw, r in rows] == expected
    assert {(r["peer_ip"], r["peer_port"]) for _, r in rows} == {(LOCALHOST, local_port)}
    now_us = time.time_ns() // 1000
    assert all(now_us - 60_000_000 < r["received_us"] <= now_us for _, r in rows)
    assert [r["acked"] for _, r in rows] == [int(s == 0 and b"Flag=5" in raw) for raw, s in expected]
    folder = sealed_segments(gateway.warehouse / "landing")[0].parent
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.endswith(".part")]
    stems = {n.rsplit(".", 1)[0] for n in names}
    assert names == sorted([f"{s}.dat" for s in stems] + [f"{s}.idx" for s in stems])
    assert all(re.fullmatch(r"test-\d{16}-\d{6}", s) for s in stems)


def test_password_check_and_modbus_crc_per_device(gateway: GatewayProcess) -> None:
    config = gateway.warehouse / "hj212" / "devices.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        'devices:\n  "MN_WITH_PW": {password: "654321"}\n  "MN_MODBUS": {crc: modbus}\n', encoding="utf-8"
    )
    gateway.proc.send_signal(signal.SIGHUP)  # the running gateway reloads its device settings
    deadline = time.monotonic() + 10
    while "2 devices configured" not in gateway.log.read_text():
        assert time.monotonic() < deadline, gateway.log.read_text()
        time.sleep(0.05)
    sent = [
        packet("1", mn="MN_WITH_PW", pw="000000"),  # wrong password: landed, not acknowledged
        packet("2", mn="MN_WITH_PW", pw="654321"),
        packet("3", mn="UNCONFIGURED", pw="whatever"),
        frame("QN=4;ST=32;CN=2051;PW=1;MN=MN_MODBUS;Flag=5;CP=&&&&", modbus=True),
        frame("QN=5;ST=32;CN=2051;PW=1;MN=MN_MODBUS;Flag=5;CP=&&&&"),  # HJ 212 CRC from a MODBUS device
        packet("6"),
    ]
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(b"".join(sent))
        replies = read_replies(sock, b"QN=6;")
    assert replies == [
        reply_for("2", "654321", "MN_WITH_PW"),
        reply_for("3", "whatever", "UNCONFIGURED"),
        reply_for("4", "1", "MN_MODBUS", modbus=True),
        reply_for("6", "123456", "51010000000001"),
    ]
    assert gateway.stop() == 0
    rows = landed(gateway.warehouse)
    assert [raw for raw, _ in rows] == sent
    assert [r["status"] for _, r in rows] == [0, 0, 0, 0, 1, 0]  # QN 5: bad CRC for a MODBUS device
    assert "MN MN_WITH_PW" in gateway.log.read_text() and "not its configured password" in gateway.log.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('devices:\n  "M1": {password: 012345}\n', "device 'M1': quote the password"),
        ('devices:\n  "M1": {crc: crc32}\n', "device 'M1': crc 'crc32' is not one of hj212, modbus"),
        ("devices:\n  123: {crc: modbus}\n", "device 123: quote the MN"),
        ('devices:\n  "M1": {pasword: "1"}\n', "device 'M1': expected a mapping with `password` and/or `crc`"),
        ("devices: [M1]\n", "`devices` must map each MN to its settings"),
    ],
)
def test_device_settings_errors_name_the_file_and_device(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeviceConfigError) as error:
        load_devices(path)
    assert str(path) in str(error.value) and message in str(error.value)


def _index(*records: tuple[int, int]) -> bytes:
    """Index records (offset, length) as the gateway writes them."""
    rows = [
        (offset, length, 1_717_200_000_000_000 + i, LOCALHOST, 40000, 0, 0, 0)
        for i, (offset, length) in enumerate(records)
    ]
    return np.array(rows, dtype=INDEX_DTYPE).tobytes()


def test_recovery_keeps_exactly_the_records_whose_bytes_reached_the_disk(tmp_path: Path) -> None:
    day = tmp_path / "pollution_source" / "hj212_packets" / "2024-06-01"
    day.mkdir(parents=True)
    p1, p2, p3 = packet("1"), packet("2"), packet("3")
    # a kill while writing: p3 is only half in the data file, its index record complete, a 4th torn
    (day / "gw-1-000000.dat.part").write_bytes(p1 + p2 + p3[:50])
    (day / "gw-1-000000.idx.part").write_bytes(
        _index((0, len(p1)), (len(p1), len(p2)), (len(p1) + len(p2), len(p3))) + b"\x07" * 20
    )
    # a kill between the two renames of a seal
    (day / "gw-2-000001.dat").write_bytes(p1)
    (day / "gw-2-000001.idx.part").write_bytes(_index((0, len(p1))))
    # a kill right after opening a segment: nothing to keep
    (day / "gw-3-000002.dat.part").write_bytes(p2[:10])
    (day / "gw-3-000002.idx.part").write_bytes(b"")
    # another gateway's open segment is not ours to seal
    (day / "other-1-000000.dat.part").write_bytes(p1)
    (day / "other-1-000000.idx.part").write_bytes(_index((0, len(p1))))

    sealed = recover_segments(tmp_path, "gw")
    assert sorted(p.name for p in sealed) == ["gw-1-000000.idx", "gw-2-000001.idx"]
    assert sorted(p.name for p in day.iterdir()) == [
        "gw-1-000000.dat",
        "gw-1-000000.idx",
        "gw-2-000001.dat",
        "gw-2-000001.idx",
        "other-1-000000.dat.part",
        "other-1-000000.idx.part",
    ]
    assert (day / "gw-1-000000.dat").read_bytes() == p1 + p2
    assert (day / "gw-1-000000.idx").stat().st_size == 64
    data, index = read_segment(day / "gw-1-000000.idx")
    assert [bytes(data[r["offset"] : r["offset"] + r["length"]]) for r in index] == [p1, p2]
    assert sealed_segments(tmp_path) == [day / "gw-1-000000.idx", day / "gw-2-000001.idx"]


def test_segments_are_sealed_at_the_size_limit(tmp_path: Path) -> None:
    packets = [packet(str(i), flag=4) for i in range(20)]

    async def write() -> None:
        writer = SegmentWriter(tmp_path, "size", seal_seconds=3600, seal_bytes=4 * len(packets[0]))
        await writer.start()
        for p in packets:
            writer.append(p, 1_717_200_000_000_000, LOCALHOST, 1, 0)
            await writer.flush()
        await writer.close()

    asyncio.run(write())
    segments = sealed_segments(tmp_path)
    assert len(segments) == 5  # four packets each: the seal follows the commit that reaches the limit
    records = []
    for path in segments:
        data, index = read_segment(path)
        records += [bytes(data[r["offset"] : r["offset"] + r["length"]]) for r in index]
    assert records == packets
    assert not list(tmp_path.rglob("*.part"))


async def _send_until_killed(port: int, kill_after: float, pid: int, trial: int) -> tuple[dict[str, bytes], set[str]]:
    """Four connections pipelining packets (unique QNs) in random bursts; SIGKILL `kill_after` s after the
    first acknowledgement."""
    sent: dict[str, bytes] = {}
    acked: set[str] = set()
    rng = random.Random(trial)

    async def connection(c: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def read() -> None:
            buf = b""
            while chunk := await reader.read(65536):
                buf += chunk
                *done, buf = buf.split(b"\r\n")
                acked.update(QN_RE.search(r).group(1).decode() for r in done)

        reading = asyncio.create_task(read())
        n = 0
        try:
            while not reading.done():
                burst = b""
                for _ in range(rng.randint(1, 30)):
                    qn = f"{trial:02d}{c}{n:08d}"
                    n += 1
                    sent[qn] = packet(qn)
                    burst += sent[qn]
                writer.write(burst)
                await writer.drain()
                await asyncio.sleep(rng.random() * 0.004)
        except (ConnectionError, OSError):
            pass
        await asyncio.gather(reading, return_exceptions=True)
        writer.close()

    async def killer() -> None:
        # a random moment once acknowledgements flow (on a loaded machine the first commit may be slow)
        deadline = time.monotonic() + 20
        while not acked and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)

    await asyncio.gather(killer(), *(connection(c) for c in range(4)))
    return sent, acked


def test_acked_packets_survive_sigkill(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    rng = random.Random(5)
    all_sent: dict[str, bytes] = {}
    all_acked: set[str] = set()
    open_segments_left = 0
    for trial in range(3):
        gw = GatewayProcess(warehouse, seal_seconds=0.4).start()
        sent, acked = asyncio.run(_send_until_killed(gw.port, rng.uniform(0.0, 1.0), gw.proc.pid, trial))
        gw.proc.wait(30)
        assert gw.proc.returncode == -signal.SIGKILL
        assert acked, f"trial {trial}: nothing acknowledged before the kill"
        open_segments_left += len(list((warehouse / "landing").rglob("*.part")))
        all_sent.update(sent)
        all_acked |= acked
    # the restart recovers and seals what the kills left open
    gw = GatewayProcess(warehouse).start()
    assert gw.stop() == 0
    assert open_segments_left, "no kill left an open segment: recovery was not exercised"
    assert not list((warehouse / "landing").rglob("*.part"))
    rows = landed(warehouse)
    landed_qns = Counter(QN_RE.search(raw).group(1).decode() for raw, r in rows if r["status"] == 0)
    assert all(r["status"] == 0 for _, r in rows)
    assert all_acked <= set(landed_qns), f"{len(all_acked - set(landed_qns))} acknowledged packets lost"
    assert max(landed_qns.values()) == 1
    assert all(raw == all_sent[QN_RE.search(raw).group(1).decode()] for raw, _ in rows)
    assert len(all_sent) > len(all_acked)  # the kills did cut the streams short


def mutations(rng: random.Random) -> list[bytes]:
    """Streams meant to break a framer: flipped bytes, stray `##`, huge or short declared lengths, cut
    packets, binary noise, and a valid packet whose reply would be longer than the standard allows."""
    good = packet("777", flag=5)
    streams = [
        os.urandom(1_500_000),  # more than the scanner's 1 MiB bound, with `##` and CRLF by chance
        b"##9999" + b"A" * 20_000 + b"\r\n",
        b"##" * 5000,
        b"#" * 3 + b"\r\n" * 3 + b"##12" + b"\x00\xff" * 50,
        good[:-3],
        frame("ST=32;CN=2051;PW=1;MN=" + "M" * 987 + ";Flag=5;CP=&&&&"),  # 1024 chars; its reply 1028
    ]
    for _ in range(200):
        p = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(4)
            i = rng.randrange(len(p))
            if op == 0:
                p[i] = rng.randrange(256)
            elif op == 1:
                p[i:i] = b"##"
            elif op == 2:
                del p[i : i + rng.randint(1, 20)]
            else:
                p[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        streams.append(bytes(p))
    return streams


def test_random_bytes_and_mutated_packets_never_crash_the_gateway(gateway: GatewayProcess) -> None:
    rng = random.Random(1)
    streams = mutations(rng)
    per_connection = [b"".join(streams[i::4]) for i in range(4)]
    ports = []
    for stream in per_connection:
        with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
            ports.append(sock.getsockname()[1])
            pos = 0
            while pos < len(stream):
                size = rng.choice([1, 7, 100, 4096, 65536])
                sock.sendall(stream[pos : pos + size])
                pos += size
    # still serving: a fresh connection gets its reply
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(VECTOR_2017)
        assert read_replies(sock, b"QN=20160801085857223") == [
            reply_for("20160801085857223", "100000", "010000A8900016F000169DC0")
        ]
    assert gateway.proc.poll() is None
    assert gateway.stop() == 0
    rows = landed(gateway.warehouse)
    # every byte of every connection is landed, in order, and nothing else
    for port, stream in zip(ports, per_connection, strict=True):
        assert b"".join(raw for raw, r in rows if r["peer_port"] == port) == stream
    assert sum(len(raw) for raw, _ in rows) == sum(map(len, per_connection)) + len(VECTOR_2017)
    assert "no reply to a packet from 127.0.0.1" in gateway.log.read_text()
