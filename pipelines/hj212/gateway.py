"""The HJ 212 gateway: receives data loggers' packets over TCP and lands them durably.

    ecolake hj212-gateway [--host 127.0.0.1] [--port 9212] [--gateway-id ID] [--seal-seconds 5]

Every byte received is landed verbatim in the landing log (`segments.py`): valid packets, packets
with a bad CRC or length, and the garbage between them, each with its receive time and peer. A
valid packet whose Flag has bit 0 set gets the data reply
`QN=<QN>;ST=91;CN=9014;PW=<PW>;MN=<MN>;Flag=4;CP=&&&&` — only after the group commit that made it
durable, so an acknowledged packet survives a crash of the gateway or of the machine.

Per-device settings are read from `$ECOLAKE_WAREHOUSE/hj212/devices.yaml` (reloaded on SIGHUP):

    devices:
      "010000A8900016F000169DC0": {password: "100000", crc: hj212}
      "LD130133000015": {crc: modbus}

A device listed with a password whose packet carries another PW is landed but not acknowledged,
and logged. An MN not listed is accepted with the HJ 212 CRC. SIGTERM or SIGINT stops the gateway
after committing what was received, sending the replies due and sealing the open segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import resource
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.hj212.protocol import CRC_HJ212, CRC_VARIANTS, STATUS_OK, Frame, FrameScanner, encode_reply
from pipelines.hj212.segments import SEAL_SECONDS, STATUS_CODES, SegmentError, SegmentWriter
from pipelines.settings import Settings

log = logging.getLogger("pipelines.hj212.gateway")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9212
# what thousands of logger connections need, plus the segment files and some headroom
OPEN_FILES_WANTED = 65536
# replies are themselves uploads of CN 90xx: answering them would make two gateways ping-pong
REPLY_CNS = frozenset({"9011", "9012", "9013", "9014"})


class DeviceConfigError(ValueError):
    """devices.yaml does not say what the gateway needs."""


@dataclass(frozen=True)
class Device:
    mn: str
    password: str | None
    crc: str


def devices_path(settings: Settings) -> Path:
    return settings.warehouse / "hj212" / "devices.yaml"


def load_devices(path: Path) -> dict[str, Device]:
    """The per-MN settings of devices.yaml (an absent file: none)."""
    import yaml

    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DeviceConfigError(f"{path}: not valid YAML: {exc}") from exc
    entries = doc.get("devices") if isinstance(doc, dict) else None
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise DeviceConfigError(f"{path}: `devices` must map each MN to its settings")
    devices = {}
    for mn, entry in entries.items():
        entry = entry or {}
        where = f"{path}: device {mn!r}"
        if not isinstance(mn, str):
            raise DeviceConfigError(f"{where}: quote the MN (YAML read it as {type(mn).__name__})")
        if not isinstance(entry, dict) or set(entry) - {"password", "crc"}:
            raise DeviceConfigError(f"{where}: expected a mapping with `password` and/or `crc`, got {entry!r}")
        password = entry.get("password")
        if password is not None and not isinstance(password, str):
            # YAML turns 012345 into 12345: an unquoted password would silently lose its digits
            raise DeviceConfigError(f"{where}: quote the password (YAML read it as {type(password).__name__})")
        crc = entry.get("crc", CRC_HJ212)
        if crc not in CRC_VARIANTS:
            raise DeviceConfigError(f"{where}: crc {crc!r} is not one of {', '.join(CRC_VARIANTS)}")
        devices[mn] = Device(mn, password, crc)
    return devices


def default_gateway_id() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "gateway"


def raise_open_files_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards `wanted` (up to the hard limit); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _peer_ip(host: str | None) -> int:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return 0
    if isinstance(address, ipaddress.IPv6Address):
        address = address.ipv4_mapped
    return int(address) if address is not None else 0


class _Connection(asyncio.Protocol):
    """One logger's TCP connection: frames its stream and hands each frame to the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.transport: asyncio.Transport | None = None
        self.scanner = FrameScanner(gateway.crc_variant_of)
        self.peer_ip = 0
        self.peer_port = 0
        self.peer = "?"

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"
        self.peer_ip, self.peer_port = _peer_ip(peer[0]), int(peer[1]) & 0xFFFF
        self.gateway.connections.add(self)

    def data_received(self, data: bytes) -> None:
        received_us = time.time_ns() // 1000
        for frame in self.scanner.feed(data):
            self.gateway.land(self, frame, received_us)

    def eof_received(self) -> bool:
        self.drain_scanner()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.drain_scanner()
        self.gateway.connections.discard(self)

    def drain_scanner(self) -> None:
        """Land what the scanner still holds (a truncated packet is still a received packet)."""
        if self.scanner.buffered and not self.gateway.writer_closed:
            received_us = time.time_ns() // 1000
            for frame in self.scanner.flush():
                self.gateway.land(self, frame, received_us)

    def send(self, reply: bytes) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(reply)
        return True


class Gateway:
    def __init__(self, settings: Settings, writer: SegmentWriter) -> None:
        self.settings = settings
        self.writer = writer
        self.writer_closed = False
        self.connections: set[_Connection] = set()
        self.devices: dict[str, Device] = {}
        self.packets = 0
        self.replies_due = 0
        self._password_logged: dict[str, float] = {}
        self.reload_devices()

    def reload_devices(self) -> None:
        path = devices_path(self.settings)
        try:
            self.devices = load_devices(path)
        except DeviceConfigError as exc:
            if not self.devices:
                raise
            log.error("%s; keeping the %d devices loaded before", exc, len(self.devices))
            return
        log.info("hj212-gateway: %d devices configured in %s", len(self.devices), path)

    def crc_variant_of(self, mn: str | None) -> str | None:
        device = self.devices.get(mn) if mn is not None else None
        return device.crc if device is not None else None

    def land(self, conn: _Connection, frame: Frame, received_us: int) -> None:
        self.packets += 1
        on_durable = None
        if frame.status == STATUS_OK and self._password_ok(conn, frame) and frame.wants_reply:
            if frame.cn not in REPLY_CNS:
                try:
                    reply = encode_reply(qn=frame.qn, pw=frame.pw, mn=frame.mn, crc=frame.crc_variant or CRC_HJ212)
                except ValueError as exc:  # e.g. an MN so long that the reply would exceed 1024 characters
                    log.warning("hj212-gateway: no reply to a packet from %s (MN %.40r): %s", conn.peer, frame.mn, exc)
                else:
                    on_durable = _Reply(conn, reply)
                    self.replies_due += 1
        self.writer.append(frame.raw, received_us, conn.peer_ip, conn.peer_port, STATUS_CODES[frame.status], on_durable)

    def _password_ok(self, conn: _Connection, frame: Frame) -> bool:
        device = self.devices.get(frame.mn) if frame.mn is not None else None
        if device is None or device.password is None or frame.pw == device.password:
            return True
        # a misconfigured logger sends every minute: one line per MN and minute is enough
        now = time.monotonic()
        if now - self._password_logged.get(frame.mn, -1e9) >= 60:
            self._password_logged[frame.mn] = now
            log.warning(
                "hj212-gateway: MN %s from %s sent PW=%r, not its configured password: landed, not acknowledged "
                "(logged once a minute per MN)",
                frame.mn,
                conn.peer,
                frame.pw,
            )
        return False


class _Reply:
    """The acknowledgement of one packet, sent by the segment writer once the packet is durable."""

    __slots__ = ("conn", "reply")

    def __init__(self, conn: _Connection, reply: bytes) -> None:
        self.conn, self.reply = conn, reply

    def __call__(self) -> bool:
        return self.conn.send(self.reply)


async def run_gateway(
    settings: Settings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    gateway_id: str | None = None,
    seal_seconds: float = SEAL_SECONDS,
    fsync_each: bool = False,
    stats_seconds: float = 60.0,
) -> int:
    try:
        writer = SegmentWriter(
            settings.landing, gateway_id or default_gateway_id(), seal_seconds=seal_seconds, fsync_each=fsync_each
        )
        gateway = Gateway(settings, writer)
        recovered = await writer.start()
    except (DeviceConfigError, SegmentError, ValueError) as exc:
        log.error("hj212-gateway: %s", exc)
        return 2
    if recovered:
        log.warning("hj212-gateway: sealed %d segments left open by a previous run", len(recovered))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, gateway.reload_devices)
    try:
        server = await loop.create_server(lambda: _Connection(gateway), host, port, backlog=4096, reuse_address=True)
    except OSError as exc:
        log.error("hj212-gateway: cannot listen on %s:%s: %s", host, port, exc)
        await writer.close()
        return 2
    log.warning(
        "hj212-gateway %s listening on %s:%d, landing in %s (open-files limit %d, %s)",
        writer.gateway_id,
        host,
        port,
        writer.root,
        resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "fsync after every packet" if fsync_each else "group commit",
    )
    stop_task = asyncio.create_task(stopping.wait())
    stats_task = asyncio.create_task(_log_stats(gateway, stats_seconds))
    await asyncio.wait({stop_task, writer.task}, return_when=asyncio.FIRST_COMPLETED)
    stop_task.cancel()
    stats_task.cancel()
    server.close()
    code = 0
    if writer.failed is None:
        # nothing more is read; what the scanners hold is landed and the replies due are sent
        for conn in list(gateway.connections):
            if conn.transport is not None and not conn.transport.is_closing():
                conn.transport.pause_reading()
            conn.drain_scanner()
        gateway.writer_closed = True
        with contextlib.suppress(Exception):
            await writer.close()
    gateway.writer_closed = True
    if writer.failed is not None:
        code = 1
    for conn in list(gateway.connections):
        if conn.transport is not None:
            conn.transport.close()
    await asyncio.sleep(0)  # let the transports flush the last replies before the loop ends
    log.warning(
        "hj212-gateway %s stopped: %d packets landed, %d segments sealed; %s",
        writer.gateway_id,
        writer.packets_committed,
        writer.segments_sealed,
        _commit_summary(writer),
    )
    return code


def _commit_summary(writer: SegmentWriter) -> str:
    waits = sorted(writer.commit_latencies)
    if not waits:
        return "no group commit"
    sizes = sorted(writer.commit_sizes)
    syncs = sorted(writer.fsync_seconds) or [0.0]

    def p(values: list, q: float) -> float:
        return values[int(q * (len(values) - 1))] * 1000

    return (
        f"{len(waits)} commits of {sizes[(len(sizes) - 1) // 2]} packets (median, max {sizes[-1]}); first packet "
        f"to replies p50 {p(waits, 0.5):.1f} ms, p99 {p(waits, 0.99):.1f} ms, max {p(waits, 1):.1f} ms; "
        f"fsync of data + index p50 {p(syncs, 0.5):.1f} ms, p99 {p(syncs, 0.99):.1f} ms, max {p(syncs, 1):.1f} ms"
    )


async def _log_stats(gateway: Gateway, every: float) -> None:
    last, last_at = 0, time.monotonic()
    while True:
        await asyncio.sleep(every)
        now, packets = time.monotonic(), gateway.writer.packets_committed
        log.info(
            "hj212-gateway: %d connections, %d packets landed (%.0f/s), %d segments sealed; %s",
            len(gateway.connections),
            packets,
            (packets - last) / (now - last_at),
            gateway.writer.segments_sealed,
            _commit_summary(gateway.writer),
        )
        last, last_at = packets, now


def serve(settings: Settings, **options) -> int:
    """Run the gateway until SIGTERM/SIGINT (uvloop when installed); the exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    raise_open_files_limit()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run_gateway(settings, **options))
    return uvloop.run(run_gateway(settings, **options))
