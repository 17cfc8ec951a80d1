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
    from pipelines.defs.ingest.contract_datasets import SPECIALISED_FORMATS

    for contract in load_contracts(REPO / "contracts"):
        key = dg.AssetKey([contract.department, contract.dataset])
        node = graph.get(key)
        assert node.owners and node.group_name == contract.department
        if contract.delivery.format in SPECIALISED_FORMATS:
            # HJ 212 segments: one unpartitioned multi-asset (packets and their values) and one sensor
            # over the sealed segments; the segment's contract check sits on the packets
            assert "pollution_source__hj212_segments__landing" in sensors
            key = dg.AssetKey(["pollution_source", "hj212_packets"])
        else:
            assert node.partitions_def is not None, key
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


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _has_latin(text: str) -> bool:
    return any("a" <= ch.lower() <= "z" for ch in text)


def test_every_served_table_is_keyed_contracted_and_described_in_both_languages(tmp_path: Path) -> None:
    """What analysts read (themes, core, assessment, catalog): a unique_key test, an enforced
    contract for the themes, and a table and column descriptions in English and Chinese."""
    from pipelines.dbt_project import prepare
    from tests.helpers import settings_for

    manifest = json.loads(Path(prepare(settings_for(tmp_path)).manifest_path).read_text())
    keyed = {
        dep
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") == "unique_key"
        for dep in node["depends_on"]["nodes"]
    }
    served = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["fqn"][1] in ("themes", "core", "assessment", "catalog")
    ]
    assert len(served) > 40
    problems = []
    for node in served:
        name = f"{node['schema']}.{node['alias']}"
        if node["unique_id"] not in keyed:
            problems.append(f"{name}: no unique_key test")
        if node["fqn"][1] == "themes" and not node["config"]["contract"]["enforced"]:
            problems.append(f"{name}: contract not enforced")
        if not (_has_cjk(node["description"]) and _has_latin(node["description"])):
            problems.append(f"{name}: description not in both languages")
        if not node["columns"]:
            problems.append(f"{name}: no columns documented")
        for column in node["columns"].values():
            text = column.get("description") or ""
            if not (_has_cjk(text) and _has_latin(text)):
                problems.append(f"{name}.{column['name']}: description {text!r} not in both languages")
    assert not problems, "\n".join(problems)


def test_a_copied_warehouse_parses_dbt_for_its_own_profile(tmp_path: Path) -> None:
    # The parse a warehouse keeps (and seeds each dbt run with) holds its profile: a copy, with other
    # paths in its profile, must parse again once, or dbt re-parses the whole project on every run.
    import shutil

    from pipelines.dbt_project import prepare
    from tests.helpers import settings_for

    prepare(settings_for(tmp_path / "a"))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    parsed = tmp_path / "b" / "dbt" / "target" / "partial_parse.msgpack"
    copied = parsed.stat().st_mtime_ns
    prepare(settings_for(tmp_path / "b"))
    reparsed = parsed.stat().st_mtime_ns
    assert reparsed != copied
    assert str(tmp_path / "b" / "catalog.sqlite") in (tmp_path / "b" / "dbt" / "profiles.yml").read_text()
    prepare(settings_for(tmp_path / "b"))  # nothing changed since: no parse
    assert parsed.stat().st_mtime_ns == reparsed
