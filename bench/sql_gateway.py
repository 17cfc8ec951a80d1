"""The same dashboard queries through the SQL gateway (psycopg), in-process DuckDB and PostgreSQL 15.

    .venv/bin/python bench/sql_gateway.py [--warehouse DIR] [--repeat N] [--no-postgres]

Without --warehouse (or $ECOLAKE_WAREHOUSE), builds a scratch warehouse from the demo data README
command 1 serves (`ecolake demo-data` defaults: every department, 2021–2023; about 3 minutes).
The gateway runs as its own process (`ecolake serve --no-dagster`), as deployed. Prints p50 per
query against two in-process DuckDB baselines: a DuckDB connection on the lake (what a Python user
of the lake gets; the issue's ratio, goal ≤ 1.3) and a DuckDB connection on the same in-memory copy
the gateway serves (serving.served: the ratio is then the protocol's own cost). Then p95 with 32
concurrent clients (goal ≤ 300 ms), and bulk rows/s of a 1 M-row binary result (goal ≥ 1 M rows/s).

Then, unless --no-postgres or the Debian postgresql-15 server is missing, starts a scratch
PostgreSQL 15 (tests/postgres15.py: default configuration), copies ALL the rows of air.city_monthly,
air.city_yearly, air.city_daily and air.station_hourly from the lake into tables declared with the
same column types, adds the dbt models' unique keys as primary keys and extended statistics on
(region_code, date_trunc('month', observed_at)) of the hourly table, runs VACUUM ANALYZE, and times
the same queries with the same client (psycopg, warm, p50 of --repeat runs, interleaved with the
gateway and with DuckDB alone on the served copy, which shows what the engine itself takes):
`city_month_good_days` (the goal: gateway ≥ 10× faster) and, because air.city_monthly is only
~21 cities × months, the same city-month figures computed from the hourly rows
(`city_month_from_hourly`, GROUP BY city and month over air.station_hourly). Both results are
checked to be the same rows on both servers. The last line holds the headline values and ratios.
"""

from __future__ import annotations

import argparse
import io
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
import pyarrow.csv as pacsv  # noqa: E402

from pipelines import lake  # noqa: E402
from pipelines.settings import REPO_ROOT, Settings  # noqa: E402
from serving.served import ServedLake  # noqa: E402
from serving.users import add_user, load_users  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.postgres15 import declared_keys, pg_declaration, postgres15_available, start_postgres15  # noqa: E402

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
# the city-month figures computed from the hourly rows: the same question over the big table
CITY_MONTH_FROM_HOURLY = (
    "select region_code, date_trunc('month', observed_at) as month_start, count(*) as hours, "
    "avg(case when aqi <= 100 then 1.0 else 0.0 end) as good_hour_ratio, avg(pm2_5) as pm2_5 "
    "from air.station_hourly where observed_at >= timestamp '2022-01-01' and not is_control_station "
    "group by 1, 2 order by 1, 2"
)
PG_TABLES = ("city_monthly", "city_yearly", "city_daily", "station_hourly")
PASSWORD = "bench-password-1"


def build_demo(root: Path) -> Path:
    env = os.environ | {"ECOLAKE_WAREHOUSE": str(root)}
    for args in (["demo-data"], ["materialize"]):
        subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args], cwd=REPO_ROOT, env=env, check=True, capture_output=True
        )
    return root


def start_gateway(warehouse: Path, port: int) -> subprocess.Popen:
    """`ecolake serve --no-dagster` on ``port``: the gateway in its own process, as deployed."""
    env = os.environ | {"ECOLAKE_WAREHOUSE": str(warehouse)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", "--no-dagster", "--sql-port", str(port)]
        + ["--http-port", str(free_port())],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("ecolake serve exited") from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the gateway did not listen within 120 s")


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def pg_csv_expression(column: str, data_type: str) -> str:
    """The column as DuckDB selects it for PostgreSQL's CSV COPY (lists become array literals)."""
    if data_type != "VARCHAR[]":
        return column
    element = r"""coalesce('"' || replace(replace(x, '\', '\\'), '"', '\"') || '"', 'NULL')"""
    return f"'{{' || array_to_string(list_transform({column}, x -> {element}), ',') || '}}' as {column}"


def load_postgres(direct, settings: Settings, port: int) -> dict[str, int]:
    """Create database ecolake on the PostgreSQL at ``port`` and copy the lake's PG_TABLES into it."""
    keys = {table: cols for (schema, table), cols in declared_keys(settings.models_dir).items() if schema == "air"}
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in direct.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = 'lake' and table_schema = 'air' order by table_name, ordinal_position"
    ).fetchall():
        if table in PG_TABLES:
            columns.setdefault(table, []).append((column, data_type))
    connect = {"host": "127.0.0.1", "port": port, "user": "bench", "password": PASSWORD, "autocommit": True}
    with psycopg.connect(dbname="postgres", **connect) as con:
        con.execute("create database ecolake")
    counts = {}
    with psycopg.connect(dbname="ecolake", **connect) as con:
        con.execute("create schema air")
        for table in PG_TABLES:
            cols = columns[table]
            con.execute(f"create table air.{table} ({', '.join(f'{c} {pg_declaration(t)}' for c, t in cols)})")
            reader = direct.execute(
                f"select {', '.join(pg_csv_expression(c, t) for c, t in cols)} from air.{table}"
            ).to_arrow_reader(200_000)
            options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")  # unquoted empty = NULL
            with con.cursor().copy(f"copy air.{table} from stdin (format csv)") as copy:
                for batch in reader:
                    buf = io.BytesIO()
                    pacsv.write_csv(batch, buf, options)
                    copy.write(buf.getbuffer())
            con.execute(f"alter table air.{table} add primary key ({', '.join(keys[table])})")
            if table == "station_hourly":
                # without it the planner guesses ~270 000 city-months (no statistics on date_trunc) and
                # sorts to disk instead of hashing 756 groups: PostgreSQL's own fix, given to it
                con.execute(
                    "create statistics air.station_hourly_city_month (ndistinct) "
                    "on region_code, date_trunc('month', observed_at) from air.station_hourly"
                )
            con.execute(f"vacuum (analyze) air.{table}")
            counts[table] = con.execute(f"select count(*) from air.{table}").fetchone()[0]
            lake_count = direct.execute(f"select count(*) from air.{table}").fetchone()[0]
            if counts[table] != lake_count:
                raise SystemExit(f"air.{table}: {counts[table]} rows in PostgreSQL, {lake_count} in the lake")
    return counts


def same_rows(a: list[tuple], b: list[tuple]) -> bool:
    """Equal row for row; numbers compared to 9 significant digits (float vs numeric averages)."""

    def norm(v):
        if isinstance(v, (int, float)) or type(v).__name__ == "Decimal":
            return float(f"{float(v):.9g}")
        return v

    return len(a) == len(b) and all(tuple(map(norm, x)) == tuple(map(norm, y)) for x, y in zip(a, b, strict=True))


def compare_with_postgres(
    gateway_dsn: str, pg_dsn: str, copy, sql: str, repeat: int
) -> tuple[float, float, float, bool]:
    """p50 seconds on the gateway, on PostgreSQL and in-process on the served copy (warm, interleaved)
    and whether the gateway and PostgreSQL gave the same rows."""
    with psycopg.connect(gateway_dsn, autocommit=True) as gw, psycopg.connect(pg_dsn, autocommit=True) as pg:
        gw_rows, pg_rows = gw.execute(sql).fetchall(), pg.execute(sql).fetchall()  # warm-up
        copy.execute(sql).fetchall()
        times: dict[str, list[float]] = {"gateway": [], "postgres": [], "copy": []}
        for _ in range(repeat):
            for name, con in (("gateway", gw), ("postgres", pg), ("copy", copy)):
                t = time.perf_counter()
                con.execute(sql).fetchall()
                times[name].append(time.perf_counter() - t)
    gw_p50, pg_p50, copy_p50 = (statistics.median(times[n]) for n in ("gateway", "postgres", "copy"))
    return gw_p50, pg_p50, copy_p50, same_rows(gw_rows, pg_rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", default=os.environ.get("ECOLAKE_WAREHOUSE"))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL 15 comparison")
    args = parser.parse_args()
    tmp = None
    if args.warehouse:
        warehouse = Path(args.warehouse)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_sql_gateway_")
        print("building the demo warehouse (2021–2023) …", flush=True)
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
    gateway = start_gateway(warehouse, port)
    dsn = f"host=127.0.0.1 port={port} dbname=ecolake user=bench password={PASSWORD} sslmode=disable"

    direct = lake.connect(settings, read_only=True)
    served = ServedLake(settings)
    served.refresh()
    copy, _ = served.connect()
    ratios, copy_ratios = [], []
    for name, sql in QUERIES.items():
        d_times, c_times, g_times = [], [], []
        with psycopg.connect(dsn, autocommit=True) as con:
            for _ in range(args.repeat):
                for con_, times in ((direct, d_times), (copy, c_times)):
                    t = time.perf_counter()
                    con_.execute(sql).fetchall()
                    times.append(time.perf_counter() - t)
                t = time.perf_counter()
                con.execute(sql).fetchall()
                g_times.append(time.perf_counter() - t)
        d, c, g = (statistics.median(x) for x in (d_times, c_times, g_times))
        ratios.append(g / d)
        copy_ratios.append(g / c)
        print(
            f"{name:22} p50 duckdb on the lake {d * 1000:6.1f} ms, on the copy {c * 1000:6.1f} ms; "
            f"gateway {g * 1000:6.1f} ms  ratios {g / d:.2f} / {g / c:.2f}"
        )
    p50_ratio, copy_ratio = statistics.median(ratios), statistics.median(copy_ratios)

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
        speeds = []
        for _ in range(4):  # one warm-up run, then the median of three
            cur = con.cursor(binary=True)
            t = time.perf_counter()
            n_rows = len(cur.execute(bulk_sql).fetchall())
            speeds.append(n_rows / (time.perf_counter() - t))
        bulk = statistics.median(speeds[1:])
    print(f"bulk: {n_rows} rows (binary, psycopg fetchall) at {bulk:,.0f} rows/s (median of 3 after a warm-up)")

    if args.no_postgres or not postgres15_available():
        reason = "--no-postgres" if args.no_postgres else "the Debian postgresql-15 server is not installed"
        print(f"PostgreSQL 15: not measured ({reason})")
        postgres = "PostgreSQL 15 not measured"
    else:
        with start_postgres15("bench", PASSWORD) as pg_port:
            t = time.perf_counter()
            counts = load_postgres(direct, settings, pg_port)
            print(
                f"PostgreSQL 15 (default configuration) loaded in {time.perf_counter() - t:.0f} s: "
                + ", ".join(f"air.{table} {n:,} rows" for table, n in counts.items())
                + "; primary keys as the dbt unique keys, city-month ndistinct statistics, VACUUM ANALYZE"
            )
            pg_dsn = f"host=127.0.0.1 port={pg_port} dbname=ecolake user=bench password={PASSWORD} sslmode=disable"
            speedups = {}
            for name, sql in (
                ("city_month_from_hourly", CITY_MONTH_FROM_HOURLY),
                ("city_month_good_days", QUERIES["city_month_good_days"]),
            ):
                gw_p50, pg_p50, copy_p50, same = compare_with_postgres(dsn, pg_dsn, copy, sql, args.repeat)
                speedups[name] = pg_p50 / gw_p50
                verdict = "goal met" if speedups[name] >= 10 else "goal NOT met"
                print(
                    f"PostgreSQL 15: {name} p50 {pg_p50 * 1000:.1f} ms vs gateway {gw_p50 * 1000:.1f} ms = "
                    f"{speedups[name]:.2f}× (goal ≥ 10: {verdict}; "
                    f"{'same rows' if same else 'ROWS DIFFER'} on both); DuckDB alone on the served copy "
                    f"{copy_p50 * 1000:.1f} ms = {pg_p50 / copy_p50:.2f}×"
                )
        good_days = speedups["city_month_good_days"]
        postgres = (
            f"PostgreSQL 15 city_month_good_days ×{good_days:.2f} (goal ≥ 10{'' if good_days >= 10 else ', not met'}), "
            f"city-month from station_hourly ×{speedups['city_month_from_hourly']:.1f}"
        )
    copy.close()
    served.close()
    direct.close()
    gateway.terminate()
    gateway.wait(30)
    if tmp:
        tmp.cleanup()
    print(
        f"sql_gateway: p50 ratio {p50_ratio:.2f} vs DuckDB on the lake (goal ≤ 1.3; {copy_ratio:.2f} vs DuckDB on "
        f"the served copy), p95 with 32 clients {p95:.0f} ms (goal ≤ 300), bulk {bulk / 1e6:.2f} M rows/s "
        f"(goal ≥ 1), {postgres}"
    )


if __name__ == "__main__":
    main()
