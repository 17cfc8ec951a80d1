"""`ecolake materialize` on a subset of the deliveries: one department's one year builds every model
(the others empty) and a missing baseline gives NULL indicators; then `materialize --pending` runs
only the datasets with new deliveries and what depends on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ecolake, landing_dir, query, station_row, write_cnemc


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
