"""End-to-end latency of HJ 212 data: from a packet's arrival at the gateway to its row in
pollution_source.outlet_minute_values (goal ≤ 60 s, issue 5).

A scratch warehouse gets the demo permit registry and one full `ecolake materialize` (dimensions,
standards, empty raw tables). Then, for real: `ecolake hj212-gateway` runs as a subprocess (segments
sealed every 5 s), the demo fleet sends live minute data over TCP (`simulator.send`), and the
micro-batch loop does what the Dagster daemon does with the sensor `pollution_source__hj212_segments__landing`:
evaluates that sensor every 5 s and, when it asks for a run, executes its target (the ingest asset
and the pollution_source models downstream) in process. After each run every record that became
visible is timed: run end − the packet's received_at (the gateway's clock, same machine).
What it leaves out: the daemon's own tick and run-launch overhead (a few seconds per run).

    .venv/bin/python bench/hj212_latency.py [--outlets 100] [--minutes 3]

Last line: the p95 latency, its ratio to the 60 s goal, and the baseline in the same run — the
sealing interval plus one sensor interval, the delay before any ingest can even start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CST = timezone(timedelta(hours=8))
GOAL_S = 60.0
SEAL_S = 5.0


def _env(warehouse: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ECOLAKE_WAREHOUSE"] = str(warehouse)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outlets", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--warehouse", type=Path, help="default: a temporary folder")
    args = parser.parse_args()
    warehouse = args.warehouse or Path(tempfile.mkdtemp(prefix="hj212-latency-"))
    os.environ["ECOLAKE_WAREHOUSE"] = str(warehouse)
    os.environ.setdefault("DAGSTER_HOME", str(warehouse / "dagster"))

    from pipelines.demo.outlets import generate_outlets

    today = date.today()
    generate_outlets(warehouse / "landing", today, today, 2021)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pipelines.cli", "materialize"], cwd=REPO, env=_env(warehouse), check=True)
    print(f"first build (dimensions, standards): {time.monotonic() - started:.0f} s", file=sys.stderr)

    import dagster as dg

    from pipelines import lake
    from pipelines.cli import prepare_instance
    from pipelines.definitions import defs
    from pipelines.defs.hj212.packets import MICRO_BATCH, hj212_segments_sensor
    from pipelines.hj212 import simulator
    from pipelines.settings import get_settings

    settings = get_settings()
    prepare_instance(settings)
    instance = dg.DagsterInstance.get()
    selection = MICRO_BATCH  # the sensor's target
    full = dg.Definitions.merge(defs(), dg.Definitions(jobs=[dg.define_asset_job("hj212_micro_batch", selection)]))
    job = full.resolve_job_def("hj212_micro_batch")

    port = _free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "hj212-gateway", "--port", str(port), "--seal-seconds", str(SEAL_S)],
        cwd=REPO,
        env=_env(warehouse),
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)
    packets = simulator.live_plan(args.outlets, args.minutes, 2021)
    sender = threading.Thread(target=lambda: asyncio.run(simulator.send(packets, "127.0.0.1", port)), daemon=True)
    sender.start()

    latencies: list[float] = []
    seen: set[tuple] = set()
    runs = 0
    sent_until = None
    try:
        # until the fleet is done, the gateway has sealed its last segment and nothing is pending
        while sent_until is None or time.monotonic() - sent_until < 3 * SEAL_S or _pending(settings):
            tick = time.monotonic()
            if sent_until is None and not sender.is_alive():
                sent_until = tick
            result = hj212_segments_sensor(dg.build_sensor_context(instance=instance))
            requests = [r for r in (result if isinstance(result, list) else [result]) if isinstance(r, dg.RunRequest)]
            if requests:
                job.execute_in_process(instance=instance, tags=requests[0].tags, raise_on_error=True)
                runs += 1
                done = datetime.now(CST).replace(tzinfo=None)
                con = lake.connect(settings, read_only=True)
                try:
                    rows = con.execute(
                        "select outlet_mn, pollutant_code, data_time, received_at "
                        "from pollution_source.outlet_minute_values"
                    ).fetchall()
                finally:
                    con.close()
                for mn, code, data_time, received_at in rows:
                    if (mn, code, data_time) not in seen:
                        seen.add((mn, code, data_time))
                        latencies.append((done - received_at).total_seconds())
                print(f"run {runs}: {len(latencies)} records timed", file=sys.stderr)
            time.sleep(max(0.0, SEAL_S - (time.monotonic() - tick)))
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
    if not latencies:
        raise SystemExit("no record reached pollution_source.outlet_minute_values")
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[int(len(latencies) * 0.95)]
    baseline = SEAL_S + SEAL_S  # a packet waits up to one seal, then up to one sensor interval
    print(f"{len(latencies)} records over {runs} runs: p50 {p50:.1f} s, p95 {p95:.1f} s, max {latencies[-1]:.1f} s")
    print(
        f"hj212 arrival → pollution_source p95 {p95:.1f} s (goal ≤ {GOAL_S:.0f} s: ratio {p95 / GOAL_S:.2f}); "
        f"baseline seal + sensor wait {baseline:.0f} s ({p95 / baseline:.1f}x)"
    )


def _pending(settings) -> bool:
    from pipelines.hj212.ingest import pending_segments

    return bool(pending_segments(settings))


if __name__ == "__main__":
    main()
