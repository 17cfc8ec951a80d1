"""The one owner of the DuckLake connection.

Every module that reads or writes the lake asks this module for a connection; nobody else builds
connection strings or loads extensions. Embedded default: SQLite catalog at
``$ECOLAKE_WAREHOUSE/catalog.sqlite`` and Parquet files under ``$ECOLAKE_WAREHOUSE/lake/``.

DuckDB extensions come from the pinned ``duckdb-extension-*`` PyPI wheels and are loaded by file
path; autoinstall/autoload are off, so nothing is ever downloaded at run time.

One writer at a time: SQLite serialises DuckLake commits, so a writer that loses a race retries
(``write_with_retry``); readers in other processes are unaffected.
"""

from __future__ import annotations

import importlib.util
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from pipelines.settings import Settings, get_settings

LAKE_ALIAS = "lake"
DUCKDB_VERSION = "v1.5.5"
# extension name -> wheel module that carries it
EXTENSIONS = {
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "ducklake": "duckdb_extension_ducklake",
    "spatial": "duckdb_extension_spatial",
    "fts": "duckdb_extension_fts",
}
# extensions every lake connection needs; the others load on request
LAKE_EXTENSIONS = ("sqlite_scanner", "ducklake")
# and the models also measure geometries (ecology.redlines: ST_Area_Spheroid, ST_Union_Agg)
DBT_EXTENSIONS = (*LAKE_EXTENSIONS, "spatial")

T = TypeVar("T")


def extension_path(name: str) -> Path:
    """Absolute path of an extension binary inside its PyPI wheel."""
    module = EXTENSIONS[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"DuckDB extension wheel {module!r} is not installed (pip install -e .)")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "extensions" / DUCKDB_VERSION / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"{path} missing: the {module} wheel does not match duckdb {DUCKDB_VERSION}")
    return path


def engine_config(settings: Settings) -> dict[str, str | bool]:
    return {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "extension_directory": str(settings.extension_dir),
    }


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` without DuckDB's progress bar. The bar is drawn on this process's stdout once a query
    runs past 2 s, into whatever reads that stdout (a child's printed result, the gateway's log). It
    is a connection's setting, which the instance config refuses: every connection handed out gets it."""
    con.execute("set enable_progress_bar = false")
    return con


def attach_uri(settings: Settings) -> str:
    return f"ducklake:sqlite:{settings.catalog_path}"


def attach_options(settings: Settings) -> dict[str, str | bool]:
    # the data path is always <warehouse>/lake/: a warehouse stays usable after it is moved or restored
    return {"data_path": f"{settings.lake_data}/", "override_data_path": True}


_RETRYABLE = ("database is locked", "Failed to commit", "Transaction conflict", "conflict")
ATTACH_ATTEMPTS = 8


def retryable(exc: BaseException) -> bool:
    """A lake error that a later attempt may not meet: a lock or commit race with another writer."""
    return any(s in str(exc) for s in _RETRYABLE)


# Connections are cursors of one DuckDB instance per warehouse, mode (read-only or writable) and
# process that has the extensions loaded and the lake attached: loading the two extensions checks
# their signatures, hashing 70 MB, about 0.25 s for every new instance. A cursor costs nothing, has
# its own transactions, and DuckLake reads the newest snapshot at the start of each transaction, so
# a shared instance sees every commit made since (the gateway's follower relies on the same); two
# writers' commits race as they would from two processes (write_with_retry). A catalog file replaced
# on disk (a restore) gets a new instance. Instances that fall out of the cache close once their last
# cursor is closed.
_SHARED: OrderedDict[tuple, duckdb.DuckDBPyConnection] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_MAX_SHARED = 4


def connect(
    settings: Settings | None = None,
    *,
    read_only: bool = False,
    extra_extensions: tuple[str, ...] = (),
    shared: bool = True,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached as ``lake`` and selected as default: a cursor of
    the warehouse's shared instance for that mode (unless ``shared`` is False: an instance of its
    own, for a caller that attaches more databases or changes instance settings)."""
    settings = settings or get_settings()
    settings.ensure_dirs()
    if shared and not extra_extensions:
        return _shared_cursor(settings, read_only=read_only)
    return _open(settings, read_only=read_only, extra_extensions=extra_extensions)


def _shared_cursor(settings: Settings, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    catalog = settings.catalog_path
    stat = catalog.stat() if catalog.exists() else None
    key = (os.getpid(), read_only, str(catalog), stat and (stat.st_dev, stat.st_ino), str(settings.lake_data))
    with _SHARED_LOCK:
        base = _SHARED.get(key)
        if base is None:
            base = _SHARED[key] = _open(settings, read_only=read_only)
            while len(_SHARED) > _MAX_SHARED:
                _SHARED.popitem(last=False)
        _SHARED.move_to_end(key)
        con = quiet(base.cursor())
    con.execute(f"use {LAKE_ALIAS}")
    return con


def _open(settings: Settings, *, read_only: bool, extra_extensions: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    con = quiet(duckdb.connect(config=engine_config(settings)))
    for name in (*LAKE_EXTENSIONS, *extra_extensions):
        con.execute(f"load '{extension_path(name)}'")
    opts = [f"data_path '{attach_options(settings)['data_path']}'", "override_data_path true"]
    if read_only:
        opts.append("read_only")
    # attaching reads the catalog; while another process commits, SQLite answers "database is locked"
    # at once (no busy wait): a moment later the attach succeeds
    for attempt in range(1, ATTACH_ATTEMPTS + 1):
        try:
            con.execute(f"attach '{attach_uri(settings)}' as {LAKE_ALIAS} ({', '.join(opts)})")
            break
        except duckdb.Error as exc:
            if attempt == ATTACH_ATTEMPTS or not retryable(exc):
                con.close()
                raise
            time.sleep(min(1.0, 0.02 * 2**attempt) * (0.5 + random.random()))
    con.execute(f"use {LAKE_ALIAS}")
    return con


def scratch(settings: Settings | None = None, *, extensions: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB without the lake, for work on data in hand (the contract's geometry checks),
    with the same engine settings and extensions loaded by path."""
    con = quiet(duckdb.connect(config=engine_config(settings or get_settings())))
    for name in extensions:
        con.execute(f"load '{extension_path(name)}'")
    return con


@contextmanager
def session(settings: Settings | None = None, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def write_with_retry(
    work: Callable[[duckdb.DuckDBPyConnection], T],
    settings: Settings | None = None,
    *,
    attempts: int = 8,
) -> T:
    """Run ``work`` in one lake transaction; retry when the commit lost a race to another writer."""
    for attempt in range(1, attempts + 1):
        con = connect(settings)
        try:
            con.execute("begin transaction")
            result = work(con)
            con.execute("commit")
            return result
        except duckdb.Error as exc:
            try:
                con.execute("rollback")
            except duckdb.Error:
                pass
            if attempt == attempts or not retryable(exc):
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
        finally:
            con.close()
    raise AssertionError("unreachable")


def dbt_profile(settings: Settings | None = None) -> dict:
    """The dbt-duckdb profile for this warehouse: same attach, same extensions, same settings."""
    settings = settings or get_settings()
    return {
        "ecolake": {
            "target": "lake",
            "outputs": {
                "lake": {
                    "type": "duckdb",
                    "path": ":memory:",
                    "database": LAKE_ALIAS,
                    "threads": 1,
                    "extensions": [str(extension_path(n)) for n in DBT_EXTENSIONS],
                    "config_options": engine_config(settings),
                    "attach": [
                        {
                            "path": attach_uri(settings),
                            "alias": LAKE_ALIAS,
                            "options": attach_options(settings),
                        }
                    ],
                }
            },
        }
    }
