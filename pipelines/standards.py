"""The standards catalog (`standards/standards.yaml`) and its loading into the lake schema `standards`.

Standards are data: the models read breakpoints, limits and code lists from these tables; nothing
in SQL or Python repeats a number from them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

SCHEMA = "standards"


@dataclass(frozen=True)
class StandardColumn:
    name: str
    type: str
    description: str = ""
    source_column: str | None = None


@dataclass(frozen=True)
class StandardTable:
    name: str
    file: Path
    title_zh: str
    description: str
    source: str
    version: str | None
    effective_from: str | None = None
    effective_to: str | None = None
    columns: tuple[StandardColumn, ...] = field(default_factory=tuple)

    @property
    def qualified_name(self) -> str:
        return f"{SCHEMA}.{self.name}"


def load_catalog(standards_dir: Path) -> list[StandardTable]:
    catalog_file = standards_dir / "standards.yaml"
    # libyaml's loader when present: every ingest asset reads this catalog
    doc = yaml.load(catalog_file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    tables = []
    for entry in doc["tables"]:
        path = standards_dir / entry["file"]
        if not path.exists():
            raise FileNotFoundError(f"{catalog_file}: table {entry['name']!r} names missing file {path}")
        tables.append(
            StandardTable(
                name=entry["name"],
                file=path,
                title_zh=entry.get("title_zh", ""),
                description=entry.get("description", ""),
                source=entry.get("source", ""),
                version=entry.get("version"),
                effective_from=str(entry["effective_from"]) if entry.get("effective_from") else None,
                effective_to=str(entry["effective_to"]) if entry.get("effective_to") else None,
                columns=tuple(StandardColumn(**c) for c in entry["columns"]),
            )
        )
    return tables


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_table(con: duckdb.DuckDBPyConnection, table: StandardTable) -> int:
    """(Re)create one standards table in the lake from its CSV; returns its row count.

    Every column is read as text and cast to its declared type, so a malformed value fails loudly
    with the file named rather than being guessed at.
    """
    header = table.file.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    selects = []
    for col in table.columns:
        src = col.source_column or col.name
        if src not in header:
            raise ValueError(f"{table.file}: column {src!r} (for {table.name}.{col.name}) not in header {header}")
        selects.append(f"cast(nullif(trim(\"{src}\"), '') as {col.type}) as {col.name}")
    con.execute(f"create schema if not exists {SCHEMA}")
    try:
        con.execute(
            f"create or replace table {table.qualified_name} as select {', '.join(selects)} "
            f"from read_csv({_sql_str(str(table.file))}, all_varchar = true, header = true, "
            f"delim = ',', quote = '\"')"
        )
    except duckdb.Error as exc:
        raise ValueError(f"{table.file}: cannot load standards table {table.name}: {exc}") from exc
    comment = f"{table.title_zh} — {table.description} Source: {table.source}"
    con.execute(f"comment on table {table.qualified_name} is {_sql_str(comment)}")
    for col in table.columns:
        if col.description:
            con.execute(f"comment on column {table.qualified_name}.{col.name} is {_sql_str(col.description)}")
    rows = con.execute(f"select count(*) from {table.qualified_name}").fetchone()[0]
    _record(con, table, rows)
    return rows


CATALOG_TABLE = f"{SCHEMA}.standard_tables"


def _record(con: duckdb.DuckDBPyConnection, table: StandardTable, rows: int) -> None:
    """One row per standards table: what it is, which version, from when, from which file."""
    con.execute(
        f"""create table if not exists {CATALOG_TABLE} (
            table_name varchar, title_zh varchar, description varchar, source varchar, version varchar,
            effective_from date, effective_to date, file varchar, file_sha256 varchar, row_count bigint,
            loaded_at timestamp)"""
    )
    con.execute(f"delete from {CATALOG_TABLE} where table_name = ?", [table.name])
    con.execute(
        f"insert into {CATALOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
        [
            table.name,
            table.title_zh,
            table.description,
            table.source,
            table.version,
            table.effective_from,
            table.effective_to,
            table.file.name,
            file_digest(table.file),
            rows,
        ],
    )


def read_rows(table: StandardTable) -> list[dict[str, str]]:
    """The table's rows as text under its declared column names, for rules applied outside the lake
    (the contract engine's standard-bound rules); blanks are empty strings."""
    import csv

    with table.file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = set(rows[0]) if rows else set()
    for col in table.columns:
        if rows and (col.source_column or col.name) not in header:
            raise ValueError(f"{table.file}: column {col.source_column or col.name!r} not in header {sorted(header)}")
    return [{c.name: (r.get(c.source_column or c.name) or "").strip() for c in table.columns} for r in rows]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
