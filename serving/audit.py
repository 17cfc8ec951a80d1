"""The gateway's audit log: one JSON line per statement (user, time, duration, rows, refused or not)
in $ECOLAKE_WAREHOUSE/security/audit.log."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from pipelines.ingest.deliveries import CST
from pipelines.settings import Settings

_LOCK = threading.Lock()


def record(settings: Settings, *, user: str, sql: str, seconds: float, rows: int, refused: str | None) -> None:
    entry = {
        "at": datetime.now(CST).isoformat(timespec="milliseconds"),
        "user": user,
        "statement": sql,
        "seconds": round(seconds, 4),
        "rows": rows,
        "refused": refused is not None,
        "reason": refused,
    }
    path = settings.warehouse / "security" / "audit.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
