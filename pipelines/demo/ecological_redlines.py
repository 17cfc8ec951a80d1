"""Demo deliveries of ecological protection red lines (DEPARTMENTS.md #13).

One GeoJSON FeatureCollection per city, as the Natural Resources department exports them from its
GIS (RFC 7946, UTF-8, longitude/latitude CGCS2000):
``natural_resources/ecological_redlines/<city>_生态保护红线_<year>.geojson``, one Feature per red line
with the properties 红线编号, 红线名称, 生态功能类型, 县级代码, 县名称, 市（州）, 面积(平方千米).

FOR DEMO PURPOSES ONLY: the cities and their seats are real (standards.region), but the counties
(pipelines/demo/counties.py), their places and every polygon are invented. Each city's counties are
set in a ring around the city's seat (seat_lon, seat_lat), each county a disc of its invented land
area; inside it, three to six red lines are star-shaped polygons in a ring around the county's
centre, covering 10–25% of a basin county and 20–30% of a plateau county (阿坝, 甘孜, 凉山), with
the function types usual there (water conservation and biodiversity on the plateau, soil
conservation and erosion in the basin). Declared areas are the polygon's area on a local plane
within ±0.5%, as a department's GIS would round them. Places are kept inside Sichuan's bounding box.

The mess, drawn from the seed: one invalid feature in some cities' files (only files of at least
ten features, so the file stays within the contract's tolerance), cycling through a bow-tie ring,
an unclosed ring, a ring of three points, a LineString instead of a polygon and a polygon with
latitude and longitude swapped (outside Sichuan); and overlaps: a red line delivered twice under
two codes (a duplicated patch) and a red line that reaches into a neighbouring county's red line.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.demo.counties import County, cities, demo_counties

DATASET = Path("natural_resources") / "ecological_redlines"
KM_PER_DEGREE = 111.32  # a degree of latitude, and of longitude at the equator: demo placement only
BBOX = (97.3, 26.0, 108.6, 34.4)  # the contract's bounding box, kept clear of by a margin
MARGIN = 0.05
FUNCTIONS_BASIN = (
    ("水土保持", 0.3),
    ("水源涵养", 0.25),
    ("生物多样性维护", 0.25),
    ("水土流失", 0.15),
    ("石漠化", 0.05),
)
FUNCTIONS_PLATEAU = (("水源涵养", 0.4), ("生物多样性维护", 0.4), ("水土保持", 0.1), ("土地沙化", 0.1))
PLACES = "龙门山 邛崃山 大凉山 岷江 大渡河 雅砻江 金沙江 嘉陵江 沱江 峨眉山 大巴山 米仓山 夹金山 贡嘎山 螺髻山".split()
MESS_KINDS = ("bow_tie", "unclosed", "too_few_points", "line", "swapped")
P_MESS_CITY = 0.4  # share of the cities (with ≥ 10 red lines) whose file carries one invalid feature
MIN_FEATURES_FOR_MESS = 10


def _star(lon: float, lat: float, radius_km: float, rng: np.random.Generator) -> list[list[float]]:
    """A closed, counter-clockwise ring star-shaped around its centre: one vertex per sector of the
    circle (no gap of half a turn, which would let the closing edge cut back across) never crosses."""
    n = int(rng.integers(8, 13))
    angles = 2 * math.pi * (np.arange(n) + rng.uniform(0.1, 0.9, n)) / n
    radii = radius_km * rng.uniform(0.8, 1.2, n)
    ring = [_offset(lon, lat, r * math.cos(a), r * math.sin(a)) for a, r in zip(angles, radii, strict=True)]
    return [*ring, ring[0]]


def _offset(lon: float, lat: float, east_km: float, north_km: float) -> list[float]:
    dlat = north_km / KM_PER_DEGREE
    dlon = east_km / (KM_PER_DEGREE * math.cos(math.radians(lat)))
    return [round(lon + dlon, 6), round(lat + dlat, 6)]


def _plane_area_km2(ring: list[list[float]]) -> float:
    """Shoelace area on a plane tangent at the ring's mean latitude (what a GIS would declare)."""
    lat0 = math.radians(sum(p[1] for p in ring) / len(ring))
    xs = [p[0] * KM_PER_DEGREE * math.cos(lat0) for p in ring]
    ys = [p[1] * KM_PER_DEGREE for p in ring]
    return abs(sum(xs[i] * ys[i + 1] - xs[i + 1] * ys[i] for i in range(len(ring) - 1))) / 2


def _county_centres(city: dict, counties: list[County], rng: np.random.Generator) -> list[tuple[float, float]]:
    """Counties in a ring around the seat, far enough apart for their discs not to meet, each disc
    kept inside the bounding box."""
    radius = max(math.sqrt(c.area_km2 / math.pi) for c in counties)
    distance = 2.2 * radius
    turn = float(rng.uniform(0, 2 * math.pi))
    centres = []
    for k, county in enumerate(counties):
        angle = turn + 2 * math.pi * k / len(counties)
        lon, lat = _offset(
            float(city["seat_lon"]), float(city["seat_lat"]), distance * math.cos(angle), distance * math.sin(angle)
        )
        r_lat = math.sqrt(county.area_km2 / math.pi) / KM_PER_DEGREE
        r_lon = r_lat / math.cos(math.radians(lat))
        lon = min(max(lon, BBOX[0] + r_lon + MARGIN), BBOX[2] - r_lon - MARGIN)
        lat = min(max(lat, BBOX[1] + r_lat + MARGIN), BBOX[3] - r_lat - MARGIN)
        centres.append((lon, lat))
    return centres


def _redlines(city: dict, rng: np.random.Generator) -> list[dict]:
    counties = [c for c in demo_counties() if c.city_code == city["region_code"]]
    features = []
    for county, (lon, lat) in zip(counties, _county_centres(city, counties, rng), strict=True):
        functions = FUNCTIONS_PLATEAU if county.plateau else FUNCTIONS_BASIN
        weights = np.array([w for _, w in functions])
        share = rng.uniform(0.2, 0.3) if county.plateau else rng.uniform(0.1, 0.25)
        k = int(rng.integers(3, 7))
        county_radius = math.sqrt(county.area_km2 / math.pi)
        patch_radius = county_radius * math.sqrt(share / k)
        turn = float(rng.uniform(0, 2 * math.pi))
        for j in range(k):
            angle = turn + 2 * math.pi * j / k
            centre = _offset(lon, lat, 0.6 * county_radius * math.cos(angle), 0.6 * county_radius * math.sin(angle))
            ring = _star(centre[0], centre[1], patch_radius, rng)
            function = functions[int(rng.choice(len(functions), p=weights / weights.sum()))][0]
            place = PLACES[int(rng.integers(len(PLACES)))]
            features.append(
                {
                    "code": f"{county.county_code}-{j + 1:03d}",
                    "name": f"{county.county_name}{place}{function}生态保护红线",
                    "function": function,
                    "county": county,
                    "ring": ring,
                    "declared": round(_plane_area_km2(ring) * float(rng.uniform(0.995, 1.005)), 2),
                }
            )
    return features


def _overlap(features: list[dict], kind: str, rng: np.random.Generator) -> None:
    """A duplicated patch (the same polygon under the next free code of its county), or a copy of a
    patch shifted by half its width into the next one (a neighbour's red line reaching into it)."""
    source = features[int(rng.integers(len(features)))]
    county = source["county"]
    taken = {f["code"] for f in features}
    number = next(n for n in range(1, 1000) if f"{county.county_code}-{n:03d}" not in taken)
    ring = source["ring"]
    if kind == "shifted":
        xs = [p[0] for p in ring]
        shift = (max(xs) - min(xs)) / 2
        ring = [[round(p[0] + shift, 6), p[1]] for p in ring]
    features.append(source | {"code": f"{county.county_code}-{number:03d}", "ring": ring})


def _geometry(ring: list[list[float]], mess: str | None) -> dict:
    if mess == "bow_tie":  # the ring's box walked corner to opposite corner: its edges cross
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    if mess == "unclosed":
        return {"type": "Polygon", "coordinates": [ring[:-1]]}
    if mess == "too_few_points":
        return {"type": "Polygon", "coordinates": [[ring[0], ring[1], ring[0]]]}
    if mess == "line":
        return {"type": "LineString", "coordinates": ring}
    if mess == "swapped":
        return {"type": "Polygon", "coordinates": [[[p[1], p[0]] for p in ring]]}
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(f: dict, mess: str | None) -> dict:
    county: County = f["county"]
    return {
        "type": "Feature",
        "properties": {
            "红线编号": f["code"],
            "红线名称": f["name"],
            "生态功能类型": f["function"],
            "县级代码": county.county_code,
            "县名称": county.county_name,
            "市（州）": county.city_name,
            "面积(平方千米)": f["declared"],
        },
        "geometry": _geometry(f["ring"], mess),
    }


def generate_ecological_redlines(landing: Path, start: date, end: date, seed: int) -> dict:
    """One file per city, the red lines in force at the end of the span (red lines are delineated
    once and adjusted rarely: one delivery, not one per year)."""
    rng = np.random.default_rng([seed, 13])
    kinds = iter(MESS_KINDS * 5)
    summary = {"files": 0, "features": 0, "invalid": 0, "overlaps": 0}
    for city in cities():
        features = _redlines(city, rng)
        roll = rng.random()
        if roll < 0.25:
            _overlap(features, "duplicate", rng)
            summary["overlaps"] += 1
        elif roll < 0.5:
            _overlap(features, "shifted", rng)
            summary["overlaps"] += 1
        mess_at = None
        if len(features) >= MIN_FEATURES_FOR_MESS and rng.random() < P_MESS_CITY:
            mess_at = (int(rng.integers(len(features))), next(kinds))
            summary["invalid"] += 1
        collection = {
            "type": "FeatureCollection",
            "name": f"{city['name_zh']}生态保护红线",
            "features": [
                _feature(f, mess_at[1] if mess_at and mess_at[0] == i else None) for i, f in enumerate(features)
            ],
        }
        path = landing / DATASET / f"{city['name_zh']}_生态保护红线_{end.year}.geojson"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        summary["files"] += 1
        summary["features"] += len(features)
    return summary
