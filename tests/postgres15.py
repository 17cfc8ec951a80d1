"""A throwaway PostgreSQL 15 server (the Debian postgresql-15 package) for tests and benches.

    with start_postgres15("analyst1", "secret") as port:
        psycopg.connect(host="127.0.0.1", port=port, user="analyst1", password="secret", dbname="postgres")

The cluster is created with ``initdb`` (SCRAM-SHA-256, UTF8, C.UTF-8) in a fresh ``tempfile.mkdtemp``
folder, started with ``pg_ctl`` on a free loopback port with the server's default configuration, and
stopped (``-m immediate``) and deleted on exit. Run as root, the server runs as the ``postgres`` user
(``runuser``), which owns the folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import free_port

BINDIR = Path("/usr/lib/postgresql/15/bin")

# how a DuckDB column is declared in PostgreSQL (DECIMAL(p,s) becomes numeric(p,s), see pg_declaration)
PG_DECLARATION = {
    "VARCHAR": "text",
    "DATE": "date",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "VARCHAR[]": "text[]",
}


class PostgresNotInstalled(RuntimeError):
    """The PostgreSQL 15 server binaries are not installed."""


def postgres15_available() -> bool:
    return (BINDIR / "initdb").exists()


def pg_declaration(duckdb_type: str) -> str:
    """The PostgreSQL declaration of a column DuckDB's information_schema reports as ``duckdb_type``."""
    return PG_DECLARATION.get(duckdb_type) or duckdb_type.lower().replace("decimal", "numeric")


def declared_keys(models_dir: Path) -> dict[tuple[str, str], list[str]]:
    """The primary keys the dbt project declares (unique_key tests), read from its YAML as written:
    (schema folder name, model) → columns. The schema of a themes/<theme>/ model is its theme."""
    import yaml

    keys = {}
    for path in sorted((models_dir / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("models") or []:
            for test in model.get("data_tests") or []:
                if isinstance(test, dict) and "unique_key" in test:
                    keys[(path.parent.name, model["name"])] = list(test["unique_key"]["arguments"]["columns"])
    return keys


@contextmanager
def start_postgres15(user: str, password: str) -> Iterator[int]:
    """Run a scratch PostgreSQL 15 whose superuser is ``user``/``password``; yields its port on 127.0.0.1.

    Raises PostgresNotInstalled when /usr/lib/postgresql/15/bin/initdb is missing.
    """
    if not postgres15_available():
        raise PostgresNotInstalled(f"PostgreSQL 15 server is not installed ({BINDIR / 'initdb'} missing)")
    # outside pytest's private temp folder, which the postgres user could not enter
    root = Path(tempfile.mkdtemp(prefix="ecolake_pg15_"))
    data, pwfile = root / "data", root / "pw"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    started = False
    try:
        pwfile.write_text(password + "\n")
        if as_postgres:
            shutil.chown(root, "postgres")
            shutil.chown(pwfile, "postgres")
        subprocess.run(
            [
                *as_postgres,
                str(BINDIR / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "-A",
                "scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        port = free_port()
        started = True
        subprocess.run(
            [
                *as_postgres,
                str(BINDIR / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(root / "log"),
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield port
    finally:
        if started:
            subprocess.run(
                [*as_postgres, str(BINDIR / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)
