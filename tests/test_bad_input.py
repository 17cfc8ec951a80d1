"""Bad deliveries end in a rejected batch, a quarantined row with its reason, or a superseded row;
every batch reconciles (rows_in = rows_published + rows_quarantined)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.contracts import load_contract
from pipelines.ingest.deliveries import discover
from pipelines.ingest.engine import ingest
from tests.helpers import CNEMC_HEADER, REPO, ecolake, landing_dir, query, settings_for, station_row, write_cnemc

CONTRACT = REPO / "contracts" / "env_monitoring" / "air_station_hourly.odcs.yaml"
T = "2022-05-01T10:00:00"
GOOD = {"pm2_5": 30, "pm10": 50, "so2": 5, "no2": 20, "co": 0.6, "o3": 80}


def _ingest(warehouse: Path):
    contract = load_contract(CONTRACT)
    settings = settings_for(warehouse)
    return ingest(contract, discover(settings.landing, contract.department, contract.dataset), settings)


def _good_rows(n: int, timepoint: str = T) -> list[dict]:
    return [station_row(timepoint, f"{1100 + i}A", **GOOD) for i in range(n)]


def _batches(warehouse: Path) -> dict[str, tuple]:
    rows = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined, error from catalog.ingest_batches",
    )
    return {r[0].rsplit("/", 1)[-1]: r[1:] for r in rows}


def _quarantine(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "select _source_file, _source_line, dataset, rule, field, reason "
        "from quarantine.env_monitoring__air_station_hourly order by _source_file, _source_line",
    )


def _assert_reconciles(warehouse: Path) -> None:
    batches = _batches(warehouse)
    assert batches
    for name, (_, rows_in, published, quarantined, _) in batches.items():
        assert rows_in == published + quarantined, name
    raw = query(warehouse, "select count(*) from raw.env_monitoring__air_station_hourly")[0][0]
    quarantined = query(warehouse, "select count(*) from quarantine.env_monitoring__air_station_hourly")[0][0]
    assert raw == sum(b[2] for b in batches.values())
    assert quarantined == sum(b[3] for b in batches.values())


def test_wrong_encoding_is_a_rejected_batch(tmp_path: Path) -> None:
    path = landing_dir(tmp_path) / "gbk.csv"
    text = (
        ",".join(CNEMC_HEADER)
        + "\n"
        + "\n".join(
            f"{T},{1100 + i}A,104.0,30.6,成都市,测试{i},,40,50,50,30,30,80,80,60,60,20,20,5,5,0.6,0.6" for i in range(3)
        )
        + "\n"
    )
    path.write_bytes(text.encode("gbk"))
    report = _ingest(tmp_path)
    status, rows_in, published, quarantined, error = _batches(tmp_path)["gbk.csv"]
    assert (status, rows_in, published, quarantined) == ("rejected", 3, 0, 3)
    assert "gbk.csv: line 2" in error and "utf-8" in error
    assert not report.passed
    assert {q[3] for q in _quarantine(tmp_path)} == {"encoding"}
    _assert_reconciles(tmp_path)


def test_missing_column_is_a_rejected_batch(tmp_path: Path) -> None:
    header = [h for h in CNEMC_HEADER if h != "pm2_5"]
    write_cnemc(landing_dir(tmp_path) / "no_pm25.csv", _good_rows(4), header=header)
    _ingest(tmp_path)
    status, rows_in, published, quarantined, error = _batches(tmp_path)["no_pm25.csv"]
    assert (status, rows_in, published, quarantined) == ("rejected", 4, 0, 4)
    assert "lacks contract column(s) pm2_5" in error and "line 1" in error
    _assert_reconciles(tmp_path)


def test_truncated_file_quarantines_the_cut_line(tmp_path: Path) -> None:
    path = write_cnemc(landing_dir(tmp_path) / "cut.csv", _good_rows(30))
    path.write_bytes(path.read_bytes()[:-25])  # the last line loses its end
    _ingest(tmp_path)
    status, rows_in, published, quarantined, _ = _batches(tmp_path)["cut.csv"]
    assert (status, rows_in, published, quarantined) == ("published", 30, 29, 1)
    ((file, line, dataset, rule, field, reason),) = _quarantine(tmp_path)
    assert (file.endswith("cut.csv"), line, dataset, rule) == (
        True,
        31,
        "env_monitoring__air_station_hourly",
        "structure.truncated",
    )
    assert "line 31" in reason
    _assert_reconciles(tmp_path)


def test_non_numeric_negative_and_absurd_values_are_quarantined_with_field_and_value(tmp_path: Path) -> None:
    rows = _good_rows(80)
    rows[3]["pm2_5"] = "abc"
    rows[7]["no2"] = -4
    rows[9]["co"] = 99999
    write_cnemc(landing_dir(tmp_path) / "values.csv", rows)
    report = _ingest(tmp_path)
    quarantined = {(q[1], q[3], q[4]): q[5] for q in _quarantine(tmp_path)}
    assert set(quarantined) == {(5, "type", "pm2_5"), (9, "range.minimum", "no2"), (11, "range.maximum", "co")}
    assert "pm2_5=abc is not a valid number" in quarantined[(5, "type", "pm2_5")]
    assert "no2=-4" in quarantined[(9, "range.minimum", "no2")]
    assert report.passed  # 3 of 80 rows: within the contract's tolerated share (5 %)
    _assert_reconciles(tmp_path)


def test_too_many_bad_rows_fail_the_contract_check(tmp_path: Path) -> None:
    rows = _good_rows(10)
    for row in rows[:5]:
        row["aqi"] = 600
    write_cnemc(landing_dir(tmp_path) / "bad.csv", rows)
    report = _ingest(tmp_path)
    assert not report.passed and report.over_tolerance
    # the GE suite, tolerating 5 % per expectation, fails on the same batch and says where (the share
    # is of the non-blank values: the other rows have no published AQI)
    assert not report.ge_success
    assert any("expect_column_values_to_be_between on aqi: 100.00% of rows" in f for f in report.ge_failures)
    _assert_reconciles(tmp_path)


def test_duplicate_station_hours_in_one_delivery(tmp_path: Path) -> None:
    rows = _good_rows(60)
    exact = dict(rows[0])
    conflicting = dict(rows[1]) | {"pm2_5": 99}
    write_cnemc(landing_dir(tmp_path) / "dups.csv", rows + [exact, conflicting])
    _ingest(tmp_path)
    status, rows_in, published, quarantined, _ = _batches(tmp_path)["dups.csv"]
    # the exact repeat is published (superseded by its later line when modelled); the conflicting
    # pair cannot be told apart and both lines go to quarantine
    assert (status, rows_in, published, quarantined) == ("published", 62, 60, 2)
    assert [(q[1], q[3]) for q in _quarantine(tmp_path)] == [(3, "primary_key.conflict"), (63, "primary_key.conflict")]
    _assert_reconciles(tmp_path)


def test_ingest_is_idempotent_per_delivery(tmp_path: Path) -> None:
    write_cnemc(landing_dir(tmp_path) / "a.csv", _good_rows(3))
    _ingest(tmp_path)
    contract = load_contract(CONTRACT)
    from pipelines.ingest.engine import pending_deliveries

    assert pending_deliveries(contract, settings_for(tmp_path)) == []


@pytest.mark.parametrize("exit_expected", [1])
def test_materialize_fails_and_blocks_models_when_the_contract_check_fails(tmp_path: Path, exit_expected: int) -> None:
    rows = _good_rows(10)
    for row in rows:
        row["so2"] = "—"
    write_cnemc(landing_dir(tmp_path) / "all_bad.csv", rows)
    proc = ecolake(tmp_path, "materialize", check=False)
    assert proc.returncode == exit_expected
    assert "blocking check failed: env_monitoring/air_station_hourly:contract" in proc.stderr
    served = query(tmp_path, "select count(*) from information_schema.tables where table_schema = 'air'")[0][0]
    assert served == 0  # downstream models did not run


def test_an_unbalanced_quote_or_bare_cr_line_ends_do_not_stop_other_files(tmp_path: Path) -> None:
    good = write_cnemc(landing_dir(tmp_path) / "good.csv", _good_rows(40))
    quoted = write_cnemc(landing_dir(tmp_path) / "quote.csv", _good_rows(40))
    lines = quoted.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5].replace("测试点", '测"试点')
    quoted.write_text("\n".join(lines), encoding="utf-8")
    cr_only = write_cnemc(landing_dir(tmp_path) / "cr.csv", _good_rows(40))
    cr_only.write_bytes(cr_only.read_bytes().replace(b"\n", b"\r"))
    report = _ingest(tmp_path)
    batches = _batches(tmp_path)
    assert batches["good.csv"][:4] == ("published", 40, 40, 0)
    assert batches["cr.csv"][:4] == ("published", 40, 40, 0)
    assert batches["quote.csv"][:4] == ("published", 40, 39, 1)
    assert [(q[1], q[3]) for q in _quarantine(tmp_path)] == [(6, "structure.quote")]
    assert report.rows_in == 120
    del good
    _assert_reconciles(tmp_path)


def test_a_touched_file_is_the_same_delivery_and_a_changed_one_is_new(tmp_path: Path) -> None:
    import os

    path = write_cnemc(landing_dir(tmp_path) / "a.csv", _good_rows(3))
    _ingest(tmp_path)
    contract = load_contract(CONTRACT)
    from pipelines.ingest.engine import pending_deliveries

    later = path.stat().st_mtime + 3600
    os.utime(path, (later, later))
    assert pending_deliveries(contract, settings_for(tmp_path)) == []
    write_cnemc(path, _good_rows(4))
    assert [d.relpath for d in pending_deliveries(contract, settings_for(tmp_path))] == [
        "env_monitoring/air_station_hourly/a.csv"
    ]


def test_a_held_batch_is_never_served_until_it_is_re_run(tmp_path: Path) -> None:
    import shutil

    rows = _good_rows(10)
    rows[0]["pm2_5"] = "n/a"  # 1 of 10 rows: above the 5 % the contract tolerates
    write_cnemc(landing_dir(tmp_path) / "held.csv", rows)
    write_cnemc(landing_dir(tmp_path) / "fine.csv", _good_rows(40, "2022-05-01T11:00:00"))
    assert ecolake(tmp_path, "materialize", check=False).returncode == 1
    assert ecolake(tmp_path, "materialize").returncode == 0  # nothing new: passes, still not serving it
    served = query(tmp_path, "select observed_at::varchar, count(*) from air.station_hourly group by 1 order by 1")
    assert served == [("2022-05-01 11:00:00", 40)]
    assert _batches(tmp_path)["held.csv"][0] == "held"

    # the contract is changed to tolerate more, and the held batch is re-run
    contracts = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", contracts)
    path = contracts / "env_monitoring" / "air_station_hourly.odcs.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 0.05}", "value: 0.2}"), encoding="utf-8")
    import os
    import subprocess
    import sys

    env = os.environ | {"ECOLAKE_WAREHOUSE": str(tmp_path), "ECOLAKE_CONTRACTS": str(contracts)}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "reingest", "env_monitoring/air_station_hourly"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    statuses = query(
        tmp_path,
        "select status, rows_in, rows_published, rows_quarantined, reprocesses is not null "
        "from catalog.ingest_batches where source_file like '%held.csv' order by status",
    )
    assert statuses == [("published", 10, 9, 1, True), ("reprocessed", 10, 9, 1, False)]
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "materialize"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    served = query(tmp_path, "select observed_at::varchar, count(*) from air.station_hourly group by 1 order by 1")
    assert served == [("2022-05-01 10:00:00", 9), ("2022-05-01 11:00:00", 40)]
