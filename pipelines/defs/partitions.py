"""Shared partitioning of the ingest assets: by arrival day (CST), with a partition for today."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from pipelines.ingest.deliveries import CST

ARRIVAL_START = "2020-01-01"
LAKE_WRITER_POOL = "lake_writer"

arrival_days = dg.DailyPartitionsDefinition(
    start_date=ARRIVAL_START, end_offset=1, timezone="Asia/Shanghai", fmt="%Y-%m-%d"
)


def arrival_partition(day: str) -> str:
    """The partition a delivery belongs to: its arrival day, clamped into the partition range."""
    today = datetime.now(CST).strftime("%Y-%m-%d")
    return min(max(day, ARRIVAL_START), today)
