"""Ecological protection red lines (natural_resources/ecological_redlines): GeoJSON deliveries written
here; areas on the ellipsoid, county unions and overlap pairs checked against areas worked out by
hand (the authalic-latitude formula for a cell bounded by meridians and parallels); a later
delivery superseding a red line; invalid geometries (bow-tie, unclosed ring, too few points, a
line, coordinates swapped out of Sichuan) quarantined with the reason naming file, feature and
field; files that are not GeoJSON FeatureCollections rejected; every batch reconciled."""

from __future__ import annotations

import json
import math
import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.contracts import ContractError, geometry_checks, load_contract
from tests.helpers import REPO, ingest_landed, query

DATASET = Path("natural_resources") / "ecological_redlines"
CONTRACT = REPO / "contracts" / DATASET.with_suffix(".odcs.yaml")
CHENGDU, ZIGONG = "510100", "510300"

# ---------------------------------------------------------------------------------------------
# areas by hand: a cell between two meridians Δλ apart and the parallels φ1, φ2 on the WGS84
# ellipsoid has the area b²·Δλ·[g(φ2) − g(φ1)], g(φ) = sinφ / (2(1 − e²sin²φ)) + ln((1 + e sinφ) /
# (1 − e sinφ)) / (4e). (The polygon's edges along parallels are geodesics in ST_Area_Spheroid: they
# differ from the parallels by about a metre over 0.1°, 10⁻⁵ of the area.)
A, F = 6_378_137.0, 1 / 298.257223563
E2 = F * (2 - F)
E, B = math.sqrt(E2), A * (1 - F)


def _g(lat: float) -> float:
    s = math.sin(math.radians(lat))
    return s / (2 * (1 - E2 * s * s)) + math.log((1 + E * s) / (1 - E * s)) / (4 * E)


def cell_km2(lat0: float, lat1: float, dlon: float) -> float:
    return B * B * math.radians(dlon) * (_g(lat1) - _g(lat0)) / 1e6


C = cell_km2(30.0, 30.1, 0.1)  # the 0.1° × 0.1° cell at 30° N: ≈ 11.09 km × 9.64 km ≈ 106.9 km²
HALF = cell_km2(30.0, 30.1, 0.05)
ZIGONG_CELL = cell_km2(29.0, 29.2, 0.1)


def ring(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    """A closed counter-clockwise rectangle (RFC 7946's exterior ring orientation)."""
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def polygon(*rings: list) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(
    code: str, geometry: object, *, function: str = "水源涵养", city: str = "成都市", area: float = 1.0
) -> dict:
    county = code[:6]
    props = {
        "红线编号": code,
        "红线名称": f"{county}红线{code[-3:]}",
        "生态功能类型": function,
        "县级代码": county,
        "县名称": f"县{county}",
        "市（州）": city,
        "面积(平方千米)": area,
    }
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write(path: Path, features: list, **top: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"type": "FeatureCollection", "name": path.stem, **top, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# county 510121: two cells overlapping by half; county 510122: a cell touching 510121-001 (a shared
# edge, no overlap) and overlapping 510121-002 by a 0.05° strip, a MultiPolygon of two cells, and a
# duplicate of its first cell under another code; 自贡 510321: a 0.1° × 0.2° cell at 29° N
CHENGDU_FEATURES = [
    feature("510121-001", polygon(ring(103.0, 30.0, 103.1, 30.1)), area=106.9),
    feature("510121-002", polygon(ring(103.05, 30.0, 103.15, 30.1)), function="生物多样性维护", area=107),
    feature("510122-001", polygon(ring(103.1, 30.0, 103.2, 30.1)), function="水土保持", area=106.9),
    feature(
        "510122-002",
        {"type": "MultiPolygon", "coordinates": [[ring(103.3, 30.0, 103.4, 30.1)], [ring(103.5, 30.0, 103.6, 30.1)]]},
        area=210,
    ),
    feature("510122-003", polygon(ring(103.1, 30.0, 103.2, 30.1)), function="水土保持", area=106.9),
]
ZIGONG_FEATURES = [
    feature("510321-001", polygon(ring(104.6, 29.0, 104.7, 29.2)), function="水土流失", city="自贡市", area=215.8)
]
# a later delivery: 510122-002 re-typed and its area corrected (the polygon unchanged)
CORRECTION = [
    feature(
        "510122-002",
        {"type": "MultiPolygon", "coordinates": [[ring(103.3, 30.0, 103.4, 30.1)], [ring(103.5, 30.0, 103.6, 30.1)]]},
        function="石漠化",
        area=213.8,
    )
]

# the mess: each feature of one file (its line = position in features) and the rule it breaks
BOW_TIE = polygon([[103.0, 31.0], [103.1, 31.1], [103.1, 31.0], [103.0, 31.1], [103.0, 31.0]])
MESS = [
    (feature("510123-001", BOW_TIE), "geometry.valid", "the exterior ring crosses itself"),
    (feature("510123-002", polygon(ring(103.0, 31.0, 103.1, 31.1)[:-1])), "geometry.valid", "is not closed"),
    (
        feature("510123-003", polygon([[103.0, 31.0], [103.1, 31.0], [103.0, 31.0]])),
        "geometry.valid",
        "has 3 points",
    ),
    (
        feature("510123-004", {"type": "LineString", "coordinates": [[103.0, 31.0], [103.1, 31.1]]}),
        "geometry.type",
        "is a LineString, not Polygon or MultiPolygon",
    ),
    (
        feature("510123-005", polygon([[lat, lon] for lon, lat in ring(103.0, 31.0, 103.1, 31.1)])),
        "geometry.bbox",
        "(inside it with longitude and latitude swapped)",
    ),
    (
        feature("510123-006", {"type": "Polygon", "coordinates": [[["103.0", "31.0"]]]}),
        "geometry.geojson",
        'geometry.coordinates[0][0][0] is "103.0", not a number',
    ),
    ("not a feature", "structure.feature", "not a GeoJSON Feature object"),
    (feature("510123-008", polygon(ring(103.0, 31.0, 103.1, 31.1)), function="湿地保护"), "valid_values", "湿地保护"),
]


def land(warehouse: Path) -> None:
    """This module's deliveries, landed in the shared warehouse of tests/conftest.py."""
    folder = warehouse / "landing" / DATASET
    chengdu = write(folder / "成都市_生态保护红线.geojson", CHENGDU_FEATURES, crs={"type": "name"})
    write(folder / "自贡市_生态保护红线.geojson", ZIGONG_FEATURES)
    correction = write(folder / "2023_更正.geojson", CORRECTION)  # sorts first: only arrival orders them
    stamp = chengdu.stat().st_mtime
    os.utime(chengdu, (stamp - 86_400, stamp - 86_400))
    os.utime(correction, (stamp, stamp))


def land_mess(warehouse: Path) -> None:
    """Then the mess: a file of broken features (held: far above the tolerated share), a file that
    is no JSON and one that is a single Feature instead of a FeatureCollection (both rejected)."""
    folder = warehouse / "landing" / DATASET
    write(folder / "阿坝州_生态保护红线.geojson", [f for f, _, _ in MESS])
    (folder / "truncated.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    (folder / "one_feature.geojson").write_text(json.dumps(CHENGDU_FEATURES[0], ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def warehouse(departments_warehouse: Path) -> Path:
    return departments_warehouse


# ---------------------------------------------------------------------------------------------


def test_the_hand_formula_agrees_with_the_rough_figure() -> None:
    # 0.1° of latitude ≈ 11.09 km, 0.1° of longitude at 30° N ≈ 9.64 km: ≈ 107 km²
    assert C == pytest.approx(11.09 * 9.64, rel=2e-3)


def test_areas_on_the_ellipsoid_match_the_hand_calculation(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select redline_code, region_code, county_code, function_code, declared_area_km2, area_km2 "
        "from ecology.redlines order by redline_code",
    )
    expected = {
        "510121-001": (CHENGDU, "510121", "water_conservation", 106.9, C),
        "510121-002": (CHENGDU, "510121", "biodiversity", 107.0, C),
        "510122-001": (CHENGDU, "510122", "soil_conservation", 106.9, C),
        "510122-002": (CHENGDU, "510122", "rocky_desertification", 213.8, 2 * C),  # the correction
        "510122-003": (CHENGDU, "510122", "soil_conservation", 106.9, C),
        "510321-001": (ZIGONG, "510321", "soil_erosion", 215.8, ZIGONG_CELL),
    }
    assert [r[0] for r in rows] == sorted(expected)
    for code, region, county, function, declared, km2 in rows:
        assert (region, county, function, declared) == expected[code][:4], code
        assert km2 == pytest.approx(expected[code][4], rel=1e-4), code


def test_area_spheroid_reads_latitude_first() -> None:
    """The convention the models rely on: ST_Area_Spheroid takes (lat, lon) points, so a lon/lat
    polygon of Sichuan (longitude > 90) gives NaN and the flipped one the hand-computed area."""
    from pipelines import lake

    con = lake.scratch(extensions=("spatial",))
    try:
        as_delivered, flipped = con.execute(
            "select ST_Area_Spheroid(g), ST_Area_Spheroid(ST_FlipCoordinates(g)) / 1e6 from "
            "(select ST_GeomFromText('POLYGON ((104 30, 104.1 30, 104.1 30.1, 104 30.1, 104 30))') as g)"
        ).fetchone()
    finally:
        con.close()
    assert math.isnan(as_delivered)
    assert flipped == pytest.approx(C, rel=1e-4)


def test_the_polygon_is_served_as_delivered(warehouse: Path) -> None:
    served = query(warehouse, "select st_astext(geom) from ecology.redlines where redline_code = '510121-001'")
    assert served == [("POLYGON ((103 30, 103.1 30, 103.1 30.1, 103 30.1, 103 30))",)]


def test_county_union_counts_overlaps_once(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select county_code, region_code, redline_count, declared_area_km2, area_km2, union_area_km2, "
        "overlap_area_km2 from ecology.redline_county order by county_code",
    )
    expected = {
        # 001 and 002 overlap by half a cell: 1.5 cells of land
        "510121": (CHENGDU, 2, 106.9 + 107.0, 2 * C, C + HALF, HALF),
        # 001 and its duplicate 003 are one cell, the MultiPolygon two
        "510122": (CHENGDU, 3, 106.9 + 213.8 + 106.9, 4 * C, 3 * C, C),
        "510321": (ZIGONG, 1, 215.8, ZIGONG_CELL, ZIGONG_CELL, 0.0),
    }
    assert [r[0] for r in rows] == sorted(expected)
    for county, region, count, declared, area, union, overlap in rows:
        want = expected[county]
        assert (region, count) == want[:2], county
        assert declared == pytest.approx(want[2]), county
        assert area == pytest.approx(want[3], rel=1e-4), county
        assert union == pytest.approx(want[4], rel=1e-4), county
        assert overlap == pytest.approx(want[5], rel=1e-4, abs=1e-6), county


def test_overlapping_pairs_are_listed_with_their_area(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select redline_code, other_redline_code, is_same_county, is_duplicate, overlap_area_km2, overlap_share "
        "from ecology.redline_overlaps order by 1, 2",
    )
    # 510121-001 only touches 510122-001 and 510122-003 (a shared edge): no pair
    expected = [
        ("510121-001", "510121-002", True, False, HALF),
        ("510121-002", "510122-001", False, False, HALF),
        ("510121-002", "510122-003", False, False, HALF),
        ("510122-001", "510122-003", True, True, C),
    ]
    assert [r[:4] for r in rows] == [e[:4] for e in expected]
    for row, want in zip(rows, expected, strict=True):
        assert row[4] == pytest.approx(want[4], rel=1e-4), row[:2]
        assert row[5] == pytest.approx(want[4] / C, rel=1e-4), row[:2]


def test_broken_features_are_quarantined_naming_file_feature_field_and_reason(warehouse: Path) -> None:
    quarantined = query(
        warehouse,
        "select _source_line, rule, field, reason from quarantine.natural_resources__ecological_redlines "
        "where _source_file like '%阿坝州%' order by _source_line",
    )
    assert [q[0] for q in quarantined] == list(range(1, len(MESS) + 1))
    for (line, rule, field, reason), (_, want_rule, fragment) in zip(quarantined, MESS, strict=True):
        assert rule == want_rule, (line, reason)
        assert fragment in reason, (line, reason)
        if rule.startswith("geometry"):
            assert field == "geometry" and reason.startswith(("geometry: ", "natural_resources/")), reason
    assert quarantined[1][3] == (
        "geometry: the exterior ring is not closed (starts at 103 31, ends at 103 31.1) (ST_IsValid is false)"
    )
    assert quarantined[5][3].startswith(
        "natural_resources/ecological_redlines/阿坝州_生态保护红线.geojson: feature 6: "
    )
    assert "lat 103–103.1" in quarantined[4][3] and "lon 97.3–108.6, lat 26–34.4" in quarantined[4][3]


def test_batches_reconcile_and_non_geojson_files_are_rejected(warehouse: Path) -> None:
    batches = query(
        warehouse,
        "select source_file, status, rows_in, rows_published, rows_quarantined, error from catalog.ingest_batches "
        "where dataset = 'natural_resources/ecological_redlines'",
    )
    status = {Path(b[0]).name: b[1:] for b in batches}
    assert {k: v[:4] for k, v in status.items()} == {
        "成都市_生态保护红线.geojson": ("published", 5, 5, 0),
        "自贡市_生态保护红线.geojson": ("published", 1, 1, 0),
        "2023_更正.geojson": ("published", 1, 1, 0),
        "阿坝州_生态保护红线.geojson": ("held", len(MESS), 0, len(MESS)),
        "truncated.geojson": ("rejected", 1, 0, 1),
        "one_feature.geojson": ("rejected", 1, 0, 1),
    }
    assert "not a readable GeoJSON file (JSONDecodeError" in status["truncated.geojson"][4]
    assert (
        "not a GeoJSON FeatureCollection (top-level type 'Feature', no features list)"
        in (status["one_feature.geojson"][4])
    )


# ---------------------------------------------------------------------------------------------
# the contract option and the parser alone


def test_the_geometry_option_checks_any_wkt_field() -> None:
    contract = load_contract(CONTRACT)
    frame = pl.DataFrame(
        {
            "geometry": [
                "POLYGON ((103 30, 103.1 30, 103.1 30.1, 103 30))",
                "POLYGON ((103 30, 103.1 30, 103.1 30.1, 103 30)",  # no closing parenthesis
                "MULTIPOLYGON (((103 30, 103.1 30, 103.1 30.1, 103 30)), "
                "((103 30, 103.1 30.1, 103.1 30, 103 30.1, 103 30)))",
                "POINT (120 30)",
                None,
            ]
        }
    )
    got = geometry_checks(contract, frame).select(pl.exclude("geometry")).rows()
    assert got[0] == (None, None, None, None)
    assert got[1] == ("the text is not readable as WKT", None, None, None)
    assert got[2][2] == (
        "the exterior ring of polygon 2 crosses itself (self-intersection, e.g. a bow-tie) (ST_IsValid is false)"
    )
    assert got[3][1] == "is a Point, not Polygon or MultiPolygon"
    assert got[3][3].startswith("the extent lon 120–120, lat 30–30 is not inside the bounding box")
    assert got[4] == (None, None, None, None)  # empty: the required rule speaks


def test_a_geometry_option_that_is_not_a_mapping_of_known_keys_is_refused(tmp_path: Path) -> None:
    text = CONTRACT.read_text(encoding="utf-8").replace("bbox: [97.3, 26.0, 108.6, 34.4]", "bbox: [108.6, 26.0, 97.3]")
    path = tmp_path / "natural_resources" / CONTRACT.name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=r"geometry.bbox \[108.6, 26.0, 97.3\] is not \[lon min, lat min"):
        load_contract(path)


def test_demo_redlines_ingest_with_their_mess_quarantined(tmp_path: Path) -> None:
    from pipelines.demo.ecological_redlines import generate_ecological_redlines

    summary = generate_ecological_redlines(tmp_path / "landing", date(2021, 1, 1), date(2023, 12, 31), 2021)
    again = generate_ecological_redlines(tmp_path / "again", date(2021, 1, 1), date(2023, 12, 31), 2021)
    assert summary == again and summary["files"] == 21 and summary["invalid"] > 0 and summary["overlaps"] > 0
    report = ingest_landed(tmp_path, CONTRACT)
    assert report.passed  # one invalid feature in a file of ten or more stays within the tolerance
    batches = query(tmp_path, "select status, rows_in, rows_published, rows_quarantined from catalog.ingest_batches")
    assert len(batches) == 21 and {b[0] for b in batches} == {"published"}
    assert all(b[1] == b[2] + b[3] for b in batches) and sum(b[1] for b in batches) == summary["features"]
    assert sum(b[3] for b in batches) == summary["invalid"]
    rules = query(tmp_path, "select rule, count(*) from quarantine.natural_resources__ecological_redlines group by 1")
    # two each of bow-tie, unclosed ring, three points (valid) and LineString (type), one swapped (bbox)
    assert dict(rules) == {"geometry.valid": 6, "geometry.type": 2, "geometry.bbox": 1}
