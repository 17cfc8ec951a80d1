"""The same dashboard queries through the SQL gateway (psycopg) and in-process DuckDB, side by side.

    .venv/bin/python bench/sql_gateway.py [--warehouse DIR]

Without --warehouse (or $ECOLAKE_WAREHOUSE), builds a scratch warehouse from one demo year.
Prints p50 per query and the p50 ratio (goal ≤ 1.3), p95 with 32 concurrent clients (goal ≤ 300 ms),
and bulk rows/s of a 1 M-row binary result (goal ≥ 1 M rows/s). The comparison with a real
PostgreSQL 15 holding the same rows is not measured yet (no server in this run).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from pipelines import lake  # noqa: E402
from pipelines.settings import REPO_ROOT, Settings  # noqa: E402
from serving.pgwire.server import Gateway, GatewayConfig  # noqa: E402
from serving.users import add_user, load_users  # noqa: E402

QUERIES = {
    "city_month_good_days": "select region_code, month_start, good_day_ratio, pm2_5 from air.city_monthly "
    "where month_start >= date '2022-01-01' order by region_code, month_start",
    "city_year_compliance": "select region_code, year, good_day_ratio, pm2_5, is_compliant_grade_ii "
    "from air.city_yearly order by year, region_code",
    "category_share": "select region_code, aqi_category, count(*) from air.city_daily group by 1, 2 order by 1, 2",
    "worst_days": "select region_code, observed_date, aqi, primary_pollutants from air.city_daily "
    "order by aqi desc nulls last limit 50",
    "station_day": "select station_code, observed_at, aqi, pm2_5, o3 from air.station_hourly "
    "where region_code = '510100' and observed_at between timestamp '2022-01-10' and timestamp '2022-01-11'",
}
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo(root: Path) -> Path:
    env = os.environ | {"ECOLAKE_WAREHOUSE": str(root)}
    for args in (["demo-data", "--start", "2022-01-01", "--end", "2022-12-31"], ["materialize"]):
        subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args], cwd=REPO_ROOT, env=env, check=True, capture_output=True
        )
    return root


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", default=os.environ.get("ECOLAKE_WAREHOUSE"))
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    tmp = None
    if args.warehouse:
        warehouse = Path(args.warehouse)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_sql_gateway_")
        print("building a one-year demo warehouse …", flush=True)
        warehouse = build_demo(Path(tmp.name))
    settings = Settings(
        warehouse=warehouse,
        standards_dir=REPO_ROOT / "standards",
        contracts_dir=REPO_ROOT / "contracts",
        models_dir=REPO_ROOT / "models",
    )
    if "bench" not in load_users(settings):
        add_user(settings, "bench", PASSWORD, department="bench", role="analyst")

    port = free_port()
    stop_gateway = Gateway(GatewayConfig(settings, port=port, max_connections=128)).start_in_thread()
    dsn = f"host=127.0.0.1 port={port} dbname=ecolake user=bench password={PASSWORD} sslmode=disable"

    direct = lake.connect(settings, read_only=True)
    ratios = []
    for name, sql in QUERIES.items():
        d_times, g_times = [], []
        with psycopg.connect(dsn, autocommit=True) as con:
            for _ in range(args.repeat):
                t = time.perf_counter()
                direct.execute(sql).fetchall()
                d_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                con.execute(sql).fetchall()
                g_times.append(time.perf_counter() - t)
        ratio = statistics.median(g_times) / statistics.median(d_times)
        ratios.append(ratio)
        print(
            f"{name:22} p50 duckdb {statistics.median(d_times) * 1000:7.1f} ms  gateway "
            f"{statistics.median(g_times) * 1000:7.1f} ms  ratio {ratio:.2f}"
        )
    p50_ratio = statistics.median(ratios)

    def client(_: int) -> list[float]:
        out = []
        with psycopg.connect(dsn, autocommit=True) as con:
            for sql in list(QUERIES.values()) * 2:
                t = time.perf_counter()
                con.execute(sql).fetchall()
                out.append(time.perf_counter() - t)
        return out

    with ThreadPoolExecutor(32) as pool:
        latencies = [x for xs in pool.map(client, range(32)) for x in xs]
    p95 = p(latencies, 0.95) * 1000
    print(f"32 concurrent clients: {len(latencies)} queries, p50 {p(latencies, 0.5) * 1000:.0f} ms, p95 {p95:.0f} ms")

    bulk_sql = "select station_code, observed_at, pm2_5, pm10, aqi from air.station_hourly limit 1000000"
    with psycopg.connect(dsn, autocommit=True) as con:
        cur = con.cursor(binary=True)
        t = time.perf_counter()
        rows = cur.execute(bulk_sql).fetchall()
        bulk = len(rows) / (time.perf_counter() - t)
    print(f"bulk: {len(rows)} rows (binary) at {bulk:,.0f} rows/s")
    direct.close()
    stop_gateway()
    if tmp:
        tmp.cleanup()
    print(
        f"sql_gateway: p50 ratio {p50_ratio:.2f} (goal ≤ 1.3), p95 with 32 clients {p95:.0f} ms (goal ≤ 300), "
        f"bulk {bulk / 1e6:.2f} M rows/s (goal ≥ 1); PostgreSQL 15 comparison not measured"
    )


if __name__ == "__main__":
    main()
