"""Quarantine review (`ecolake quarantine list`) and lake maintenance (`ecolake maintain`, the
`maintenance` asset group on its daily schedule) on one small real delivery, materialised once."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.contracts import load_contract
from pipelines.defs.maintenance import lake_maintenance as m
from pipelines.ingest.engine import ingest, pending_deliveries
from tests.helpers import (
    REALDATA,
    REPO,
    copy_realdata,
    ecolake,
    landing_dir,
    query,
    settings_for,
    station_row,
    write_cnemc,
)

DATASET = "env_monitoring/air_station_hourly"
CONTRACT = REPO / "contracts" / "env_monitoring" / "air_station_hourly.odcs.yaml"
QUARANTINE = "quarantine.env_monitoring__air_station_hourly"
GOOD = {"pm2_5": 30, "pm10": 50, "so2": 5, "no2": 20, "co": 0.6, "o3": 80}


def _rows(n: int, timepoint: str) -> list[dict]:
    return [station_row(timepoint, f"{1100 + i}A", **GOOD) for i in range(n)]


def _ingest_new(warehouse: Path) -> None:
    """Ingest what landed since the last run, in process (no dbt: the served tables stay as they are)."""
    contract = load_contract(CONTRACT)
    settings = settings_for(warehouse)
    ingest(contract, pending_deliveries(contract, settings), settings)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sichuan's real CNEMC hours plus one delivery with two bad rows (within the contract's tolerance)."""
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} not present")
    warehouse = tmp_path_factory.mktemp("maintenance")
    copy_realdata(warehouse, "sichuan")
    rows = _rows(40, "2022-05-01T10:00:00")
    rows[3]["pm2_5"] = "abc"  # line 5
    rows[7]["no2"] = -4  # line 9
    write_cnemc(landing_dir(warehouse) / "bad" / "values.csv", rows)
    ecolake(warehouse, "materialize")
    return warehouse


def _summary(stdout: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(dataset, rule) → (rows, batches) from the summary block of `ecolake quarantine list`."""
    lines = stdout.splitlines()
    start = lines.index("summary per dataset and rule:") + 2
    out = {}
    for line in lines[start:]:
        if line.startswith("total"):
            break
        dataset, rule, rows, batches, _ = line.split(maxsplit=4)
        out[(dataset, rule)] = (int(rows), int(batches))
    return out


def _quarantined_per_dataset(warehouse: Path) -> dict[str, int]:
    return dict(
        query(
            warehouse,
            "select dataset, sum(rows_quarantined)::int from catalog.ingest_batches "
            "where status <> 'reprocessed' group by all having sum(rows_quarantined) > 0",
        )
    )


# --------------------------------------------------------------------------------------------
# quarantine review


def test_materialize_leaves_the_maintenance_group_out(warehouse: Path) -> None:
    assert not (warehouse / "backups").exists()


def test_quarantine_list_shows_the_bad_rows_with_their_reason(warehouse: Path) -> None:
    out = ecolake(warehouse, "quarantine", "list", "--dataset", DATASET).stdout
    assert "bad/values.csv:5" in out and "pm2_5=abc is not a valid number" in out
    assert "bad/values.csv:9" in out and "no2=-4" in out
    assert "ecolake reingest DEPARTMENT/DATASET" in out  # how to re-run after a fix
    summary = _summary(out)
    assert summary[(DATASET, "type")] == (1, 1)
    assert summary[(DATASET, "range.minimum")] == (1, 1)
    assert sum(n for n, _ in summary.values()) == _quarantined_per_dataset(warehouse)[DATASET]


def test_quarantine_list_filters_by_rule_and_limits_the_listing_not_the_counts(warehouse: Path) -> None:
    out = ecolake(warehouse, "quarantine", "list", "--rule", "range").stdout
    assert "no2=-4" in out and "pm2_5=abc" not in out
    assert set(_summary(out)) == {(DATASET, "range.minimum")}
    out = ecolake(warehouse, "quarantine", "list", "--limit", "1").stdout
    listed = [line for line in out.splitlines() if DATASET in line and "bad/values.csv" in line]
    assert len(listed) == 1
    assert sum(n for n, _ in _summary(out).values()) == sum(_quarantined_per_dataset(warehouse).values())


def test_unknown_dataset_is_refused_with_exit_2(warehouse: Path) -> None:
    proc = ecolake(warehouse, "quarantine", "list", "--dataset", "env_monitoring/no_such_thing", check=False)
    assert proc.returncode == 2
    assert "no contract for env_monitoring/no_such_thing" in proc.stderr and DATASET in proc.stderr
    assert not proc.stdout


def test_a_held_batch_is_listed_and_its_re_run_replaces_its_rows(warehouse: Path) -> None:
    rows = _rows(10, "2022-05-01T12:00:00")
    rows[0]["pm2_5"] = "n/a"  # 1 of 10 rows: above the 5 % the contract tolerates → held
    write_cnemc(landing_dir(warehouse) / "held" / "held.csv", rows)
    _ingest_new(warehouse)
    out = ecolake(warehouse, "quarantine", "list", "--dataset", DATASET).stdout
    assert "held/held.csv:2" in out and "pm2_5=n/a" in out
    assert f"{DATASET}: 1 held/rejected batches are not served" in out
    before = _summary(out)
    assert sum(n for n, _ in before.values()) == _quarantined_per_dataset(warehouse)[DATASET] == 3

    # re-run with the contract unchanged: held again, as a new batch; the old one is `reprocessed`
    assert ecolake(warehouse, "reingest", DATASET, check=False).returncode == 1
    out = ecolake(warehouse, "quarantine", "list", "--dataset", DATASET).stdout
    assert _summary(out) == before  # the re-run's rows, not both
    assert sum(n for n, _ in _summary(out).values()) == _quarantined_per_dataset(warehouse)[DATASET]
    everything = _summary(ecolake(warehouse, "quarantine", "list", "--all").stdout)
    assert everything[(DATASET, "type")] == (3, 3)  # values.csv, the held batch and its re-run


# --------------------------------------------------------------------------------------------
# maintenance


def test_schedule_runs_the_maintenance_group_daily_at_3_cst(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    schedule = m.maintenance_schedule
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 * * *", "Asia/Shanghai")
    assert schedule.job_name == m.JOB_NAME
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    for asset in (m.catalog_backup, m.lake_compaction, m.snapshot_expiry):
        assert asset.group_names_by_key[asset.key] == m.GROUP
    assert m.lake_compaction.op.pools == m.snapshot_expiry.op.pools == {"lake_writer"}
    monkeypatch.setenv("ECOLAKE_WAREHOUSE", str(tmp_path))  # no lake yet: the tick is skipped
    assert not schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    monkeypatch.setenv("ECOLAKE_WAREHOUSE", str(warehouse))
    assert len(schedule.evaluate_tick(dg.build_schedule_context()).run_requests) == 1


def test_maintain_backs_up_compacts_and_expires_without_changing_served_data(warehouse: Path) -> None:
    # a second small delivery: the raw table now has two adjacent small files to merge
    write_cnemc(landing_dir(warehouse) / "more" / "more.csv", _rows(30, "2022-05-01T13:00:00"))
    _ingest_new(warehouse)
    served_sql = "select count(*), sum(pm2_5), sum(aqi) from air.station_hourly"
    raw_sql = "select count(*), sum(pm2_5) from raw.env_monitoring__air_station_hourly"
    served, raw = query(warehouse, served_sql), query(warehouse, raw_sql)
    snapshots = [r[0] for r in query(warehouse, "select snapshot_id from ducklake_snapshots('lake')")]
    assert len(snapshots) > 10

    proc = ecolake(
        warehouse, "maintain", "--expire-older-than-days", "0", "--cleanup-older-than-days", "0", "--keep-backups", "3"
    )
    facts = {
        k: v
        for line in proc.stdout.splitlines()
        if line.startswith("maintenance/")
        for k, v in (pair.split("=", 1) for pair in line.split(": ", 1)[1].split(", "))
    }
    assert int(facts["files_merged"]) >= 2 and int(facts["files_written"]) >= 1
    assert int(facts["snapshots_expired"]) >= len(snapshots) - 1
    assert int(facts["files_removed"]) >= 2  # at least the merged files

    # the backup: in backups/, opens, lists the lake's tables
    (backup,) = sorted((warehouse / "backups").glob("catalog-*.sqlite"))
    assert facts["backup_path"] == str(backup) and int(facts["backup_size_bytes"]) == backup.stat().st_size
    con = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    tables = {
        r[0]
        for r in con.execute(
            "select s.schema_name || '.' || t.table_name from ducklake_table t join ducklake_schema s "
            "using (schema_id) where t.end_snapshot is null"
        )
    }
    con.close()
    assert {"air.station_hourly", "raw.env_monitoring__air_station_hourly", "catalog.ingest_batches"} <= tables

    # expired snapshots are gone: only the newest remains, and time travel to an old one fails
    remaining = [r[0] for r in query(warehouse, "select snapshot_id from ducklake_snapshots('lake')")]
    assert len(remaining) == 1 and remaining[0] >= max(snapshots)
    with pytest.raises(AssertionError, match="snapshot"):
        query(warehouse, f"select count(*) from air.station_hourly at (version => {snapshots[1]})")

    # the served data and raw are unchanged; every file the lake references is still there
    assert query(warehouse, served_sql) == served
    assert query(warehouse, raw_sql) == raw
    files = query(warehouse, "select data_file from ducklake_list_files('lake', 'station_hourly', schema => 'air')")
    assert files and all(Path(f[0]).exists() for f in files)

    # the backup restores: a warehouse with it as catalog over the same lake/ serves the same rows
    restored = warehouse.parent / f"{warehouse.name}-restored"
    restored.mkdir()
    (restored / "catalog.sqlite").write_bytes(backup.read_bytes())
    (restored / "lake").symlink_to(warehouse / "lake")
    assert query(restored, served_sql) == served


def test_backups_keep_the_newest(tmp_path: Path) -> None:
    from pipelines import lake

    settings = settings_for(tmp_path)
    lake.write_with_retry(lambda c: c.execute("create table t as select 1 as a"), settings)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    reports = [m.backup_catalog(settings, keep=2, now=t0 + timedelta(days=i)) for i in range(4)]
    kept = sorted(p.name for p in m.backups_dir(settings).iterdir())
    assert kept == ["catalog-20260103T000000.000Z.sqlite", "catalog-20260104T000000.000Z.sqlite"]
    assert [len(r.removed) for r in reports] == [0, 0, 1, 1]
    assert reports[-1].copy.tables == ["main.t"]


def test_backup_of_a_missing_catalog_says_so(tmp_path: Path) -> None:
    with pytest.raises(m.MaintenanceError, match="no catalog"):
        m.backup_catalog(settings_for(tmp_path))
    assert os.listdir(tmp_path) == []
