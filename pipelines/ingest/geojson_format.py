"""The GeoJSON delivery format: RFC 7946 FeatureCollections, one feature per row.

A file must be JSON whose top level is ``{"type": "FeatureCollection", "features": [...]}``; any
other file (not decodable, not JSON, another GeoJSON type) is rejected whole with the reason, its
content quarantined as one record. The *line* of a feature is its 1-based position in
``features``: every error names the file, the feature and the field, and ``_source_line`` in raw
and quarantine is that number.

Each contract field is read from the feature's ``properties`` by its ``physicalName``, except the
one field with a ``geometry`` property (pipelines/contracts.py), which receives the feature's
``geometry`` member written as WKT text, coordinates exactly as delivered: an unclosed ring or a
ring of three points stays so, for the contract's geometry rules (DuckDB spatial) to refuse with
the reason. Property values are delivered as text the way a reader sees them (12.0 → "12").

A feature that is not a GeoJSON Feature object, or whose geometry cannot be written as WKT
(unknown type, coordinates that are not positions), is quarantined here with the reason. A
contract property that no feature of a file carries (a renamed or English property) rejects the
file: its features are quarantined with that error. Features are counted apart from the parse, so
the engine can prove that each one ended up published or quarantined.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from pipelines.contracts import Contract, ContractError, Field
from pipelines.ingest.csv_format import DELIVERY_IDX, LINE, QUARANTINE_SCHEMA, ParsedDeliveries
from pipelines.ingest.deliveries import Delivery

# GeoJSON geometry type → (WKT keyword, nesting depth of its coordinates: 0 a position, 1 a list of them …)
_GEOMETRIES = {
    "Point": ("POINT", 0),
    "LineString": ("LINESTRING", 1),
    "Polygon": ("POLYGON", 2),
    "MultiPoint": ("MULTIPOINT", 1),
    "MultiLineString": ("MULTILINESTRING", 2),
    "MultiPolygon": ("MULTIPOLYGON", 3),
}


class GeoJSONError(ValueError):
    """A geometry member that cannot be written as WKT; the message says where inside it."""


def _number(v: object, where: str) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise GeoJSONError(f"{where} is {json.dumps(v, ensure_ascii=False)}, not a number")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


def _position(p: object, where: str, dims: set[int]) -> str:
    if not isinstance(p, list) or not 2 <= len(p) <= 3:
        raise GeoJSONError(f"{where} is not a position [lon, lat] or [lon, lat, height]")
    dims.add(len(p))
    return " ".join(_number(v, f"{where}[{i}]") for i, v in enumerate(p))


def _nested(coords: object, depth: int, where: str, dims: set[int]) -> str:
    if depth == 0:
        return _position(coords, where, dims)
    if not isinstance(coords, list):
        raise GeoJSONError(f"{where} is not a list")
    if not coords:
        return "EMPTY"
    inner = [_nested(c, depth - 1, f"{where}[{i}]", dims) for i, c in enumerate(coords)]
    return "(" + ", ".join(inner) + ")"


def to_wkt(geometry: object, where: str = "geometry") -> str | None:
    """A GeoJSON geometry object as WKT (None for a null geometry)."""
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        raise GeoJSONError(f"{where} is not a GeoJSON geometry object")
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            raise GeoJSONError(f"{where}.geometries is not a list")
        if not members:
            return "GEOMETRYCOLLECTION EMPTY"
        parts = [to_wkt(g, f"{where}.geometries[{i}]") for i, g in enumerate(members)]
        if any(p is None for p in parts):
            raise GeoJSONError(f"{where}.geometries holds a null geometry")
        return "GEOMETRYCOLLECTION (" + ", ".join(p for p in parts if p) + ")"
    if kind not in _GEOMETRIES:
        raise GeoJSONError(f"{where}.type {kind!r} is not a GeoJSON geometry type")
    keyword, depth = _GEOMETRIES[kind]
    if "coordinates" not in geometry:
        raise GeoJSONError(f"{where} has no coordinates")
    dims: set[int] = set()
    body = _nested(geometry["coordinates"], depth, f"{where}.coordinates", dims)
    if len(dims) > 1:
        raise GeoJSONError(f"{where}.coordinates mixes positions with and without height")
    if depth == 0:
        body = f"({body})"
    return f"{keyword}{' Z' if dims == {3} else ''} {body}" if body != "EMPTY" else f"{keyword} EMPTY"


def value_text(value: Any) -> str | None:
    """A property value as the text a reader sees: 12.0 → "12", true → "true", objects as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def geometry_field(contract: Contract) -> Field:
    fields = [f for f in contract.fields if f.geometry is not None]
    if len(fields) != 1:
        raise ContractError(f"{contract.path}: a geojson delivery has exactly one field with a geometry property")
    return fields[0]


def _reject(idx: int, error: str, rule: str, records: list[tuple[int, str | None]]) -> list[dict]:
    return [{DELIVERY_IDX: idx, LINE: n, "rule": rule, "field": None, "reason": error, "record": r} for n, r in records]


def parse(contract: Contract, deliveries: list[Delivery]) -> ParsedDeliveries:
    geo = geometry_field(contract)
    properties = [f for f in contract.fields if f is not geo]
    encoding = contract.delivery.encoding.replace("_", "-").lower()
    encoding = "utf-8-sig" if encoding in ("utf-8", "utf8") else encoding  # a BOM is tolerated
    rows: list[dict] = []
    struct_rows: list[dict] = []
    rejected: dict[int, str] = {}
    data_lines: dict[int, int] = {}

    for idx, d in enumerate(deliveries):
        data = d.path.read_bytes()
        try:
            document = json.loads(data.decode(encoding))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            rejected[idx] = f"{d.relpath}: not a readable GeoJSON file ({type(exc).__name__}: {exc})"
            struct_rows += _reject(idx, rejected[idx], "structure.unreadable", [(0, None)])
            data_lines[idx] = 1  # the file stands for its unknown features: one quarantined record
            continue
        features = document.get("features") if isinstance(document, dict) else None
        if (
            not isinstance(document, dict)
            or document.get("type") != "FeatureCollection"
            or not isinstance(features, list)
        ):
            shown = document.get("type") if isinstance(document, dict) else type(document).__name__
            rejected[idx] = (
                f"{d.relpath}: not a GeoJSON FeatureCollection (top-level type {shown!r}"
                + ("" if isinstance(features, list) else ", no features list")
                + ")"
            )
            struct_rows += _reject(idx, rejected[idx], "structure.not_feature_collection", [(0, None)])
            data_lines[idx] = 1
            continue
        data_lines[idx] = len(features)
        delivered = {
            k
            for f in features
            if isinstance(f, dict) and isinstance(f.get("properties"), dict)
            for k in f["properties"]
        }
        missing = [f.physical_name for f in properties if f.physical_name not in delivered]
        if features and missing:
            rejected[idx] = (
                f"{d.relpath}: no feature has the contract propert{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(missing)} (found: {', '.join(sorted(delivered)) or 'none'})"
            )
            records = [(n, json.dumps(f, ensure_ascii=False)) for n, f in enumerate(features, start=1)]
            struct_rows += _reject(idx, rejected[idx], "structure.missing_column", records)
            continue
        for n, feature in enumerate(features, start=1):
            where = f"{d.relpath}: feature {n}"
            record = json.dumps(feature, ensure_ascii=False)
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                struct_rows.append(
                    {DELIVERY_IDX: idx, LINE: n, "rule": "structure.feature", "field": None}
                    | {"reason": f"{where}: not a GeoJSON Feature object", "record": record}
                )
                continue
            try:
                wkt = to_wkt(feature.get("geometry"))
            except GeoJSONError as exc:
                struct_rows.append(
                    {DELIVERY_IDX: idx, LINE: n, "rule": "geometry.geojson", "field": geo.name}
                    | {"reason": f"{where}: {exc}", "record": record}
                )
                continue
            props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
            row = {f.name: value_text(props.get(f.physical_name)) for f in properties}
            rows.append(row | {geo.name: wkt, DELIVERY_IDX: idx, LINE: n})

    schema = {f.name: pl.String for f in contract.fields} | {DELIVERY_IDX: pl.Int64, LINE: pl.Int64}
    return ParsedDeliveries(
        rows=pl.DataFrame(rows, schema=schema),
        structural_quarantine=pl.DataFrame(struct_rows, schema=QUARANTINE_SCHEMA),
        rejected=rejected,
        data_lines=data_lines,
    )
