"""Demo data generators: deterministic, realistic deliveries of the departments (DEPARTMENTS.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.demo.air import generate_air
from pipelines.demo.water import generate_water_sections

# one generator per group of deliveries (department/topic); each writes into landing/
GENERATORS = {
    "env_monitoring/air": generate_air,
    "env_monitoring/water_sections": generate_water_sections,
}


def generate(landing: Path, *, start: date, end: date, seed: int) -> dict[str, dict]:
    return {department: gen(landing, start, end, seed) for department, gen in GENERATORS.items()}
