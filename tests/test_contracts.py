"""Contracts parse with the ODCS model and compile into rules and GE suites."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.contracts import ContractError, load_contract, load_contracts, row_rules, typed_value
from tests.helpers import REPO

CONTRACTS = load_contracts(REPO / "contracts")


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.table_name)
def test_contract_is_complete_and_bilingual(contract) -> None:
    assert contract.id.startswith("urn:ecolake:contract:") and contract.version
    assert contract.name_zh and contract.purpose
    assert contract.primary_key
    assert 0 < contract.tolerated_quarantine_share < 0.5
    for f in contract.fields:
        assert f.description and f.description_zh, f.name
        if f.logical_type == "number" and f.name not in ("longitude", "latitude"):
            assert f.unit or f.unit_field, f"{contract.table_name}.{f.name} has no unit"


def test_air_hourly_contract_states_keys_units_ranges_and_freshness() -> None:
    contract = next(c for c in CONTRACTS if c.dataset == "air_station_hourly")
    assert contract.primary_key == ["stationcode", "timepoint"]
    assert contract.field("co").unit == "mg/m³" and contract.field("pm2_5").unit == "µg/m³"
    assert contract.field("aqi").maximum == 500
    assert contract.freshness_element == "timepoint" and contract.freshness_max_age_hours == 3


def test_ge_suite_mirrors_the_contract() -> None:
    import great_expectations as gx

    from pipelines.contracts import ge_suite

    gx.get_context(mode="ephemeral")
    contract = next(c for c in CONTRACTS if c.dataset == "air_station_hourly")
    suite = ge_suite(contract)
    kinds = {e.expectation_type for e in suite.expectations}
    assert {
        "expect_column_to_exist",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
    } <= kinds
    between = [e for e in suite.expectations if e.expectation_type == "expect_column_values_to_be_between"]
    assert all(abs(e.mostly - 0.95) < 1e-9 for e in between)


def test_row_rules_name_field_and_value() -> None:
    contract = next(c for c in CONTRACTS if c.dataset == "air_station_hourly")
    frame = pl.DataFrame({f.name: ["1"] for f in contract.fields}).with_columns(
        pl.lit("2022-01-01T01:00:00").alias("timepoint"),
        pl.lit("1001A").alias("stationcode"),
        pl.lit("104.1").alias("longitude"),
        pl.lit("30.6").alias("latitude"),
        pl.lit("x1").alias("pm2_5"),
        pl.lit("-3").alias("no2"),
    )
    typed = frame.with_columns([typed_value(f).alias(f"{f.name}__typed") for f in contract.fields])
    hits = [
        (r.rule, r.field, typed.select(r.reason).item())
        for r in row_rules(contract)
        if typed.select(r.violation).item()
    ]
    assert ("type", "pm2_5", "pm2_5=x1 is not a valid number") in hits
    assert any(rule == "range.minimum" and field == "no2" and "no2=-3" in reason for rule, field, reason in hits)
    assert len(hits) == 2


def test_a_broken_contract_is_named_in_the_error(tmp_path) -> None:
    folder = tmp_path / "env_monitoring"
    folder.mkdir()
    text = (REPO / "contracts" / "env_monitoring" / "air_stations.odcs.yaml").read_text(encoding="utf-8")
    bad = folder / "air_stations.odcs.yaml"
    bad.write_text(text.replace("logicalType: number", "logicalType: decimalish", 1), encoding="utf-8")
    with pytest.raises(ContractError, match=r"air_stations.odcs.yaml: property 'longitude': logicalType 'decimalish'"):
        load_contract(bad)
