"""The HJ 212 gateway under 5,000 concurrent logger connections on loopback, and killed with SIGKILL.

    .venv/bin/python bench/hj212_gateway.py [--connections 5000] [--rate 10000] [--seconds 15] [--trials 50]

The gateway runs as its own process (`ecolake hj212-gateway`, as deployed) on a scratch warehouse;
this process is the fleet (uvloop, one asyncio connection per logger, every packet with Flag=5 so
every one is acknowledged). For each of two gateways started in the same run — the real one (group
commit) and the baseline (the same gateway with `--fsync-each-packet`: write and fsync every packet
on its own, the naive durable design) — it measures:

- sustained packets/s: closed loop, each connection keeps `--window` packets unacknowledged, for
  `--seconds`; the rate of acknowledgements (goal ≥ 10,000/s);
- ack latency at `--rate` packets/s offered (open loop, spread evenly over the connections): p50
  and p99 from send to the reply's arrival (goal p99 ≤ 50 ms); a packet not acknowledged at the
  end counts as infinitely late;
- that every packet sent is in the landing log after a SIGTERM (group commit run only).

Then the durability loop: `--trials` times, a gateway is started on one warehouse, 16 connections
send packets with unique QNs in random bursts, and the gateway is SIGKILLed after a random 0.2–1.2 s;
at the end a last start recovers the open segments. Every acknowledged packet must be in the
landing log (read with read_segment), and no packet may be there twice.

The last line holds the headline values and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.hj212.protocol import encode_packet  # noqa: E402
from pipelines.hj212.segments import read_segment, sealed_segments  # noqa: E402
from tests.helpers import REPO, env_for, free_port  # noqa: E402

QN_RE = re.compile(rb"QN=(\d+);")
CP = (
    "DataTime=20240601085800;w01018-Rtd=32.5,w01018-Flag=N;w21003-Rtd=1.12,w21003-Flag=N;"
    "w21011-Rtd=0.231,w21011-Flag=N;w00000-Rtd=12.7,w00000-Flag=N;w01001-Rtd=7.21,w01001-Flag=N"
)


def raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine_load() -> str:
    """What else the machine is doing: the measurement shares its CPUs and disk with it."""
    load = os.getloadavg()[0]
    try:
        pressure = Path("/proc/pressure/cpu").read_text().split()[2].split("=")[1]
        return f"load average {load:.1f} on {os.cpu_count()} CPUs, CPU pressure (some, avg60) {pressure}%"
    except (OSError, IndexError):
        return f"load average {load:.1f} on {os.cpu_count()} CPUs"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Gateway:
    def __init__(self, warehouse: Path, *, fsync_each: bool = False, seal_seconds: float = 5.0) -> None:
        self.warehouse, self.port = warehouse, free_port()
        command = [sys.executable, "-m", "pipelines.cli", "hj212-gateway", "--port", str(self.port)]
        command += ["--gateway-id", "bench", "--seal-seconds", str(seal_seconds)]
        if fsync_each:
            command.append("--fsync-each-packet")
        self.log = open(warehouse / "gateway.log", "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(command, cwd=REPO, env=env_for(warehouse), stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"gateway exited with {self.proc.returncode}; see {warehouse / 'gateway.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gateway not listening after 30 s; see {warehouse / 'gateway.log'}") from None
                time.sleep(0.02)

    def stop(self, timeout: float = 120) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


class Logger(asyncio.Protocol):
    """One data logger's connection: sends its packet, counts the replies (they come in order)."""

    def __init__(self, packet: bytes, load: Load) -> None:
        self.packet, self.load = packet, load
        self.sent_at: deque[float] = deque()
        self.transport: asyncio.Transport | None = None
        self.cr = False

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def send(self) -> None:
        self.sent_at.append(time.perf_counter())
        self.transport.write(self.packet)
        self.load.sent += 1

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        replies = data.count(b"\r\n") + (self.cr and data[:1] == b"\n")
        self.cr = data[-1:] == b"\r"
        load = self.load
        for _ in range(replies):
            sent_at = self.sent_at.popleft()
            load.acked += 1
            if load.measuring_from <= sent_at < load.measuring_to:
                load.latencies.append(now - sent_at)
            if load.closed_loop:
                self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.lost += 1


class Load:
    def __init__(self) -> None:
        self.sent = self.acked = self.lost = 0
        self.latencies: list[float] = []
        self.closed_loop = False
        self.measuring_from = self.measuring_to = 0.0


async def connect_all(port: int, n: int, load: Load) -> list[Logger]:
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(500)  # the listen backlog is 4096: do not SYN-flood it

    async def one(i: int) -> Logger:
        packet = encode_packet(qn=f"20240601{i:09d}", st=32, cn=2051, pw="123456", mn=f"5101{i:020d}", flag=5, cp=CP)
        async with limit:
            _, logger = await loop.create_connection(lambda: Logger(packet, load), "127.0.0.1", port)
        return logger

    return await asyncio.gather(*(one(i) for i in range(n)))


async def run_load(port: int, args: argparse.Namespace) -> dict:
    load = Load()
    started = time.perf_counter()
    loggers = await connect_all(port, args.connections, load)
    connect_s = time.perf_counter() - started
    result = {"connect_s": connect_s, "packet_bytes": len(loggers[0].packet)}

    # closed loop: the most the gateway sustains with `window` packets in flight per connection
    load.closed_loop = True
    for logger in loggers:
        for _ in range(args.window):
            logger.send()
    await asyncio.sleep(2)  # warm-up
    a0, t0 = load.acked, time.perf_counter()
    await asyncio.sleep(args.seconds)
    result["sustained"] = (load.acked - a0) / (time.perf_counter() - t0)
    load.closed_loop = False
    await drain(load, loggers, args.drain_seconds)

    # open loop at the offered rate: latency from send to reply
    interval = 0.005
    total = args.seconds + 2
    t_start = time.perf_counter()
    load.measuring_from, load.measuring_to = t_start + 2, t_start + total
    due = sent = i = 0
    n = len(loggers)
    while (now := time.perf_counter()) < t_start + total:
        due = int((now - t_start) * args.rate)
        while sent < due:
            logger = loggers[i % n]
            if not logger.transport.is_closing():
                logger.send()
            i += 1
            sent += 1
        await asyncio.sleep(interval)
    offered_in_window = sum(1 for lg in loggers for t in lg.sent_at if load.measuring_from <= t)
    await drain(load, loggers, args.drain_seconds)
    unacked = sum(1 for lg in loggers for t in lg.sent_at if load.measuring_from <= t < load.measuring_to)
    latencies = sorted(load.latencies) + [float("inf")] * unacked
    result["offered_in_window"] = offered_in_window
    result["p50_ms"] = statistics.median(latencies) * 1000 if latencies else float("inf")
    result["p99_ms"] = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("inf")
    result["unacked"] = unacked
    result["sent"], result["acked"], result["lost"] = load.sent, load.acked, load.lost
    for logger in loggers:
        logger.transport.close()
    await asyncio.sleep(0.5)
    return result


async def drain(load: Load, loggers: list[Logger], seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while any(lg.sent_at for lg in loggers) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


def measure(label: str, root: Path, args: argparse.Namespace, fsync_each: bool) -> dict:
    warehouse = root / label
    warehouse.mkdir()
    gw = Gateway(warehouse, fsync_each=fsync_each)
    cpu0 = cpu_seconds(gw.proc.pid)
    result = run(run_load(gw.port, args))
    result["gateway_cpu_s"] = cpu_seconds(gw.proc.pid) - cpu0
    if fsync_each:
        gw.kill()  # its backlog would take minutes to commit one fsync at a time; nothing is checked on it
    else:
        code = gw.stop()
        records = sum(len(read_segment(p)[1]) for p in sealed_segments(warehouse / "landing"))
        result["stop_code"], result["landed"] = code, records
        stopped = [line for line in (warehouse / "gateway.log").read_text().splitlines() if " stopped: " in line]
        print(f"{label}: gateway log: {stopped[-1].split(' stopped: ', 1)[1] if stopped else '(no stop line)'}")
    print(
        f"{label}: {args.connections} connections up in {result['connect_s']:.1f} s; sustained "
        f"{result['sustained']:,.0f} packets/s (window {args.window}); at {args.rate:,}/s offered: ack p50 "
        f"{result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, {result['unacked']} unacked; "
        f"{result['sent']:,} sent, {result['acked']:,} acked, gateway CPU {result['gateway_cpu_s']:.1f} s"
        + (f", {result['landed']:,} landed, exit {result['stop_code']}" if "landed" in result else ""),
        flush=True,
    )
    return result


async def send_until_killed(gw: Gateway, kill_after: float, trial: int, rng: random.Random) -> tuple[dict, set]:
    sent: dict[bytes, bytes] = {}
    acked: set[bytes] = set()

    async def connection(c: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        except OSError:
            return

        async def read() -> None:
            buf = b""
            try:
                while chunk := await reader.read(65536):
                    buf += chunk
                    *done, buf = buf.split(b"\r\n")
                    acked.update(QN_RE.search(r).group(1) for r in done)
            except OSError:
                pass

        reading = asyncio.create_task(read())
        n = 0
        try:
            while not reading.done():
                burst = []
                for _ in range(rng.randint(1, 40)):
                    qn = b"%03d%02d%09d" % (trial, c, n)
                    n += 1
                    packet = encode_packet(qn=qn.decode(), st=32, cn=2051, pw="123456", mn=f"M{c:04d}", flag=5, cp=CP)
                    sent[qn] = packet
                    burst.append(packet)
                writer.write(b"".join(burst))
                await writer.drain()
                await asyncio.sleep(rng.random() * 0.003)
        except (OSError, RuntimeError):  # uvloop raises RuntimeError on a write to a closed transport
            pass
        await reading
        writer.close()

    async def killer() -> None:
        await asyncio.sleep(kill_after)
        gw.proc.send_signal(signal.SIGKILL)

    await asyncio.gather(killer(), *(connection(c) for c in range(16)))
    gw.proc.wait()
    gw.log.close()
    return sent, acked


def durability(root: Path, trials: int) -> dict:
    warehouse = root / "durability"
    warehouse.mkdir()
    rng = random.Random(212)
    sent_all: dict[bytes, bytes] = {}
    acked_all: set[bytes] = set()
    left_open = 0
    for trial in range(trials):
        gw = Gateway(warehouse, seal_seconds=0.5)
        sent, acked = run(send_until_killed(gw, rng.uniform(0.2, 1.2), trial, rng))
        sent_all.update(sent)
        acked_all |= acked
        left_open += any((warehouse / "landing").rglob("*.part"))
    Gateway(warehouse).stop()  # the last start recovers what the last kill left open
    counts: Counter[bytes] = Counter()
    verbatim = True
    for path in sealed_segments(warehouse / "landing"):
        data, index = read_segment(path)
        for r in index:
            raw = bytes(data[r["offset"] : r["offset"] + r["length"]])
            qn = QN_RE.search(raw).group(1)
            counts[qn] += 1
            verbatim &= sent_all.get(qn) == raw
    lost = len(acked_all - set(counts))
    twice = sum(1 for c in counts.values() if c > 1)
    ok = lost == 0 and twice == 0 and verbatim
    print(
        f"durability: {trials} SIGKILL trials ({left_open} left open segments to recover): {len(sent_all):,} sent, "
        f"{len(acked_all):,} acked, {sum(counts.values()):,} landed; acked not landed {lost}, landed twice {twice}, "
        f"{'all verbatim' if verbatim else 'SOME NOT VERBATIM'} -> {'PASS' if ok else 'FAIL'}",
        flush=True,
    )
    return {"trials": trials, "acked": len(acked_all), "landed": sum(counts.values()), "lost": lost, "twice": twice}


def run(coro):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=10000, help="offered packets/s for the latency phase")
    parser.add_argument("--window", type=int, default=2, help="packets in flight per connection, closed loop")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per phase")
    parser.add_argument("--drain-seconds", type=float, default=5.0)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    limit = raise_nofile(args.connections + 1024)
    print(f"open-files limit of the fleet process: {limit}; machine: {machine_load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hj212-bench-") as tmp:
        root = Path(tmp)
        group = measure("group commit", root, args, fsync_each=False)
        naive = measure("fsync per packet (baseline)", root, args, fsync_each=True)
        print(f"machine after the load phases: {machine_load()}", flush=True)
        dur = durability(root, args.trials)
    ratio = group["sustained"] / naive["sustained"]
    print(
        f"hj212_gateway: {args.connections} connections, sustained {group['sustained']:,.0f} packets/s "
        f"(goal ≥ 10,000: {'met' if group['sustained'] >= 10000 else 'NOT met'}) = {ratio:.1f}× the fsync-per-packet "
        f"baseline ({naive['sustained']:,.0f}/s); ack p99 {group['p99_ms']:.1f} ms at {args.rate:,}/s offered "
        f"(goal ≤ 50 ms: {'met' if group['p99_ms'] <= 50 else 'NOT met'}; baseline {naive['p99_ms']:.0f} ms); "
        f"SIGKILL ×{dur['trials']}: {dur['lost']} acked packets lost, {dur['twice']} landed twice "
        f"({dur['acked']:,} acked)"
    )


if __name__ == "__main__":
    main()
