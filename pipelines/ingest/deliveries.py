"""Deliveries: the files under ``landing/<department>/<dataset>/``, each with an id and arrival time.

A delivery's id comes from its path and its content: a file touched or copied with new times is
the same delivery; a file whose content changed is a new one. Its arrival time is the file's
modification time when it was first seen (CST).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class LandedFile:
    abspath: str  # a string: most files listed are only compared with the batch catalog, never opened
    relpath: str  # relative to landing/, with forward slashes
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.abspath)

    @property
    def arrived_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, CST).replace(tzinfo=None)

    def content_sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def as_delivery(self, content_sha256: str | None = None) -> Delivery:
        content = content_sha256 or self.content_sha256()
        ident = hashlib.sha256(f"{self.relpath}\0{content}".encode()).hexdigest()[:20]
        return Delivery(ident, self.path, self.relpath, self.size, self.arrived_at, self.mtime_ns, content)


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    path: Path
    relpath: str
    size: int
    arrived_at: datetime  # naive, China Standard Time
    mtime_ns: int = 0
    content_sha256: str = ""
    reprocesses: str | None = None  # the delivery id this re-run replaces

    @property
    def arrival_day(self) -> str:
        return self.arrived_at.strftime("%Y-%m-%d")


def dataset_folder(landing: Path, department: str, dataset: str) -> Path:
    return landing / department / dataset


def landed_files(landing: Path, department: str, dataset: str) -> list[LandedFile]:
    """Every file anywhere below the dataset's landing folder, oldest first; names starting with
    '.' and ending in .part/.tmp are files still being written and are left alone. Symlinked folders
    are not followed (as Path.rglob); symlinked files are. One scandir per folder: a dataset that
    lands a file an hour has tens of thousands, walked at every sensor tick and build."""
    root = dataset_folder(landing, department, dataset)
    if not root.is_dir():
        return []
    base = len(str(landing)) + 1
    found = []
    folders = [str(root)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                    continue
                name = entry.name
                if name.startswith(".") or name.endswith((".tmp", ".part")) or not entry.is_file():
                    continue
                stat = entry.stat()
                relpath = entry.path[base:].replace(os.sep, "/")
                found.append(LandedFile(entry.path, relpath, stat.st_size, stat.st_mtime_ns))
    found.sort(key=lambda f: (f.mtime_ns, f.relpath))
    return found


def discover(landing: Path, department: str, dataset: str) -> list[Delivery]:
    """All deliveries of a dataset (hashes every file: for tests and benchmarks; the platform uses
    ``pipelines.ingest.engine.pending_deliveries``, which hashes only files it has not seen)."""
    return [f.as_delivery() for f in landed_files(landing, department, dataset)]
