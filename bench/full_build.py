"""The full demo end to end, then one extra day.

1. ``ecolake demo-data`` (every department, 2021–2023 by default) and ``ecolake materialize``:
   wall time and peak memory (goal: the build ≤ 5 min on a 2-core machine).
2. One more day of the daily departments (CNEMC hourly air files, automatic water stations) lands,
   and ``ecolake materialize --pending`` runs what that day touches — the datasets with new
   deliveries and everything downstream of them, as the landing sensors do (goal ≤ 20 s).
3. Baseline, same run: another day lands and ``ecolake materialize --full-refresh`` rebuilds
   everything from nothing, incremental models included (plain ``materialize`` runs every asset but
   builds the incremental air models incrementally).

Last line: build time and peak memory, the extra day with --pending, the full rebuild of a day, and
their ratio.

    .venv/bin/python bench/full_build.py [--start 2021-01-01] [--end 2023-12-31] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.demo.air import generate_air  # noqa: E402
from pipelines.demo.water_auto import generate_water_auto  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SEED = 2021


def ecolake(warehouse: Path, *args: str) -> float:
    """Run an ecolake command in its own process; its wall time (fails loudly)."""
    env = {**os.environ, "ECOLAKE_WAREHOUSE": str(warehouse)}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    if proc.returncode:
        sys.exit(f"ecolake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"  ecolake {' '.join(args)}: {elapsed:.1f} s", flush=True)
    return elapsed


def land_day(warehouse: Path, day: dt.date) -> None:
    landing = warehouse / "landing"
    generate_air(landing, day, day, SEED)
    generate_water_auto(landing, day, day, SEED)


def peak_gb() -> float:
    """Largest resident set of any finished child process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2021-01-01")
    parser.add_argument("--end", default="2023-12-31")
    parser.add_argument("--keep", type=Path, help="build in this directory and keep it")
    args = parser.parse_args()
    end = dt.date.fromisoformat(args.end)

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_full_build_"))
    warehouse = root / "warehouse"
    try:
        print(f"full demo {args.start} … {args.end} in {warehouse}", flush=True)
        generated = ecolake(warehouse, "demo-data", "--start", args.start, "--end", args.end, "--seed", str(SEED))
        built = ecolake(warehouse, "materialize")
        build_total = generated + built
        peak = peak_gb()

        print("one extra day, only what it touches (--pending)", flush=True)
        land_day(warehouse, end + dt.timedelta(days=1))
        extra = ecolake(warehouse, "materialize", "--pending")

        print("baseline: another day, everything rebuilt from nothing (--full-refresh)", flush=True)
        land_day(warehouse, end + dt.timedelta(days=2))
        rebuilt = ecolake(warehouse, "materialize", "--full-refresh")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(
        f"full_build: demo data + materialize {build_total / 60:.1f} min (goal ≤ 5: {verdict(build_total <= 300)}; "
        f"materialize {built:.0f} s), peak {peak:.1f} GB; one extra day {extra:.1f} s with --pending "
        f"(goal ≤ 20: {verdict(extra <= 20)}) vs {rebuilt:.1f} s rebuilding everything from nothing: "
        f"×{rebuilt / extra:.1f}"
    )


if __name__ == "__main__":
    main()
