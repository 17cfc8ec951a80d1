"""The contract option sumOfFields (pipelines/contracts.py): a total equal to the sum of its parts, or
a whole at least the sum of its parts, within a tolerance; checked row by row and refused when the
contract names fields it cannot add."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.contracts import ContractError, bind_standards, load_contract, row_rules, typed_value
from tests.helpers import REPO

FERTILIZER = REPO / "contracts" / "agriculture" / "fertilizer_use.odcs.yaml"
LAND_COVER = REPO / "contracts" / "forestry" / "land_cover_county.odcs.yaml"


def sum_hits(contract_path: Path, rows: list[dict[str, str | None]]) -> list[tuple[str, str, str] | None]:
    """Per row: (rule, field, reason) of its sumOfFields rule when the row breaks it, else None."""
    contract = bind_standards(load_contract(contract_path), REPO / "standards")
    rule = next(r for r in row_rules(contract) if r.rule.startswith("sum_of_fields."))
    frame = pl.DataFrame(
        [{f.name: row.get(f.name, "1") for f in contract.fields} for row in rows],
        schema={f.name: pl.String for f in contract.fields},
    )
    typed = frame.with_columns([typed_value(f).alias(f"{f.name}__typed") for f in contract.fields])
    out = typed.select(rule.violation.alias("hit"), rule.reason.alias("reason"))
    return [(rule.rule, rule.field, why) if hit else None for hit, why in out.iter_rows()]


def parts(n: str, p: str, k: str, c: str, total: str | None) -> dict[str, str | None]:
    return {"nitrogen_t": n, "phosphate_t": p, "potash_t": k, "compound_t": c, "total_t": total}


def test_a_total_must_equal_its_parts_within_the_tolerance() -> None:
    hits = sum_hits(
        FERTILIZER,
        [
            parts("0.1", "0.2", "0", "0", "0.3"),  # binary fractions: 0.1 + 0.2 is 0.3
            parts("10", "20", "30", "40", "100.5"),  # exactly the 0.5 t tolerated
            parts("10", "20", "30", "40", "99.5"),
            parts("10", "20", "30", "40", "100.51"),
            parts("10", "20", "30", "40", "99.49"),
            parts("10", "20", "", "40", "100.51"),  # a missing part: left to the required rule
            parts("10", "20", "30", "40", None),
        ],
    )
    reason = "total_t={} differs from nitrogen_t + phosphate_t + potash_t + compound_t = 100.0 by more than 0.5 t"
    assert hits == [
        None,
        None,
        None,
        ("sum_of_fields.equals", "total_t", reason.format("100.51")),
        ("sum_of_fields.equals", "total_t", reason.format("99.49")),
        None,
        None,
    ]


def test_a_whole_must_be_at_least_its_parts() -> None:
    def cover(land: str) -> dict[str, str]:
        return {"land_area_ha": land, "forest_ha": "600", "grassland_ha": "300", "wetland_ha": "100"}

    hits = sum_hits(LAND_COVER, [cover("5000"), cover("1000"), cover("999.5"), cover("999.4")])
    assert hits == [
        None,
        None,
        None,
        (
            "sum_of_fields.at_least",
            "land_area_ha",
            "land_area_ha=999.4 is below forest_ha + grassland_ha + wetland_ha = 1000.0 公顷 (tolerance 0.5 公顷)",
        ),
    ]


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("fields: [nitrogen_t,", "fields: [county_name,", "sumOfFields compares numeric fields .*: county_name"),
        ("fields: [nitrogen_t,", "fields: [total_t,", "sumOfFields compares numeric fields .*: total_t"),
        ("fields: [nitrogen_t,", "fields: [nitrogen,", "sumOfFields compares numeric fields .*: nitrogen$"),
        ("relation: equals", "relation: below", "sumOfFields.relation 'below' is not one of equals, atLeast"),
        ("tolerance: 0.5", "tolerance: -1", r"sumOfFields.tolerance -1 is not a number ≥ 0"),
    ],
)
def test_a_sum_the_contract_cannot_add_is_refused_when_it_loads(tmp_path: Path, old: str, new: str, error: str) -> None:
    text = FERTILIZER.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "agriculture" / FERTILIZER.name
    path.parent.mkdir()
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ContractError, match=rf"fertilizer_use.odcs.yaml: property 'total_t': {error}"):
        load_contract(path)
