"""``catalog.ingest_batches``: one row per delivery ingested, its status and reconciled counts."""

from __future__ import annotations

import duckdb

TABLE = "catalog.ingest_batches"

DDL = f"""
create table if not exists {TABLE} (
    delivery_id varchar not null,
    dataset varchar not null,           -- <department>/<dataset>
    source_file varchar not null,       -- path below landing/
    arrived_at timestamp not null,      -- CST
    ingested_at timestamp not null,     -- CST
    status varchar not null,            -- published | held | rejected | reprocessed
    rows_in bigint not null,
    rows_published bigint not null,
    rows_quarantined bigint not null,
    error varchar,
    contract_version varchar not null,
    run_id varchar
)
"""

# added after the first release: `alter … add column if not exists` brings older warehouses along
LATER_COLUMNS = {
    "file_size": "bigint",
    "file_mtime_ns": "bigint",
    "content_sha256": "varchar",
    "reprocesses": "varchar",  # the delivery id this batch re-ran (ecolake reingest)
}

STATUSES = {
    "published": "served: every row is in raw or quarantine and the quarantined share is tolerated",
    "held": "readable, but more rows quarantined than the contract tolerates: kept in raw, not served",
    "rejected": "unreadable (encoding, header, CSV structure): every line quarantined",
    "reprocessed": "replaced by a later re-run of the same file (ecolake reingest)",
}


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists catalog")
    con.execute(DDL)
    for name, kind in LATER_COLUMNS.items():
        con.execute(f"alter table {TABLE} add column if not exists {name} {kind}")
    con.execute(
        f"comment on table {TABLE} is 'One row per ingested delivery (file): status and counts; "
        "rows_in = rows_published + rows_quarantined always. 每个交付文件一行：状态与行数核对。'"
    )
