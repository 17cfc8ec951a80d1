"""The gateway serves the lake's newest snapshot: sessions move to it between statements."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg

from pipelines import lake
from serving.pgwire.server import Gateway, GatewayConfig
from serving.users import add_user
from tests.helpers import free_port, settings_for

PASSWORD = "snapshot follower"


def _wait_for(probe, expected, seconds: float = 30.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_an_open_session_follows_new_lake_snapshots_and_old_copies_are_dropped(
    realdata_warehouse: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    shutil.copytree(realdata_warehouse, warehouse, ignore=shutil.ignore_patterns("landing", "dagster"))
    settings = settings_for(warehouse)
    add_user(settings, "follower", PASSWORD, department="env_monitoring", role="analyst", regions=["510100"])
    port = free_port()
    gateway = Gateway(GatewayConfig(settings, port=port, follow_lake_s=0.2))
    stop = gateway.start_in_thread()
    try:
        dsn = f"host=127.0.0.1 port={port} dbname=ecolake user=follower password='{PASSWORD}' sslmode=disable"
        with psycopg.connect(dsn, autocommit=True) as con:
            cities = con.execute("select count(*) from air.city_yearly").fetchone()[0]
            first = gateway.served.current.database

            # a new table in a served schema, written by another process's kind of connection
            lake.write_with_retry(
                lambda w: w.execute(
                    "create table air.snapshot_probe as "
                    "select * from (values ('510100', 1), ('510700', 2)) t(region_code, n)"
                ),
                settings,
            )

            def listed() -> int:
                return con.execute(
                    "select count(*) from information_schema.tables where table_name = 'snapshot_probe'"
                ).fetchone()[0]

            assert _wait_for(listed, 1) == 1
            # the region filter applies to the new table too: its column region_code makes it regional
            assert con.execute("select region_code, n from air.snapshot_probe").fetchall() == [("510100", 1)]

            lake.write_with_retry(lambda w: w.execute("insert into air.snapshot_probe values ('510100', 3)"), settings)

            def total() -> int:
                return con.execute("select sum(n) from air.snapshot_probe").fetchone()[0]

            assert _wait_for(total, 4) == 4
            assert con.execute("select count(*) from air.city_yearly").fetchone()[0] == cities

            # inside a transaction block the session keeps reading one copy
            con.execute("begin")
            lake.write_with_retry(lambda w: w.execute("insert into air.snapshot_probe values ('510100', 5)"), settings)
            time.sleep(1.0)
            assert total() == 4
            con.execute("commit")
            assert _wait_for(total, 9) == 9

        # the session is gone: only the current copy stays attached
        assert _wait_for(gateway.served.attached_copies, [gateway.served.current.database]) == [
            gateway.served.current.database
        ]
        assert gateway.served.current.database != first
    finally:
        stop()
