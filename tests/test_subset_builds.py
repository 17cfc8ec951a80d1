"""`ecolake materialize` on a subset of the deliveries: one department's one year builds every model
(the others empty) and a missing baseline gives NULL indicators; then `materialize --pending` runs
only the datasets with new deliveries and what depends on them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.ingest.deliveries import CST
from tests.helpers import REPO, ecolake, env_for, landing_dir, query, settings_for, station_row, write_cnemc


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("subset")
    # 2023 alone of the energy statistics and GDP: no 2021 baseline for CO2 intensity
    ecolake(
        warehouse,
        "demo-data",
        "--start",
        "2023-01-01",
        "--end",
        "2023-12-31",
        "--only",
        "development_reform/energy_consumption",
        "--only",
        "statistics/gdp",
    )
    ecolake(warehouse, "materialize")
    return warehouse


def test_one_department_year_builds_and_a_missing_baseline_is_null(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select count(*), count(value), count(target) from assessment.scoreboard "
        "where indicator_code = 'co2_intensity_change_vs_2021'",
    )
    count, with_value, with_target = rows[0]
    assert count > 0 and with_value == 0 and with_target == count
    years = query(warehouse, "select distinct year from climate.co2_intensity order by 1")
    assert years == [(2023,)]
    assert query(warehouse, "select count(*) from air.station_hourly") == [(0,)]
    assert query(warehouse, "select count(*) from water.section_monthly") == [(0,)]


def test_pending_runs_only_what_new_deliveries_touch(warehouse: Path) -> None:
    nothing = ecolake(warehouse, "materialize", "--pending")
    assert "nothing to do" in nothing.stderr
    write_cnemc(
        landing_dir(warehouse) / "china_sites_20240101.csv",
        [station_row("2024-01-01T10:00:00", "1431A", pm2_5=35, pm10=50)],
    )
    proc = ecolake(warehouse, "materialize", "--pending")
    assert "materialising env_monitoring/air_station_hourly and what depends on them" in proc.stderr
    # the other datasets' ingest steps are not part of the run
    assert "statistics__gdp" not in proc.stderr and "development_reform__energy_consumption" not in proc.stderr
    assert query(warehouse, "select station_code, pm2_5 from air.station_hourly") == [("1431A", 35)]
    assert query(warehouse, "select count(*) from climate.co2_intensity where year = 2023")[0][0] > 0


def _snapshots(warehouse: Path) -> int:
    return query(warehouse, "select count(*) from ducklake_snapshots('lake')")[0][0]


def _dbt(project: Path, warehouse: Path, target: Path, *args: str) -> subprocess.CompletedProcess:
    """The project's dbt, on a copy of models/, against the warehouse's own profile."""
    from pipelines.dbt_project import dbt_env, dbt_executable

    return subprocess.run(
        [str(dbt_executable()), *args, "--target-path", str(target)],
        cwd=project,
        env=dbt_env(settings_for(warehouse)),
        capture_output=True,
        text=True,
    )


def _assert_rows(warehouse: Path, expected: dict[str, list[tuple]]) -> None:
    for relation, rows in expected.items():
        assert query(warehouse, f"select * from {relation} order by all") == rows, relation


def test_a_failed_rebuild_keeps_the_served_relation_and_a_rebuild_is_one_lake_commit(
    warehouse: Path, tmp_path: Path
) -> None:
    """models/macros/materializations.sql: the old table or view is dropped and the new one created in
    one lake transaction; a build that fails rolls back, and nothing of it stays behind."""
    project = tmp_path / "models"
    shutil.copytree(REPO / "models", project, ignore=shutil.ignore_patterns("target", "logs"))
    table_sql = project / "models/core/dim_region.sql"
    view_sql = project / "models/staging/statistics/stg_statistics__gdp.sql"
    before = {
        "core.dim_region": query(warehouse, "select * from core.dim_region order by all"),
        "staging.stg_statistics__gdp": query(warehouse, "select * from staging.stg_statistics__gdp order by all"),
    }
    assert before["core.dim_region"] and before["staging.stg_statistics__gdp"]

    # a table whose query fails while it runs, a view that does not bind
    table_sql.write_text(f"select * from (\n{table_sql.read_text()}\n) where error('injected failure') is not null\n")
    view_sql.write_text(f"select *, no_such_column from (\n{view_sql.read_text()}\n)\n")
    snapshots = _snapshots(warehouse)
    for model, message in [("dim_region", "injected failure"), ("stg_statistics__gdp", "no_such_column")]:
        proc = _dbt(project, warehouse, tmp_path / "target", "run", "--select", model)
        assert proc.returncode != 0 and message in proc.stdout, proc.stdout[-3000:]
    _assert_rows(warehouse, before)
    leftovers = query(
        warehouse,
        "select table_name from duckdb_tables() where database_name = 'lake' and table_name like '%dbt%' "
        "union all select view_name from duckdb_views() where database_name = 'lake' and view_name like '%dbt%'",
    )
    assert leftovers == []
    assert _snapshots(warehouse) == snapshots

    # the project as it is: each rebuild is one commit, and the comments are on the new relations
    proc = _dbt(
        REPO / "models", warehouse, tmp_path / "target2", "run", "--select", "dim_region", "stg_statistics__gdp"
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _snapshots(warehouse) == snapshots + 2
    _assert_rows(warehouse, before)
    comments = query(
        warehouse,
        "select count(*) filter (where comment is not null), count(*) from duckdb_columns() "
        "where database_name = 'lake' and schema_name = 'core' and table_name = 'dim_region'",
    )
    assert comments[0][0] == comments[0][1] > 0


def test_a_run_launched_the_way_the_daemon_launches_it_ends_and_runs_on_the_prestarted_dbt(warehouse: Path) -> None:
    """The runs the landing sensors and the UI launch go through Dagster's multiprocess executor, each
    step in a process of its own: the GE worker must not keep a step process from ending, and the
    dbt step's dbt runs on the process its resource prestarted (pipelines/dbt_prestart.py)."""
    write_cnemc(
        landing_dir(warehouse) / "china_sites_20240102.csv",
        [station_row("2024-01-02T10:00:00", "1431A", pm2_5=41, pm10=52)],
    )
    selection = [  # the delivery's dataset and the chain to the served table, as a sensor asks
        "env_monitoring/air_station_hourly",
        "staging/stg_env_monitoring__air_station_hourly",
        "intermediate/int_air__station_hourly_current",
        "intermediate/int_air__station_hourly_aqi",
        "core/dim_station",  # the station is new to this warehouse
        "air/station_hourly",
    ]
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m", "pipelines.definitions"]
        + ["--select", ",".join(selection), "--partition", datetime.now(CST).strftime("%Y-%m-%d")],
        cwd=REPO,
        env=env_for(warehouse) | {"DAGSTER_HOME": str(settings_for(warehouse).dagster_home)},
        capture_output=True,
        text=True,
        timeout=600,  # a step process that never ends fails here
    )
    assert proc.returncode == 0 and "RUN_SUCCESS" in proc.stdout + proc.stderr, proc.stderr[-4000:]
    assert query(
        warehouse, "select pm2_5 from air.station_hourly where observed_at = timestamp '2024-01-02 10:00:00'"
    ) == [(41,)]
    runs = sorted((warehouse / "dbt" / "target" / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    metadata = json.loads((runs[-1] / "run_results.json").read_text())["metadata"]
    assert metadata["env"].get("ECOLAKE_DBT_PRESTARTED") == "true"
