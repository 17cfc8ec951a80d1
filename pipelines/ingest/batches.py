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
    status varchar not null,            -- published | rejected
    rows_in bigint not null,
    rows_published bigint not null,
    rows_quarantined bigint not null,
    error varchar,
    contract_version varchar not null,
    run_id varchar
)
"""


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists catalog")
    con.execute(DDL)
    con.execute(
        f"comment on table {TABLE} is 'One row per ingested delivery (file): status and counts; "
        "rows_in = rows_published + rows_quarantined always. 每个交付文件一行：状态与行数核对。'"
    )


def ingested_ids(con: duckdb.DuckDBPyConnection, dataset: str) -> set[str]:
    ensure(con)
    rows = con.execute(f"select delivery_id from {TABLE} where dataset = ?", [dataset]).fetchall()
    return {r[0] for r in rows}
