"""Demo data generators: deterministic, realistic deliveries of the departments (DEPARTMENTS.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.demo.air import generate_air

# one generator per department; each writes that department's deliveries into landing/
GENERATORS = {
    "env_monitoring": generate_air,
}


def generate(landing: Path, *, start: date, end: date, seed: int) -> dict[str, dict]:
    return {department: gen(landing, start, end, seed) for department, gen in GENERATORS.items()}
