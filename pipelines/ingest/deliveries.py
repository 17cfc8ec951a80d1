"""Deliveries: the files under ``landing/<department>/<dataset>/``, each with an id and arrival time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    path: Path
    relpath: str  # relative to landing/, with forward slashes
    size: int
    arrived_at: datetime  # naive, China Standard Time

    @property
    def arrival_day(self) -> str:
        return self.arrived_at.strftime("%Y-%m-%d")


def dataset_folder(landing: Path, department: str, dataset: str) -> Path:
    return landing / department / dataset


def discover(landing: Path, department: str, dataset: str) -> list[Delivery]:
    """Every file anywhere below the dataset's landing folder (hidden and partial files excepted).

    The delivery id depends on the file's path, size and modification time: a delivered file is
    never modified, so a changed file is a new delivery. Arrival time is the file's mtime in CST.
    """
    root = dataset_folder(landing, department, dataset)
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or path.name.startswith(".") or path.suffix in {".tmp", ".part"}:
            continue
        stat = path.stat()
        rel = path.relative_to(landing).as_posix()
        ident = hashlib.sha256(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:20]
        arrived = datetime.fromtimestamp(stat.st_mtime, CST).replace(tzinfo=None)
        found.append(Delivery(ident, path, rel, stat.st_size, arrived))
    found.sort(key=lambda d: (d.arrived_at, d.relpath))
    return found
