"""The whole graph on a short demo span in a scratch warehouse: twice (same tables), then a
redelivery that supersedes, the station registry enriching core.dim_station, and the incremental
air models equal to a build from nothing after new days, redeliveries, re-runs and a moved station."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines import lake
from tests.helpers import ecolake, landing_dir, query, settings_for, station_row, write_cnemc

SERVED = [
    "air.station_hourly",
    "air.station_daily",
    "air.city_daily",
    "air.city_monthly",
    "air.city_yearly",
    "core.dim_station",
    "core.dim_region",
]


def _fingerprint(warehouse: Path) -> dict[str, tuple]:
    out = {}
    for table in SERVED:
        cols = [
            r[0]
            for r in query(
                warehouse,
                "select column_name from information_schema.columns where "
                "table_catalog = 'lake' and table_schema || '.' || table_name = ? "
                "and column_name not in ('delivery_id', 'first_observed_at', "
                "'last_observed_at') order by ordinal_position",
                [table],
            )
        ]
        out[table] = query(warehouse, f"select count(*), sum(hash({', '.join(cols)})) from {table}")[0]
    return out


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("e2e")
    # every department but the HJ 212 fleet (a demo day of it is ~500k packets; tests/test_hj212_*
    # cover that path, and its demo output in test_hj212_pipeline)
    ecolake(
        warehouse,
        "demo-data",
        "--start",
        "2022-01-30",
        "--end",
        "2022-02-02",
        "--seed",
        "7",
        "--skip",
        "pollution_source/hj212_packets",
    )
    ecolake(warehouse, "materialize")
    return warehouse


def test_materialising_twice_gives_the_same_tables(demo_warehouse: Path) -> None:
    first = _fingerprint(demo_warehouse)
    proc = ecolake(demo_warehouse, "materialize")
    assert "0 files" in proc.stderr
    assert _fingerprint(demo_warehouse) == first
    assert first["air.station_hourly"][0] > 90 * 24 * 3
    print({t: v[0] for t, v in first.items()})


def test_every_batch_reconciles_and_quarantine_rows_say_why(demo_warehouse: Path) -> None:
    bad = query(
        demo_warehouse, "select count(*) from catalog.ingest_batches where rows_in <> rows_published + rows_quarantined"
    )[0][0]
    assert bad == 0
    rows = query(
        demo_warehouse,
        "select dataset, _source_file, _source_line, rule, reason from quarantine.env_monitoring__air_station_hourly",
    )
    assert rows, "the demo's named mess reaches quarantine"
    for dataset, file, line, rule, reason in rows:
        assert dataset and file.startswith("env_monitoring/air_station_hourly/") and line >= 2 and rule and reason


def test_station_registry_enriches_dim_station(demo_warehouse: Path) -> None:
    in_registry, total, control, cities = query(
        demo_warehouse,
        "select count(*) filter (where is_in_registry), count(*), "
        "count(*) filter (where is_control_station), count(distinct region_code) from core.dim_station",
    )[0]
    assert in_registry >= 100 and control >= 10 and cities == 21
    # the registry renamed 1909A; the hourly files still carry the old name
    assert (
        query(demo_warehouse, "select station_name from core.dim_station where station_code = '1909A'")[0][0]
        == "嘉陵区生态环境局"
    )


def test_city_figures_are_the_mean_of_non_control_stations(demo_warehouse: Path) -> None:
    from collections import defaultdict
    from decimal import ROUND_HALF_EVEN, Decimal

    stations = query(
        demo_warehouse,
        "select d.region_code, d.observed_date, d.pm2_5, s.is_control_station from air.station_daily d "
        "join core.dim_station s using (station_code) where d.pm2_5 is not null",
    )
    values: dict[tuple, list] = defaultdict(list)
    with_control: dict[tuple, list] = defaultdict(list)
    for region, day, pm2_5, is_control in stations:
        with_control[(region, day)].append(Decimal(pm2_5))
        if not is_control:
            values[(region, day)].append(Decimal(pm2_5))
    city = {
        (r, d): v for r, d, v in query(demo_warehouse, "select region_code, observed_date, pm2_5 from air.city_daily")
    }
    differs = 0
    for key, vals in values.items():
        expected = (sum(vals) / len(vals)).quantize(Decimal("1"), rounding=ROUND_HALF_EVEN)
        assert city[key] == expected, key
        everyone = (sum(with_control[key]) / len(with_control[key])).quantize(Decimal("1"), rounding=ROUND_HALF_EVEN)
        differs += everyone != expected
    print(f"{len(values)} city-days checked; {differs} would differ if control stations counted")
    assert len(values) > 60 and differs > 0


def test_other_provinces_stay_in_raw_and_out_of_the_theme(demo_warehouse: Path) -> None:
    kept_in_raw = query(
        demo_warehouse, "select count(*) from raw.env_monitoring__air_station_hourly where area = '重庆市'"
    )[0][0]
    served = query(
        demo_warehouse,
        "select count(*) from air.station_hourly h join core.dim_station s using (station_code) "
        "where s.city_name = '重庆市'",
    )[0][0]
    assert kept_in_raw > 0 and served == 0
    assert query(demo_warehouse, "select count(*) from air.station_hourly where region_code is null")[0][0] == 0


def test_a_later_redelivery_supersedes_the_earlier(tmp_path: Path, demo_warehouse: Path) -> None:
    warehouse = tmp_path / "w"
    shutil.copytree(demo_warehouse, warehouse)
    code, at = query(
        warehouse,
        "select station_code, observed_at from air.station_hourly "
        "where pm2_5 is not null order by station_code, observed_at limit 1",
    )[0]
    timepoint = at.strftime("%Y-%m-%dT%H:%M:%S")
    write_cnemc(
        landing_dir(warehouse) / "redelivered" / "fix.csv",
        [
            station_row(timepoint, code, pm2_5=321, pm10=400, so2=5, no2=20, co=0.5, o3=40),
            station_row("2031-01-01T01:00:00", code, pm2_5=10),  # a clock far ahead: flagged, kept
        ],
    )
    # The AQI table as a version before the standards digest left it: the next build must score
    # every hour again and add the column, not fail on the incremental filter that reads it.
    con = lake.connect(settings_for(warehouse))
    con.execute("alter table intermediate.int_air__station_hourly_aqi drop column standards_digest")
    con.close()
    # what the landing sensor runs: the new delivery's dataset and what depends on it
    ecolake(warehouse, "materialize", "--pending")
    assert query(
        warehouse,
        "select count(*), count(standards_digest), count(distinct standards_digest) "
        "from intermediate.int_air__station_hourly_aqi",
    )[0] == (query(warehouse, "select count(*) from intermediate.int_air__station_hourly_current")[0][0],) * 2 + (1,)
    assert (
        query(
            warehouse,
            "select count(*) from raw.env_monitoring__air_station_hourly where stationcode = ? and timepoint = ?",
            [code, at],
        )[0][0]
        >= 2
    )
    pm2_5, source = query(
        warehouse,
        "select pm2_5, source_file from air.station_hourly where station_code = ? and observed_at = ?",
        [code, at],
    )[0]
    assert (pm2_5, source) == (321, "env_monitoring/air_station_hourly/redelivered/fix.csv")
    # the hour's AQI is scored again from the new values (the AQI model is incremental): PM2.5 321
    # lies in the segment 250–350 µg/m³ → IAQI 300–400, so 300 + 100 × 71/100 = 371; PM10 400 in
    # 350–420 → 200–300 gives 272; the gases stay far below
    assert query(
        warehouse,
        "select aqi, primary_pollutants from air.station_hourly where station_code = ? and observed_at = ?",
        [code, at],
    ) == [(371, ["pm2_5"])]
    assert query(
        warehouse, "select is_future_dated from air.station_hourly where observed_at = timestamp '2031-01-01 01:00'"
    ) == [(True,)]


# the air models built incrementally (models/macros/incremental_rows.sql), and what is built from them
INCREMENTAL = [
    "intermediate.int_air__station_hourly_current",
    "intermediate.int_air__station_hourly_aqi",
    "air.station_hourly",
    "intermediate.int_air__station_daily_values",
    "air.station_daily",
]


def _tables(warehouse: Path, tables: list[str]) -> dict[str, tuple]:
    """Row count and an order-free hash of every row, the build time (refreshed_at) left out."""
    out = {}
    for table in tables:
        cols = [
            r[0]
            for r in query(
                warehouse,
                "select column_name from information_schema.columns where table_catalog = 'lake' "
                "and table_schema || '.' || table_name = ? and column_name <> 'refreshed_at' order by ordinal_position",
                [table],
            )
        ]
        out[table] = query(warehouse, f"select count(*), sum(hash({', '.join(cols)})) from {table}")[0]
    return out


def _refreshed_last(warehouse: Path, table: str) -> tuple[int, int]:
    """Rows the last build of the table wrote, and all its rows."""
    return query(
        warehouse,
        f"select count(*) filter (where refreshed_at = (select max(refreshed_at) from {table})), count(*) from {table}",
    )[0]


def test_incremental_builds_equal_a_full_rebuild(tmp_path: Path, demo_warehouse: Path) -> None:
    """A day more and a redelivery, then a batch re-run whose file lost lines and a station moved to
    another city: each time `materialize` builds the air models incrementally; at the end every
    table equals what a build from nothing gives."""
    from datetime import date

    from pipelines.demo.air import generate_air

    warehouse = tmp_path / "w"
    shutil.copytree(demo_warehouse, warehouse)
    landing = warehouse / "landing"

    # 1. one more day, and a redelivery of an hour already served with other values: only those
    # hours (and hours of deliveries superseded in full) are computed again
    generate_air(landing, date(2022, 2, 3), date(2022, 2, 3), 7)
    code, at = query(
        warehouse,
        "select station_code, observed_at from air.station_hourly where pm2_5 is not null "
        "order by station_code, observed_at limit 1",
    )[0]
    write_cnemc(
        landing_dir(warehouse) / "redelivered" / "again.csv",
        [station_row(at.strftime("%Y-%m-%dT%H:%M:%S"), code, pm2_5=150, pm10=180, so2=5, no2=20, co=0.5, o3=40)],
    )
    ecolake(warehouse, "materialize", "--pending")
    written, total = _refreshed_last(warehouse, "air.station_hourly")
    assert 24 * 90 <= written < total / 3, (written, total)
    written, total = _refreshed_last(warehouse, "intermediate.int_air__station_daily_values")
    assert written < total / 2, (written, total)
    assert query(
        warehouse, "select pm2_5 from air.station_hourly where station_code = ? and observed_at = ?", [code, at]
    ) == [(150,)]

    # 2. a published delivery re-run after its file lost all but its first station (the hours of
    # the others had no other delivery: they leave every table), and the registry moves a station
    # to another city (all its hours change city)
    delivery_id, relpath, hour = query(
        warehouse,
        "select any_value(_delivery_id), any_value(_source_file), timepoint "
        "from raw.env_monitoring__air_station_hourly where _delivery_id in "
        "(select delivery_id from catalog.ingest_batches where status = 'published') "
        "group by timepoint having count(distinct _delivery_id) = 1 and count(*) > 10 order by timepoint limit 1",
    )[0]
    lines = (landing / relpath).read_bytes().splitlines(keepends=True)
    (landing / relpath).write_bytes(b"".join(lines[:2]))
    proc = ecolake(
        warehouse, "reingest", "env_monitoring/air_station_hourly", "--status", "published", "--delivery", delivery_id
    )
    assert "1 batches re-run" in proc.stdout
    moved, name = query(
        warehouse,
        "select station_code, station_name from core.dim_station "
        "where city_name = '成都市' and not is_control_station order by station_code limit 1",
    )[0]
    (landing / "env_monitoring" / "air_stations" / "moved.csv").write_text(
        f"监测点编码,监测点名称,城市,经度,纬度,对照点\n{moved},{name},绵阳市,104.7,31.5,否\n", encoding="utf-8-sig"
    )
    # and an hour more, so that the air models are in what --pending runs (a re-run is not landed)
    write_cnemc(landing_dir(warehouse) / "2022-02-04" / "01.csv", [station_row("2022-02-04T01:00:00", code, pm2_5=30)])
    ecolake(warehouse, "materialize", "--pending")
    assert query(warehouse, "select count(*) from air.station_hourly where observed_at = ?", [hour])[0][0] <= 1
    assert query(warehouse, "select distinct region_code from air.station_hourly where station_code = ?", [moved]) == [
        ("510700",)
    ]
    incremental = _tables(warehouse, INCREMENTAL + SERVED)

    # the same deliveries built from nothing
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(warehouse, rebuilt)
    con = lake.connect(settings_for(rebuilt))
    for table in INCREMENTAL:
        con.execute(f"drop table {table}")
    con.close()
    ecolake(rebuilt, "materialize")
    assert _tables(rebuilt, INCREMENTAL + SERVED) == incremental
