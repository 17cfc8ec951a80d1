"""A compact live progress display for in-process runs (`ecolake materialize`)."""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

_SHOWN = {
    "STEP_START": "▶",
    "STEP_SUCCESS": "✓",
    "STEP_FAILURE": "✗",
    "STEP_SKIPPED": "·",
    "ASSET_CHECK_EVALUATION": "☑",
}


class _ProgressHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        elapsed = f"{time.monotonic() - self.started:7.1f}s"
        if event is None:
            if record.levelno >= logging.INFO and meta.get("step_key"):
                text = str(meta.get("orig_message") or record.getMessage())
                if not text.startswith(("Finished", "Started", "Executing")):
                    print(f"{elapsed}   {text[:200]}", file=sys.stderr, flush=True)
            return
        kind = event.event_type_value
        if kind not in _SHOWN:
            return
        if kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            check = f"{data.asset_key.to_user_string()}:{data.check_name}"
            if data.passed and not check.endswith(":contract"):
                return  # passing dbt tests are many; failures and contract checks are shown
            if data.passed:
                status = "passed"
            elif data.severity.value == "WARN":
                status = "warning (not blocking)"
            else:
                status = "FAILED"
            print(f"{elapsed} ☑ {check} {status}", file=sys.stderr, flush=True)
            return
        detail = ""
        if kind == "STEP_FAILURE":
            err = getattr(event.event_specific_data, "error", None)
            detail = f" — {err.message.strip()[:500]}" if err else ""
        print(f"{elapsed} {_SHOWN[kind]} {event.step_key}{detail}", file=sys.stderr, flush=True)


@dg.logger(description="Step starts, ends, failures and contract checks, one line each.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("ecolake.progress", level=logging.DEBUG)
    logger.addHandler(_ProgressHandler())
    return logger
