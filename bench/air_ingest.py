"""One demo year of CNEMC hourly files through the ingest assets' own code path (parse, contract
rules, Great Expectations, quarantine, DuckLake commit) vs DuckDB's own read_csv → Parquet of the
same files, in the same run. Last line: both times and the ratio (goal ≤ 2).

    .venv/bin/python bench/air_ingest.py [--year 2022] [--seed 2021]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from pipelines.contracts import load_contract  # noqa: E402
from pipelines.demo.air import generate_air  # noqa: E402
from pipelines.ingest.deliveries import discover  # noqa: E402
from pipelines.ingest.engine import ingest  # noqa: E402
from pipelines.settings import REPO_ROOT, Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--year", type=int, default=2022)
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench_air_ingest_") as tmp:
        root = Path(tmp)
        settings = Settings(
            warehouse=root / "warehouse",
            standards_dir=REPO_ROOT / "standards",
            contracts_dir=REPO_ROOT / "contracts",
            models_dir=REPO_ROOT / "models",
        )
        settings.ensure_dirs()
        generate_air(settings.landing, date(args.year, 1, 1), date(args.year, 12, 31), args.seed)
        contract = load_contract(REPO_ROOT / "contracts" / "env_monitoring" / "air_station_hourly.odcs.yaml")
        deliveries = discover(settings.landing, contract.department, contract.dataset)
        files = [str(d.path) for d in deliveries]
        total_mb = sum(d.size for d in deliveries) / 1e6
        print(f"{len(files)} files, {total_mb:.0f} MB, year {args.year}")

        # baseline: DuckDB reads the same files and writes Parquet (its CSV reader, both cores);
        # all_varchar: the demo holds the real mess ("—" in numeric columns), which typed reading rejects
        started = time.perf_counter()
        con = duckdb.connect()
        file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        con.execute(
            f"copy (select * from read_csv({file_list}, header = true, all_varchar = true, filename = true)) "
            f"to '{root / 'baseline.parquet'}' (format parquet)"
        )
        rows_baseline = con.execute(
            "select count(*) from read_parquet(?)", [str(root / "baseline.parquet")]
        ).fetchone()[0]
        con.close()
        baseline = time.perf_counter() - started
        print(f"duckdb read_csv → parquet: {rows_baseline} rows in {baseline:.1f} s")

        started = time.perf_counter()
        report = ingest(contract, deliveries, settings)
        ours = time.perf_counter() - started
        print(
            f"ecolake ingest: {report.rows_in} rows in, {report.rows_published} published, "
            f"{report.rows_quarantined} quarantined, GE {'passed' if report.ge_success else 'failed'} "
            f"in {ours:.1f} s"
        )

    print(
        f"air_ingest: ecolake {ours:.1f} s vs duckdb read_csv→parquet {baseline:.1f} s "
        f"= ratio {ours / baseline:.2f} (goal ≤ 2)"
    )


if __name__ == "__main__":
    main()
