"""The HJ 212 landing log: append-only segments the gateway writes and the codec reads.

A segment is two files under `landing/pollution_source/hj212_packets/<YYYY-MM-DD, UTC+8>/`
sharing one stem `<gateway_id>-<first_received_us>-<seq:06d>`:

- `<stem>.dat`: the received packets' bytes, verbatim, concatenated;
- `<stem>.idx`: one 32-byte little-endian record (`INDEX_DTYPE`) per packet, in arrival order.

While a segment is open both names end in `.part`. Only sealed segments (the `.idx` exists) are
ingested. Durability is by group commit: packets collect in memory for at most `commit_interval`
or `commit_max` packets; then the data is written and fsynced, then the index records are
written and fsynced, and only then are the callbacks that send the acknowledgements run. After a
crash, `recover_segments` keeps exactly the records whose index and data reached the disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

INDEX_DTYPE = np.dtype(
    [
        ("offset", "<u8"),
        ("length", "<u4"),
        ("received_us", "<i8"),
        ("peer_ip", "<u4"),
        ("peer_port", "<u2"),
        ("status", "u1"),
        ("acked", "u1"),
        ("reserved", "<u4"),
    ]
)
assert INDEX_DTYPE.itemsize == 32, "the index record is fixed at 32 bytes by the landing-log contract"

# the gateway's framing verdict, as stored in the index's status byte
STATUS_OK, STATUS_BAD_CRC, STATUS_BAD_LENGTH, STATUS_GARBAGE = 0, 1, 2, 3
STATUS_CODES = {"ok": STATUS_OK, "bad_crc": STATUS_BAD_CRC, "bad_length": STATUS_BAD_LENGTH, "garbage": STATUS_GARBAGE}
STATUS_NAMES = {v: k for k, v in STATUS_CODES.items()}

PACKETS_DATASET = Path("pollution_source") / "hj212_packets"
CST = timezone(timedelta(hours=8))  # day folders follow the loggers' local day

SEAL_SECONDS = 5.0
SEAL_BYTES = 64 << 20
COMMIT_INTERVAL = 0.005
COMMIT_MAX = 512


class SegmentError(ValueError):
    """A segment whose files do not follow the landing-log format."""


def packets_dir(landing: Path) -> Path:
    """The landing-log root below a warehouse's landing/ folder (or the root itself when given)."""
    landing = Path(landing)
    return landing if landing.name == PACKETS_DATASET.name else landing / PACKETS_DATASET


def segment_stem(gateway_id: str, first_received_us: int, seq: int) -> str:
    return f"{gateway_id}-{first_received_us}-{seq:06d}"


def day_folder(received_us: int) -> str:
    return datetime.fromtimestamp(received_us / 1e6, UTC).astimezone(CST).strftime("%Y-%m-%d")


def _stem_of(path: Path) -> str:
    name = path.name
    for suffix in (".dat.part", ".idx.part", ".dat", ".idx"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _valid_records(index: np.ndarray, data_size: int) -> int:
    """How many leading records describe packets laid end to end and wholly inside `data_size` bytes."""
    if len(index) == 0:
        return 0
    lengths = index["length"].astype(np.uint64)
    ends = np.cumsum(lengths)
    ok = (
        (index["offset"] == ends - lengths)
        & (ends <= np.uint64(data_size))
        & (lengths > 0)  # a packet is never empty: a zero record is an unwritten block, not a packet
        & (index["received_us"] > 0)
        & (index["status"] <= STATUS_GARBAGE)
    )
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else len(index)


def read_segment(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """The data bytes (uint8 array) and index records of one segment.

    `path` is the segment's `.dat`, `.idx` or either `.part` file (an open segment can be read; its
    last records may still be in flight). Raises SegmentError when the index does not tile the data."""
    path = Path(path)
    stem = _stem_of(path)
    part = path.name.endswith(".part")
    dat = path.with_name(stem + (".dat.part" if part else ".dat"))
    idx = path.with_name(stem + (".idx.part" if part else ".idx"))
    for p in (dat, idx):
        if not p.exists():
            raise SegmentError(f"segment {stem}: {p} is missing")
    idx_size = idx.stat().st_size
    if not part and idx_size % INDEX_DTYPE.itemsize:
        raise SegmentError(f"segment {idx}: {idx_size} bytes is not a whole number of 32-byte index records")
    count = idx_size // INDEX_DTYPE.itemsize
    index = np.fromfile(idx, dtype=INDEX_DTYPE, count=count)
    data = np.fromfile(dat, dtype=np.uint8)
    valid = _valid_records(index, len(data))
    if part:
        return data, index[:valid]
    if valid < count:
        rec = index[valid]
        raise SegmentError(
            f"segment {idx}: record {valid} (offset {rec['offset']}, length {rec['length']}) does not follow the "
            f"previous record inside the {len(data)} data bytes of {dat.name}"
        )
    end = int(index["offset"][-1]) + int(index["length"][-1]) if count else 0
    if end != len(data):
        raise SegmentError(f"segment {dat}: {len(data) - end} bytes after the last indexed packet")
    return data, index


def _segment_sort_key(path: Path) -> tuple:
    parts = _stem_of(path).rsplit("-", 2)
    first_us = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
    return (path.parent.name, first_us, path.name)


def sealed_segments(landing: Path | str) -> list[Path]:
    """The `.idx` files of the sealed segments, oldest first (by day folder, then first receive time).

    `landing` is a warehouse's landing/ folder or the hj212_packets folder itself."""
    root = packets_dir(Path(landing))
    if not root.exists():
        return []
    return sorted(root.glob("*/*.idx"), key=_segment_sort_key)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def recover_segments(landing: Path | str, gateway_id: str | None = None) -> list[Path]:
    """Seal what a killed gateway left open; returns the `.idx` files sealed.

    Keeps the leading index records whose packets are wholly in the data file, truncates the index
    after them and the data after the last kept packet (bytes never indexed were never acknowledged),
    then renames and fsyncs like a normal seal. A leftover with no record left is removed. Only the
    segments of `gateway_id` are touched when given: another gateway may be writing its own."""
    root = packets_dir(Path(landing))
    if not root.exists():
        return []
    stems: dict[tuple[Path, str], None] = {}
    for part in sorted(root.glob("*/*.part")):
        stem = _stem_of(part)
        if gateway_id is None or stem.rsplit("-", 2)[0] == gateway_id:
            stems[(part.parent, stem)] = None
    sealed = []
    for folder, stem in stems:
        if (idx := _recover_one(folder, stem)) is not None:
            sealed.append(idx)
    return sealed


def _recover_one(folder: Path, stem: str) -> Path | None:
    dat_part, dat = folder / f"{stem}.dat.part", folder / f"{stem}.dat"
    idx_part, idx = folder / f"{stem}.idx.part", folder / f"{stem}.idx"
    if idx.exists():
        # sealing renames the data first, so a sealed index beside a .part data file is not ours to fix
        raise SegmentError(f"segment {stem} in {folder}: {idx.name} is sealed but {dat_part.name} is still open")
    data_path = dat_part if dat_part.exists() else dat
    data_size = data_path.stat().st_size if data_path.exists() else 0
    if idx_part.exists():
        count = idx_part.stat().st_size // INDEX_DTYPE.itemsize
        index = np.fromfile(idx_part, dtype=INDEX_DTYPE, count=count)
    else:
        index = np.zeros(0, dtype=INDEX_DTYPE)
    keep = _valid_records(index, data_size)
    end = int(index["offset"][keep - 1]) + int(index["length"][keep - 1]) if keep else 0
    if keep == 0:
        for p in (dat_part, dat, idx_part):
            p.unlink(missing_ok=True)
        _fsync_dir(folder)
        log.warning("hj212 landing: removed %s in %s, which held no complete packet", stem, folder)
        return None
    for p, size in ((data_path, end), (idx_part, keep * INDEX_DTYPE.itemsize)):
        with open(p, "r+b") as f:
            f.truncate(size)
            f.flush()
            os.fsync(f.fileno())
    if data_path == dat_part:
        os.replace(dat_part, dat)
    os.replace(idx_part, idx)
    _fsync_dir(folder)
    dropped = len(index) - keep
    log.warning(
        "hj212 landing: recovered %s with %d packets (%d torn index records, %d unindexed data bytes dropped)",
        idx,
        keep,
        dropped,
        data_size - end,
    )
    return idx


@dataclass
class _Segment:
    folder: Path
    stem: str
    dat_fd: int
    idx_fd: int
    seal_at: float  # loop time
    size: int = 0
    records: int = 0
    index_parts: list[np.ndarray] = field(default_factory=list)
    acked: bytearray = field(default_factory=bytearray)

    def path(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"


@dataclass
class _Batch:
    future: asyncio.Future
    first_at: float = 0.0
    data: list[bytes] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    callbacks: list[tuple[int, Callable[[], bool]]] = field(default_factory=list)


class SegmentWriter:
    """Appends packets to the landing log with group commit, from one asyncio event loop.

    `append()` only buffers; a committer task writes each batch from a worker thread (so that fsync
    never blocks the loop), then runs the batch's `on_durable` callbacks in the loop. A callback
    returns True when it sent the acknowledgement; the record's `acked` byte is set to 1 when the
    segment is sealed (on disk it is 0 until then, and stays 0 after a crash).

    `fsync_each=True` writes and fsyncs every packet on its own, inside `append()`, and runs its
    callback right away: the naive design, kept as the benchmark's baseline."""

    def __init__(
        self,
        landing: Path | str,
        gateway_id: str,
        *,
        seal_seconds: float = SEAL_SECONDS,
        seal_bytes: int = SEAL_BYTES,
        commit_interval: float = COMMIT_INTERVAL,
        commit_max: int = COMMIT_MAX,
        fsync_each: bool = False,
    ) -> None:
        if not gateway_id or not all(c.isalnum() or c == "_" for c in gateway_id):
            raise ValueError(f"gateway id {gateway_id!r}: use letters, digits and _ only (it starts segment names)")
        self.root = packets_dir(Path(landing))
        self.gateway_id = gateway_id
        self.seal_seconds = seal_seconds
        self.seal_bytes = seal_bytes
        self.commit_interval = commit_interval
        self.commit_max = commit_max
        self.fsync_each = fsync_each
        self.packets_committed = 0
        # seconds from a batch's first packet to its callbacks (what a reply waits), for the logs
        self.commit_latencies: deque[float] = deque(maxlen=100_000)
        self.commit_sizes: deque[int] = deque(maxlen=100_000)
        self.fsync_seconds: deque[float] = deque(maxlen=100_000)  # both fsyncs of a commit
        self.segments_sealed = 0
        self.failed: BaseException | None = None
        self._seq = 0
        self._segment: _Segment | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hj212-segments")
        # sealing rewrites and fsyncs a whole index: on its own thread so that commits (acks) go on meanwhile
        self._seal_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hj212-seal")
        self._seals: list[asyncio.Future] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: _Batch | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> list[Path]:
        """Recover this gateway's leftover open segments, then start committing. Returns what was recovered."""
        self._loop = asyncio.get_running_loop()
        self.root.mkdir(parents=True, exist_ok=True)
        recovered = await self._loop.run_in_executor(self._pool, recover_segments, self.root, self.gateway_id)
        self._pending = _Batch(self._loop.create_future())
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="hj212-segment-committer")
        return recovered

    def append(
        self,
        raw: bytes,
        received_us: int,
        peer_ip: int,
        peer_port: int,
        status: int,
        on_durable: Callable[[], bool] | None = None,
    ) -> asyncio.Future:
        """Buffer one packet; the returned future completes once it is durable on disk."""
        if self.failed is not None:
            raise RuntimeError(f"hj212 landing log at {self.root} failed: {self.failed!r}")
        if self._closing or self._pending is None:
            raise RuntimeError("hj212 landing log: append() before start() or after close()")
        if self.fsync_each:
            return self._append_alone(raw, (0, len(raw), received_us, peer_ip, peer_port, status, 0, 0), on_durable)
        batch = self._pending
        if not batch.rows:
            batch.first_at = self._loop.time()
            self._wake.set()
        if on_durable is not None:
            batch.callbacks.append((len(batch.rows), on_durable))
        batch.data.append(raw)
        batch.rows.append((0, len(raw), received_us, peer_ip, peer_port, status, 0, 0))
        if len(batch.rows) >= self.commit_max:
            self._wake.set()
        return batch.future

    @property
    def task(self) -> asyncio.Task:
        """The committer task: it ends when the writer is closed, or with the error that stopped it."""
        return self._task

    async def flush(self) -> None:
        """Wait until everything appended so far is durable."""
        if self._pending is not None and self._pending.rows:
            self._wake.set()
            await asyncio.shield(self._pending.future)

    async def close(self) -> None:
        """Commit what is pending, run its callbacks, seal the open segment and stop."""
        try:
            if self._task is not None:
                self._closing = True
                self._wake.set()
                await self._task
        finally:
            self._pool.shutdown()
            self._seal_pool.shutdown()

    async def _run(self) -> None:
        loop = self._loop
        batch = None
        try:
            while True:
                await self._wait_for_work()
                if self._pending.rows:
                    batch = self._pending
                    self._pending = _Batch(loop.create_future())
                    segment, base = await loop.run_in_executor(self._pool, self._commit, batch)
                    self._release(batch, segment, base)
                segment = self._segment
                if segment is not None and (
                    self._closing or segment.size >= self.seal_bytes or loop.time() >= segment.seal_at
                ):
                    # the next commit opens a new segment; every callback of this one has already run
                    self._segment = None
                    sealing = loop.run_in_executor(self._seal_pool, self._seal, segment)
                    sealing.add_done_callback(lambda _: self._wake.set())  # to see a failed seal soon
                    self._seals.append(sealing)
                for sealing in [f for f in self._seals if f.done()]:
                    self._seals.remove(sealing)
                    sealing.result()  # a failed seal stops the writer like a failed commit
                    self.segments_sealed += 1
                if self._closing and not self._pending.rows and self._segment is None:
                    for sealing in self._seals:
                        await sealing
                        self.segments_sealed += 1
                    self._seals.clear()
                    return
        except BaseException as exc:
            # after a failed write or fsync the file state is unknown: stop acknowledging anything;
            # a restart recovers exactly what reached the disk
            self.failed = exc
            log.critical("hj212 landing log at %s failed; nothing more will be acknowledged", self.root, exc_info=exc)
            for unfinished in (batch, self._pending):
                if unfinished is not None and not unfinished.future.done():
                    unfinished.future.set_exception(RuntimeError(f"hj212 landing log failed: {exc!r}"))
            raise

    async def _wait_for_work(self) -> None:
        """Until the pending batch is due (full, old enough, or closing) or the open segment must be sealed."""
        loop = self._loop
        while not self._closing:
            due = []
            if self._pending.rows:
                if len(self._pending.rows) >= self.commit_max:
                    return
                due.append(self._pending.first_at + self.commit_interval)
            if self._segment is not None:
                due.append(self._segment.seal_at)
            now = loop.time()
            if due and min(due) <= now:
                return
            self._wake.clear()
            # a timer rather than wait_for(): no task per wait, and fewer loop turns per commit when busy
            timer = loop.call_at(min(due), self._wake.set) if due else None
            await self._wake.wait()
            if timer is not None:
                timer.cancel()

    def _release(self, batch: _Batch, segment: _Segment, base: int) -> None:
        self.packets_committed += len(batch.rows)
        self.commit_latencies.append(self._loop.time() - batch.first_at)
        self.commit_sizes.append(len(batch.rows))
        for i, callback in batch.callbacks:
            try:
                sent = callback()
            except Exception:
                log.exception("hj212 landing log: acknowledgement callback failed")
                sent = False
            if sent:
                segment.acked[base + i] = 1
        if not batch.future.done():
            batch.future.set_result(None)

    # the methods below run in the worker threads: _open, _commit and _write in the commit thread, one
    # at a time, awaited by the committer (in the fsync_each baseline: in the loop, and the commit thread
    # idles); _seal in the seal thread, on a segment no commit touches any more

    def _open(self, first_received_us: int) -> _Segment:
        folder = self.root / day_folder(first_received_us)
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            stem = segment_stem(self.gateway_id, first_received_us, self._seq)
            self._seq += 1
            if not any((folder / f"{stem}{s}").exists() for s in (".dat", ".idx", ".dat.part", ".idx.part")):
                break
        # no O_APPEND: Linux pwrite() ignores its offset on such files, and sealing rewrites the index in place
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        dat_fd = os.open(folder / f"{stem}.dat.part", flags, 0o644)
        idx_fd = os.open(folder / f"{stem}.idx.part", flags, 0o644)
        _fsync_dir(folder)  # the new names must survive a power loss as much as their contents
        seal_at = self._loop.time() + self.seal_seconds
        self._segment = _Segment(folder, stem, dat_fd, idx_fd, seal_at)
        return self._segment

    def _commit(self, batch: _Batch) -> tuple[_Segment, int]:
        segment = self._segment or self._open(batch.rows[0][2])
        index = np.array(batch.rows, dtype=INDEX_DTYPE)
        lengths = index["length"].astype(np.uint64)
        index["offset"] = np.cumsum(lengths) - lengths + np.uint64(segment.size)
        base = segment.records
        self._write(segment, b"".join(batch.data), index)
        return segment, base

    def _write(self, segment: _Segment, data: bytes, index: np.ndarray) -> None:
        # data first and durable before any index record points at it: after a power loss the
        # index can only be shorter than the data, never ahead of it
        _write_all(segment.dat_fd, data)
        t0 = time.perf_counter()
        os.fdatasync(segment.dat_fd)
        t1 = time.perf_counter()
        _write_all(segment.idx_fd, index.tobytes())
        t2 = time.perf_counter()
        os.fdatasync(segment.idx_fd)
        self.fsync_seconds.append(t1 - t0 + time.perf_counter() - t2)
        segment.size += len(data)
        segment.records += len(index)
        segment.index_parts.append(index)
        segment.acked.extend(bytes(len(index)))

    def _append_alone(self, raw: bytes, row: tuple, on_durable: Callable[[], bool] | None) -> asyncio.Future:
        """The baseline: write and fsync this one packet now, in the event loop, then acknowledge it."""
        segment = self._segment
        if segment is None:
            segment = self._open(row[2])
            self._wake.set()  # the committer seals it when due
        index = np.array([row], dtype=INDEX_DTYPE)
        index["offset"] = segment.size
        self._write(segment, raw, index)
        self.packets_committed += 1
        if on_durable is not None and on_durable():
            segment.acked[-1] = 1
        done = self._loop.create_future()
        done.set_result(None)
        return done

    def _seal(self, segment: _Segment) -> None:
        if any(segment.acked):
            index = np.concatenate(segment.index_parts)
            index["acked"] = np.frombuffer(bytes(segment.acked), dtype=np.uint8)
            os.pwrite(segment.idx_fd, index.tobytes(), 0)
            os.fdatasync(segment.idx_fd)
        os.close(segment.dat_fd)
        os.close(segment.idx_fd)
        os.replace(segment.path(".dat.part"), segment.path(".dat"))
        os.replace(segment.path(".idx.part"), segment.path(".idx"))
        _fsync_dir(segment.folder)


def now_us() -> int:
    return time.time_ns() // 1000
