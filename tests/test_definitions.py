"""The Dagster graph loads offline and is wired as the architecture says."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from pipelines.contracts import load_contracts
from tests.helpers import REPO


@pytest.fixture(scope="module")
def definitions(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    mp = pytest.MonkeyPatch()
    mp.setenv("ECOLAKE_WAREHOUSE", str(tmp_path_factory.mktemp("defs")))
    from pipelines.definitions import defs

    yield defs()
    mp.undo()


def test_every_contract_has_its_ingest_asset_sensor_and_blocking_check(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    sensors = {s.name for s in definitions.sensors}
    for contract in load_contracts(REPO / "contracts"):
        key = dg.AssetKey([contract.department, contract.dataset])
        node = graph.get(key)
        assert node.partitions_def is not None, key
        assert node.owners and node.group_name == contract.department
        assert f"{contract.table_name}__landing" in sensors
        specs = [
            s
            for a in definitions.assets
            if isinstance(a, dg.AssetsDefinition)
            for s in a.check_specs
            if s.asset_key == key
        ]
        assert any(s.name == "contract" and s.blocking for s in specs), key


def test_every_check_targets_a_real_asset(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    for check_key in graph.asset_check_keys:
        assert check_key.asset_key in keys, check_key


def test_staging_models_read_raw_sources_of_contracts(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    contract_keys = {dg.AssetKey([c.department, c.dataset]) for c in load_contracts(REPO / "contracts")}
    staging = [k for k in graph.get_all_asset_keys() if k.path[0] == "staging"]
    assert staging
    for key in staging:
        parents = graph.get(key).parent_keys
        assert parents and parents <= contract_keys, (key, parents)


def test_asset_graph_snapshot(definitions: dg.Definitions) -> None:
    """Keys, upstream keys, owners and partitioning of every asset; a silent move shows up here.
    Refresh with ECOLAKE_UPDATE_SNAPSHOT=1 after an intended change."""
    import os

    graph = definitions.resolve_asset_graph()
    snapshot = {
        k.to_user_string(): {
            "deps": sorted(p.to_user_string() for p in graph.get(k).parent_keys),
            "owners": sorted(graph.get(k).owners),
            "partitioned": graph.get(k).partitions_def is not None,
            "group": graph.get(k).group_name,
        }
        for k in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    }
    path = Path(__file__).parent / "snapshots" / "asset_graph.json"
    if os.environ.get("ECOLAKE_UPDATE_SNAPSHOT"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n")
    assert path.exists(), f"{path} missing: run with ECOLAKE_UPDATE_SNAPSHOT=1 once and commit it"
    assert snapshot == json.loads(path.read_text())


def test_landing_sensor_asks_for_one_run_over_the_arrival_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from pipelines.contracts import load_contract
    from pipelines.defs.ingest.contract_datasets import build_landing_sensor
    from tests.helpers import landing_dir, station_row, write_cnemc

    monkeypatch.setenv("ECOLAKE_WAREHOUSE", str(tmp_path))
    contract = load_contract(REPO / "contracts" / "env_monitoring" / "air_station_hourly.odcs.yaml")
    sensor = build_landing_sensor(contract)
    assert isinstance(sensor(dg.build_sensor_context()), dg.SkipReason)

    older = write_cnemc(landing_dir(tmp_path) / "a.csv", [station_row("2022-01-01T01:00:00", "1001A", pm2_5=1)])
    three_days_ago = time.time() - 3 * 86400
    os.utime(older, (three_days_ago, three_days_ago))
    write_cnemc(landing_dir(tmp_path) / "b.csv", [station_row("2022-01-01T02:00:00", "1001A", pm2_5=1)])
    request = sensor(dg.build_sensor_context())
    assert isinstance(request, dg.RunRequest)
    start = request.tags["dagster/asset_partition_range_start"]
    end = request.tags["dagster/asset_partition_range_end"]
    assert start < end and request.tags["ecolake/files"] == "2"
    assert sensor(dg.build_sensor_context()).run_key == request.run_key  # same pending files, same run key
