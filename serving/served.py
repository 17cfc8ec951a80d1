"""What the SQL gateway serves: the lake's relations at one snapshot, in one DuckDB instance that
every session shares (each session is a connection of it, with its own temporary catalog).

Reading a DuckLake table costs a round of catalog look-ups per query (about 10 ms here, most of a
dashboard query's time), so the served relations are copied into an in-memory database
``served_<snapshot>`` when the lake gets a new snapshot, sorted by region and time so that a
city's rows are found by zone maps, with their table and column comments. Relations that are not
dashboard material (raw, quarantine, staging, intermediate, standards) and tables larger than
``max_rows`` are views onto the lake instead, under the same names, so policy and grants see one
set of names whatever the storage. Sessions move to the newest copy between statements; a copy no
session uses any more is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import duckdb

from pipelines import lake
from pipelines.settings import Settings
from serving.users import ROLE_SCHEMAS

log = logging.getLogger("ecolake.gateway")

# copied into memory (the analyst's schemas); every other lake schema is served through views
COPIED_SCHEMAS = frozenset(ROLE_SCHEMAS["analyst"])
SERVED_SCHEMAS = frozenset(s for schemas in ROLE_SCHEMAS.values() for s in schemas)
_TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


@dataclass(frozen=True)
class ServedCopy:
    database: str
    snapshot: int
    lake_tables: frozenset[tuple[str, str]]  # relations served through a view that are tables in the lake
    built_in_s: float


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ServedLake:
    """The shared instance; ``refresh`` follows the lake, ``connect`` opens a session's connection."""

    def __init__(self, settings: Settings, *, copy: bool = True, max_rows: int = 20_000_000) -> None:
        self.settings = settings
        self.copy = copy
        self.max_rows = max_rows
        self._base = lake.connect(settings, read_only=True, shared=False)  # it attaches its copies
        self._lock = threading.Lock()
        self.current: ServedCopy | None = None
        self._retired: list[str] = []

    def lake_snapshot(self) -> int:
        with self._lock:
            return self._snapshot_of(self._base)

    @staticmethod
    def _snapshot_of(con: duckdb.DuckDBPyConnection) -> int:
        return int(con.execute(f"select id from {lake.LAKE_ALIAS}.current_snapshot()").fetchone()[0])

    def refresh(self) -> bool:
        """Build the copy of the lake's newest snapshot, unless it is the current one."""
        with self._lock:
            if self.current is not None and self._snapshot_of(self._base) == self.current.snapshot:
                return False
            previous = self.current
            self.current = self._build()
            if previous is not None:
                self._retired.append(previous.database)
            log.info(
                "serving lake snapshot %d as %s (built in %.1f s)",
                self.current.snapshot,
                self.current.database,
                self.current.built_in_s,
            )
            return True

    def _build(self) -> ServedCopy:
        started = time.monotonic()
        con = lake.quiet(self._base.cursor())
        try:
            con.execute("begin transaction")  # one lake snapshot for every relation and the id
            snapshot = self._snapshot_of(con)
            database = f"served_{snapshot}"
            con.execute(f"attach ':memory:' as {database}")
            schemas = ", ".join(_quote(s) for s in sorted(SERVED_SCHEMAS))
            relations = con.execute(
                "select schema_name, table_name, comment, 'table', estimated_size from duckdb_tables() "
                f"where database_name = '{lake.LAKE_ALIAS}' and schema_name in ({schemas}) "
                "union all select schema_name, view_name, comment, 'view', null from duckdb_views() "
                f"where database_name = '{lake.LAKE_ALIAS}' and schema_name in ({schemas}) order by 1, 2"
            ).fetchall()
            columns: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}
            for schema, table, column, data_type, comment in con.execute(
                "select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
                f"where database_name = '{lake.LAKE_ALIAS}' and schema_name in ({schemas}) "
                "order by schema_name, table_name, column_index"
            ).fetchall():
                columns.setdefault((schema, table), []).append((column, data_type, comment))
            lake_tables = set()
            for schema in sorted({r[0] for r in relations}):
                con.execute(f'create schema "{database}"."{schema}"')
            for schema, table, comment, kind, size in relations:
                source = f'{lake.LAKE_ALIAS}."{schema}"."{table}"'
                target = f'"{database}"."{schema}"."{table}"'
                cols = columns.get((schema, table), [])
                rows = size if size is not None else None
                if kind == "table" and rows is None:
                    rows = con.execute(f"select count(*) from {source}").fetchone()[0]
                copied = self.copy and kind == "table" and schema in COPIED_SCHEMAS and rows <= self.max_rows
                if copied:
                    order = _cluster_columns(cols)
                    con.execute(
                        f"create table {target} as select * from {source}"
                        + (f" order by {', '.join(order)}" if order else "")
                    )
                else:
                    con.execute(f"create view {target} as select * from {source}")
                    if kind == "table":
                        lake_tables.add((schema, table))
                noun = "table" if copied else "view"
                if comment:
                    con.execute(f"comment on {noun} {target} is {_quote(comment)}")
                for column, _, column_comment in cols:
                    if column_comment:
                        con.execute(f'comment on column {target}."{column}" is {_quote(column_comment)}')
            con.execute("commit")
        except BaseException:
            con.close()
            raise
        con.close()
        return ServedCopy(database, snapshot, frozenset(lake_tables), time.monotonic() - started)

    def connect(self) -> tuple[duckdb.DuckDBPyConnection, ServedCopy]:
        """A new session's connection, reading the current copy."""
        if self.current is None:
            self.refresh()
        con = lake.quiet(self._base.cursor())
        served = self.current
        assert served is not None
        con.execute(f'use "{served.database}"')
        return con, served

    def retire(self, in_use: set[str]) -> None:
        """Drop the replaced copies that no session reads any more."""
        with self._lock:
            for database in [d for d in self._retired if d not in in_use]:
                self._base.execute(f'detach "{database}"')
                self._retired.remove(database)

    def attached_copies(self) -> list[str]:
        with self._lock:
            rows = self._base.execute("select database_name from duckdb_databases() order by 1").fetchall()
        return [r[0] for r in rows if r[0].startswith("served_")]

    def close(self) -> None:
        self._base.close()


def _cluster_columns(columns: list[tuple[str, str, str | None]]) -> list[str]:
    """Sort order of a copy: region, then the first time column, then the station or section code,
    so that a region's or a period's rows sit together and zone maps skip the rest."""
    names = {c[0] for c in columns}
    order = [c for c in ("region_code",) if c in names]
    order += [f'"{c[0]}"' for c in columns if c[1] in _TIME_TYPES][:1]
    order += [c for c in ("station_code",) if c in names]
    return order
