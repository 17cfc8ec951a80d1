"""Demo data generators: deterministic, realistic deliveries of the departments (DEPARTMENTS.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.demo.air import generate_air
from pipelines.demo.climate import generate_energy_consumption, generate_gdp
from pipelines.demo.drinking_water import generate_drinking_water_sources
from pipelines.demo.eco_flow import generate_eco_flow
from pipelines.demo.ecological_redlines import generate_ecological_redlines
from pipelines.demo.enforcement import generate_enforcement_cases
from pipelines.demo.fertilizer import generate_fertilizer_use
from pipelines.demo.forestry import generate_forestry
from pipelines.demo.outlets import generate_outlets
from pipelines.demo.rural_sewage import generate_rural_sewage_villages
from pipelines.demo.soil import generate_soil
from pipelines.demo.water import generate_water_sections
from pipelines.demo.water_auto import generate_water_auto
from pipelines.demo.wwtp import generate_wwtp_monthly
from pipelines.hj212.simulator import generate_hj212_packets

# one generator per group of deliveries (department/topic); each writes into landing/
GENERATORS = {
    "env_monitoring/air": generate_air,
    "env_monitoring/water_sections": generate_water_sections,
    "env_monitoring/water_auto": generate_water_auto,
    "pollution_source/outlets": generate_outlets,
    "pollution_source/hj212_packets": generate_hj212_packets,
    "enforcement/cases": generate_enforcement_cases,
    "water_resources/eco_flow": generate_eco_flow,
    "water_env/drinking_water_sources": generate_drinking_water_sources,
    "development_reform/energy_consumption": generate_energy_consumption,
    "statistics/gdp": generate_gdp,
    "agriculture/rural_sewage_villages": generate_rural_sewage_villages,
    "natural_resources/ecological_redlines": generate_ecological_redlines,
    "housing/wwtp_monthly": generate_wwtp_monthly,
    "soil/farmland_and_plots": generate_soil,
    "agriculture/fertilizer_use": generate_fertilizer_use,
    "forestry/land_cover_and_protected_areas": generate_forestry,
}


def generate(
    landing: Path,
    *,
    start: date,
    end: date,
    seed: int,
    only: list[str] | None = None,
    skip: list[str] | None = None,
) -> dict[str, dict]:
    """Every generator's deliveries, or only those named, less those skipped (keys of GENERATORS)."""
    unknown = sorted((set(only or ()) | set(skip or ())) - set(GENERATORS))
    if unknown:
        raise ValueError(f"no demo generator {', '.join(unknown)}; known: {', '.join(GENERATORS)}")
    chosen = {k: g for k, g in GENERATORS.items() if (not only or k in only) and k not in (skip or ())}
    return {department: gen(landing, start, end, seed) for department, gen in chosen.items()}
