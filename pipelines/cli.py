"""`ecolake` — the command line: demo data, materialisation, serving.

    ecolake demo-data [--start DATE --end DATE --seed N]   write demo deliveries into landing/
    ecolake materialize                                      run every asset for what is in landing/
    ecolake serve [--sql-port N]                             SQL gateway (:5433) + Dagster UI and daemon (:3000)
    ecolake users add NAME --department D --role R [--regions CODES]   (password from stdin)
    ecolake users list | disable NAME | passwd NAME
    ecolake grants add|revoke NAME SCHEMA[.TABLE]
    ecolake up                                               demo-data (if landing is empty) + materialize + serve
    ecolake batches                                          ingest batches per dataset and status
    ecolake reingest DEPARTMENT/DATASET [--status held,rejected] [--delivery ID]
                                                             re-run batches after a contract/standard fix
    ecolake quarantine list [--dataset DEPARTMENT/DATASET] [--rule RULE] [--limit N] [--all]
                                                             quarantined rows, newest first, and counts per rule
    ecolake maintain [--expire-older-than-days N] [--cleanup-older-than-days N] [--keep-backups N]
                                                             catalog backup, compaction, snapshot expiry (the
                                                             daily `lake_maintenance_daily` schedule, now)
    ecolake hj212-gateway [--port N] [--host H]              HJ 212 TCP gateway (:9212) into landing/pollution_source/
    ecolake hj212-simulate [--port N] [--outlets N] [--minutes N] [--speed X]
                                                             the demo fleet of data loggers sending to a gateway

Every command works on $ECOLAKE_WAREHOUSE (default: the repo's warehouse/).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from typing import NoReturn

from pipelines.settings import REPO_ROOT, Settings, get_settings


def prepare_instance(settings: Settings) -> None:
    """DAGSTER_HOME inside the warehouse, with the repo's dagster.yaml."""
    settings.ensure_dirs()
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    target = settings.dagster_home / "dagster.yaml"
    source = REPO_ROOT / "dagster.yaml"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def cmd_demo_data(args: argparse.Namespace) -> int:
    from pipelines.demo import generate

    settings = get_settings()
    settings.ensure_dirs()
    started = time.monotonic()
    try:
        summary = generate(
            settings.landing, start=args.start, end=args.end, seed=args.seed, only=args.only, skip=args.skip
        )
    except ValueError as exc:
        print(f"ecolake demo-data: {exc}", file=sys.stderr)
        return 2
    for dataset, info in summary.items():
        print(f"{dataset}: {info}")
    print(f"demo deliveries written to {settings.landing} in {time.monotonic() - started:.1f}s")
    return 0


def _pending(settings: Settings) -> tuple[tuple[str, str], list]:
    """The arrival days of the deliveries not yet ingested, and the contracts that have some."""
    from pipelines.contracts import load_contracts
    from pipelines.defs.ingest.contract_datasets import SPECIALISED_FORMATS
    from pipelines.defs.partitions import arrival_partition
    from pipelines.hj212 import ingest as hj212_ingest
    from pipelines.ingest.deliveries import CST
    from pipelines.ingest.engine import pending_deliveries, recorded_files

    days, contracts = set(), []
    recorded = recorded_files(settings)
    for contract in load_contracts(settings.contracts_dir):
        if contract.delivery.format == hj212_ingest.DELIVERY_FORMAT:
            # sealed segments, not files; their asset is unpartitioned: no arrival days to add
            segments_done = recorded.get(hj212_ingest.DATASET, (set(), set()))[1]
            if contract.dataset == hj212_ingest.PACKETS and hj212_ingest.pending_segments(settings, segments_done):
                contracts.append(contract)
            continue
        if contract.delivery.format in SPECIALISED_FORMATS:
            continue
        if pending := pending_deliveries(contract, settings, recorded):
            contracts.append(contract)
            days.update(arrival_partition(d.arrival_day) for d in pending)
    today = datetime.now(CST).strftime("%Y-%m-%d")
    return ((min(days), max(days)) if days else (today, today)), contracts


def cmd_materialize(args: argparse.Namespace) -> int:
    from pipelines.quality import start_worker

    settings = get_settings()
    prepare_instance(settings)
    (start, end), pending = _pending(settings)
    if pending or not getattr(args, "pending", False):
        start_worker()  # Great Expectations imports in its own process while the definitions load

    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.ingest.contract_datasets import asset_key
    from pipelines.defs.maintenance.lake_maintenance import GROUP as MAINTENANCE_GROUP
    from pipelines.defs.models.dbt_models import FULL_REFRESH_TAG
    from pipelines.progress import progress_logger

    # every asset but lake maintenance (backup, compaction, snapshot expiry): that runs on its daily
    # schedule or with `ecolake maintain`; expiry removes time travel, so it is not part of a rerunnable build
    selection = dg.AssetSelection.all() - dg.AssetSelection.groups(MAINTENANCE_GROUP)
    if getattr(args, "pending", False):
        # what the landing sensors would run: the datasets with new deliveries and everything downstream
        if not pending:
            print(f"nothing to do: no delivery in {settings.warehouse / 'landing'} awaits ingestion", file=sys.stderr)
            return 0
        keys = [asset_key(c) for c in pending]
        selection = dg.AssetSelection.assets(*keys).downstream() - dg.AssetSelection.groups(MAINTENANCE_GROUP)
        names = ", ".join(k.to_user_string() for k in keys)
        print(f"materialising {names} and what depends on them (arrival days {start} … {end})", file=sys.stderr)
    else:
        print(f"materialising every asset of {settings.warehouse} (arrival days {start} … {end})", file=sys.stderr)
    job = dg.define_asset_job("ecolake_materialize", selection=selection)
    full = dg.Definitions.merge(defs(), dg.Definitions(jobs=[job], loggers={"progress": progress_logger}))
    result = full.resolve_job_def("ecolake_materialize").execute_in_process(
        instance=dg.DagsterInstance.get(),
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
            **({FULL_REFRESH_TAG: "true"} if getattr(args, "full_refresh", False) else {}),
        },
        run_config={"loggers": {"progress": {}}},
        raise_on_error=False,
    )
    failed_checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.event_specific_data.passed
        and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR
    ]
    for check in failed_checks:
        print(
            f"blocking check failed: {check.asset_key.to_user_string()}:{check.check_name} {check.description or ''}",
            file=sys.stderr,
        )
    ok = result.success and not failed_checks
    print(
        f"{'done' if ok else 'FAILED'}: run {result.run_id} "
        f"(details: ecolake serve → http://127.0.0.1:3000/runs/{result.run_id})",
        file=sys.stderr,
    )
    return 0 if ok else 1


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from serving.pgwire.server import Gateway, GatewayConfig

    settings = get_settings()
    prepare_instance(settings)
    proc = None
    if not args.no_dagster:
        from pipelines.dbt_project import prepare

        prepare(settings)
        dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
        command = [dagster, "dev", "-m", "pipelines.definitions", "-h", args.host, "-p", str(args.dagster_port)]
        print(f"Dagster UI: http://{args.host}:{args.dagster_port}", file=sys.stderr)
        proc = subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True)

    def stop_dagster() -> None:
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGINT)  # dagster dev shuts its processes down on SIGINT
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    import uvicorn

    from serving.http import create_app

    tls_cert = os.environ.get("ECOLAKE_TLS_CERT")
    gateway = Gateway(
        GatewayConfig(
            settings,
            host=args.host,
            port=args.sql_port,
            tls_cert=tls_cert,
            tls_key=os.environ.get("ECOLAKE_TLS_KEY") or tls_cert,
            require_tls=bool(tls_cert) and args.host not in ("127.0.0.1", "localhost"),
        )
    )
    http = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=args.host, port=args.http_port, log_level="warning")
    )
    http.install_signal_handlers = lambda: None  # signals are handled below, for both servers
    print(f"SQL gateway: postgresql://<user>@{args.host}:{args.sql_port}/ecolake", file=sys.stderr)
    print(f"HTTP API: http://{args.host}:{args.http_port}/health  (Ctrl-C stops)", file=sys.stderr)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        loop.add_signal_handler(signal.SIGINT, stopping.set)
        await gateway.start()
        http_task = asyncio.create_task(http.serve())
        try:
            await stopping.wait()
        finally:
            http.should_exit = True
            await gateway.stop()
            await http_task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        stop_dagster()
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from serving import users

    settings = get_settings()
    try:
        if args.action == "add":
            password = sys.stdin.readline().rstrip("\n")
            regions = [r for r in (args.regions or "").split(",") if r]
            users.add_user(settings, args.name, password, department=args.department, role=args.role, regions=regions)
            print(f"user {args.name} added ({args.role}, {args.department})")
        elif args.action == "passwd":
            users.set_password(settings, args.name, sys.stdin.readline().rstrip("\n"))
            print(f"password of {args.name} changed")
        elif args.action == "disable":
            users.set_disabled(settings, args.name)
            print(f"user {args.name} disabled")
        else:
            for u in users.load_users(settings).values():
                state = "disabled" if u.disabled else "active"
                print(f"{u.name:20} {u.role:9} {u.department:20} {','.join(u.regions) or 'all regions':20} {state}")
    except users.UserError as exc:
        print(f"ecolake users: {exc}", file=sys.stderr)
        return 2
    return 0


def _ensure_demo_user(settings: Settings) -> None:
    """On a warehouse without gateway users, an analyst `demo` with a random password, written to
    security/demo_password (readable by this OS user only) so that psql and BI tools can connect."""
    import secrets as _secrets

    from serving import users

    if users.load_users(settings):
        return
    password = _secrets.token_urlsafe(12)
    users.add_user(settings, "demo", password, department="demo", role="analyst")
    path = settings.warehouse / "security" / "demo_password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    print(f"gateway user 'demo' created; password in {path}", file=sys.stderr)


def cmd_up(args: argparse.Namespace) -> int:
    settings = get_settings()
    _ensure_demo_user(settings)
    if not any(settings.landing.rglob("*.csv")):
        code = cmd_demo_data(args)
        if code:
            return code
    code = cmd_materialize(args)
    if code:
        return code
    return cmd_serve(args)


def cmd_reingest(args: argparse.Namespace) -> int:
    from pipelines.contracts import load_contracts
    from pipelines.ingest.engine import reingest

    settings = get_settings()
    contracts = {f"{c.department}/{c.dataset}": c for c in load_contracts(settings.contracts_dir)}
    if args.dataset not in contracts:
        print(
            f"ecolake reingest: no contract for {args.dataset} (known: {', '.join(sorted(contracts))})", file=sys.stderr
        )
        return 2
    if contracts[args.dataset].delivery.format == "hj212-segments":
        print(
            f"ecolake reingest: {args.dataset} is ingested from sealed HJ 212 segments by its own asset, not by the "
            "contract engine; held segments stay in catalog.ingest_batches with their packets in raw",
            file=sys.stderr,
        )
        return 2
    report = reingest(
        contracts[args.dataset],
        settings,
        statuses=tuple(args.status.split(",")),
        delivery_ids=tuple(args.delivery or ()),
    )
    held = len(report.over_tolerance)
    print(
        f"{args.dataset}: {len(report.batches)} batches re-run: {report.rows_in} rows in, "
        f"{report.rows_published} published, {report.rows_quarantined} quarantined, "
        f"{len(report.rejected)} rejected, {held} held. Run `ecolake materialize` to rebuild the models."
    )
    return 0 if report.passed else 1


def cmd_grants(args: argparse.Namespace) -> int:
    from serving import users

    try:
        if args.action == "add":
            users.add_grant(get_settings(), args.name, args.target)
            print(f"{args.name} may now read {args.target}")
        else:
            users.revoke_grant(get_settings(), args.name, args.target)
            print(f"{args.name} may no longer read {args.target}")
    except users.UserError as exc:
        print(f"ecolake grants: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_batches(args: argparse.Namespace) -> int:
    from pipelines import lake

    con = lake.connect(get_settings(), read_only=True)
    rows = con.execute(
        "select dataset, status, count(*), sum(rows_in), sum(rows_published), sum(rows_quarantined) "
        "from catalog.ingest_batches group by all order by all"
    ).fetchall()
    print(f"{'dataset':45} {'status':10} {'files':>7} {'rows_in':>10} {'published':>10} {'quarantined':>11}")
    for r in rows:
        print(f"{r[0]:45} {r[1]:10} {r[2]:>7} {r[3]:>10} {r[4]:>10} {r[5]:>11}")
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.maintenance import lake_maintenance as m
    from pipelines.progress import progress_logger

    settings = get_settings()
    prepare_instance(settings)
    if not settings.catalog_path.exists():
        print(f"ecolake maintain: no lake at {settings.catalog_path} yet (run `ecolake materialize`)", file=sys.stderr)
        return 2
    print(f"lake maintenance of {settings.warehouse}", file=sys.stderr)
    full = dg.Definitions.merge(defs(), dg.Definitions(loggers={"progress": progress_logger}))
    ops = {
        m.catalog_backup.op.name: {"config": {"keep": args.keep_backups}},
        m.snapshot_expiry.op.name: {
            "config": {
                "older_than_days": args.expire_older_than_days,
                "cleanup_older_than_days": args.cleanup_older_than_days,
            }
        },
    }
    result = full.resolve_job_def(m.JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.get(),
        run_config={"ops": ops, "loggers": {"progress": {}}},
        raise_on_error=False,
    )
    for event in result.all_events:
        if event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        materialization = event.event_specific_data.materialization
        facts = ", ".join(
            f"{k}={getattr(v, 'value', v)}" for k, v in materialization.metadata.items() if k != "by_table"
        )
        print(f"{materialization.asset_key.to_user_string()}: {facts}")
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None) if event.event_type_value == "STEP_FAILURE" else None
        if error is not None:
            print(f"FAILED {event.step_key}: {error.message.strip()}", file=sys.stderr)
    print(f"{'done' if result.success else 'FAILED'}: run {result.run_id}", file=sys.stderr)
    return 0 if result.success else 1


def _clip(text: object, width: int) -> str:
    text = "" if text is None else " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_hj212_gateway(args: argparse.Namespace) -> int:
    from pipelines.hj212.gateway import serve

    return serve(
        get_settings(),
        host=args.host,
        port=args.port,
        gateway_id=args.gateway_id,
        seal_seconds=args.seal_seconds,
        fsync_each=args.fsync_each_packet,
    )


def cmd_hj212_simulate(args: argparse.Namespace) -> int:
    import asyncio

    from pipelines.hj212 import simulator

    packets = simulator.live_plan(args.outlets, args.minutes, args.seed)
    print(f"hj212-simulate: {simulator.summary(packets)} → {args.host}:{args.port}", file=sys.stderr)
    try:
        report = asyncio.run(simulator.send(packets, args.host, args.port, speed=args.speed))
    except OSError as exc:
        print(f"ecolake hj212-simulate: cannot reach the gateway at {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(
        f"{report.devices} devices sent {report.packets} packets over {report.connections} connections in "
        f"{report.seconds:.1f}s; {report.acks} acknowledged"
    )
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from pipelines import lake
    from pipelines.contracts import load_contracts
    from pipelines.ingest import batches

    settings = get_settings()
    contracts = {f"{c.department}/{c.dataset}": c for c in load_contracts(settings.contracts_dir)}
    if args.dataset and args.dataset not in contracts:
        print(
            f"ecolake quarantine: no contract for {args.dataset} (known: {', '.join(sorted(contracts))})",
            file=sys.stderr,
        )
        return 2
    if args.limit < 0:
        print("ecolake quarantine: --limit must be 0 or more", file=sys.stderr)
        return 2
    wanted = [contracts[args.dataset]] if args.dataset else [contracts[k] for k in sorted(contracts)]
    if not settings.catalog_path.exists():
        print(f"nothing quarantined: no lake at {settings.catalog_path} yet (run `ecolake materialize`)")
        return 0
    con = lake.connect(settings, read_only=True)
    try:
        existing = {
            f"{r[0]}.{r[1]}"
            for r in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema in ('quarantine', 'catalog')"
            ).fetchall()
        }
        tables = [(f"{c.department}/{c.dataset}", c.quarantine_table) for c in wanted if c.quarantine_table in existing]
        if not tables:
            print("nothing quarantined: no quarantine table yet" + (f" for {args.dataset}" if args.dataset else ""))
            return 0
        has_batches = batches.TABLE in existing
        union = " union all ".join(
            f"select '{name}' as dataset, _delivery_id, _source_file, _source_line, rule, field, reason, record, "
            f"_quarantined_at from {table}"
            for name, table in tables
        )
        status = "coalesce(b.status, '?')" if has_batches else "'?'"
        join = f"left join {batches.TABLE} b on b.delivery_id = q._delivery_id" if has_batches else ""
        where, params = [], []
        if not args.all:
            where.append(f"{status} <> 'reprocessed'")
        if args.rule:
            where.append("(q.rule = ? or starts_with(q.rule, ? || '.'))")
            params += [args.rule, args.rule]
        con.execute(
            f"create temp table _q as select q.*, {status} as status from ({union}) q {join} "
            + (f"where {' and '.join(where)}" if where else ""),
            params,
        )
        rows = con.execute(
            "select _quarantined_at, dataset, _source_file, _source_line, rule, field, status, reason, record "
            "from _q order by _quarantined_at desc, _source_file, _source_line limit ?",
            [args.limit],
        ).fetchall()
        summary = con.execute(
            "select dataset, rule, count(*), count(distinct _delivery_id), string_agg(distinct status, ',' order by "
            "status) from _q group by all order by dataset, count(*) desc, rule"
        ).fetchall()
        total = con.execute("select count(*) from _q").fetchone()[0]
        open_batches = con.execute(
            "select dataset, count(distinct _delivery_id) from _q where status in ('held', 'rejected') group by all"
        ).fetchall()
    finally:
        con.close()

    scope = " and ".join(x for x in (args.dataset or "all datasets", args.rule and f"rule {args.rule}") if x)
    if not total:
        print(f"no quarantined rows ({scope}{', including re-run batches' if args.all else ''})")
        return 0
    print(f"quarantined rows, newest first ({len(rows)} of {total}; {scope}):")
    print(
        f"{'quarantined at':19}  {'dataset':36} {'file:line':40} {'rule':22} {'field':14} {'batch':11} reason | record"
    )
    for at, dataset, file, line, rule, field, batch_status, reason, record in rows:
        place = f"{str(file).removeprefix(dataset + '/')}:{line}"  # the path below the dataset's landing folder
        place = place if len(place) <= 40 else "…" + place[-39:]
        print(
            f"{str(at)[:19]:19}  {_clip(dataset, 36):36} {place:40} {_clip(rule, 22):22} "
            f"{_clip(field, 14):14} {batch_status:11} {_clip(reason, 100)} | {_clip(record, 60)}"
        )
    print()
    print("summary per dataset and rule:")
    print(f"{'dataset':36} {'rule':28} {'rows':>8} {'batches':>8}  batch status")
    for dataset, rule, n, n_batches, statuses in summary:
        print(f"{_clip(dataset, 36):36} {_clip(rule, 28):28} {n:>8} {n_batches:>8}  {statuses}")
    print(f"{'total':36} {'':28} {total:>8}")
    print()
    for dataset, n in open_batches:
        print(f"{dataset}: {n} held/rejected batches are not served.")
    print(
        "To re-run batches after fixing the contract or standard: "
        "`ecolake reingest DEPARTMENT/DATASET [--status held,rejected]`, then `ecolake materialize`."
        + ("" if args.all else " Rows of batches already re-run are left out (--all shows them).")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ecolake", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add_demo_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--start", type=date.fromisoformat, default=date(2021, 1, 1))
        p.add_argument("--end", type=date.fromisoformat, default=date(2023, 12, 31))
        p.add_argument("--seed", type=int, default=2021)
        p.add_argument(
            "--only",
            action="append",
            metavar="GENERATOR",
            help="only this generator's deliveries (repeatable), e.g. statistics/gdp; default: every department",
        )
        p.add_argument("--skip", action="append", metavar="GENERATOR", help="not this generator (repeatable)")

    def add_serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--dagster-port", type=int, default=3000)
        p.add_argument("--sql-port", type=int, default=5433)
        p.add_argument("--http-port", type=int, default=8080)
        p.add_argument("--no-dagster", action="store_true", help="serve SQL only")

    p = sub.add_parser("demo-data", help="write demo deliveries into landing/")
    add_demo_args(p)
    p.set_defaults(func=cmd_demo_data)
    p = sub.add_parser("materialize", help="run every asset for what is in landing/")
    p.add_argument(
        "--pending",
        action="store_true",
        help="only the datasets with deliveries not yet ingested and what depends on them (as the sensors do)",
    )
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="build the incremental models from nothing (dbt --full-refresh), not only what changed",
    )
    p.set_defaults(func=cmd_materialize)
    p = sub.add_parser("serve", help="SQL gateway, Dagster UI and daemon (sensors)")
    add_serve_args(p)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("up", help="demo data, materialise, serve")
    add_demo_args(p)
    add_serve_args(p)
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("users", help="gateway users (password read from stdin)")
    p.add_argument("action", choices=["add", "list", "disable", "passwd"])
    p.add_argument("name", nargs="?")
    p.add_argument("--department", default="")
    p.add_argument("--role", default="analyst")
    p.add_argument("--regions", help="comma-separated GB/T 2260 codes")
    p.set_defaults(func=cmd_users)
    p = sub.add_parser("grants", help="extra schemas or tables a gateway user may read")
    p.add_argument("action", choices=["add", "revoke"])
    p.add_argument("name")
    p.add_argument("target", help="schema or schema.table")
    p.set_defaults(func=cmd_grants)
    p = sub.add_parser("reingest", help="re-run batches after a contract or standard was fixed")
    p.add_argument("dataset", help="department/dataset, e.g. env_monitoring/air_station_hourly")
    p.add_argument("--status", default="held,rejected", help="which batches (comma-separated statuses)")
    p.add_argument("--delivery", action="append", help="only this delivery id (repeatable)")
    p.set_defaults(func=cmd_reingest)
    p = sub.add_parser("batches", help="ingest batches per dataset")
    p.set_defaults(func=cmd_batches)
    p = sub.add_parser("quarantine", help="review quarantined rows (re-run them with `ecolake reingest`)")
    p.add_argument("action", choices=["list"])
    p.add_argument("--dataset", help="department/dataset, e.g. env_monitoring/air_station_hourly")
    p.add_argument("--rule", help="only this rule, or rules under it (range → range.minimum, range.maximum)")
    p.add_argument("--limit", type=int, default=50, help="rows listed (default 50; the summary counts all)")
    p.add_argument("--all", action="store_true", help="also rows of batches already re-run (status reprocessed)")
    p.set_defaults(func=cmd_quarantine)
    p = sub.add_parser("maintain", help="lake maintenance now: catalog backup, compaction, snapshot expiry")
    p.add_argument("--expire-older-than-days", type=float, default=30.0, help="expire snapshots older (default 30)")
    p.add_argument(
        "--cleanup-older-than-days",
        type=float,
        default=2.0,
        help="remove data files scheduled for deletion longer ago (default 2)",
    )
    p.add_argument("--keep-backups", type=int, default=14, help="catalog backups kept (default 14)")
    p.set_defaults(func=cmd_maintain)
    p = sub.add_parser("hj212-gateway", help="receive HJ 212 packets over TCP into the landing log")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9212)
    p.add_argument("--gateway-id", help="prefix of its segment files (default: the host name)")
    p.add_argument("--seal-seconds", type=float, default=5.0, help="seal the open segment this often (default 5)")
    p.add_argument("--fsync-each-packet", action="store_true", help="no group commit (the benchmark's baseline)")
    p.set_defaults(func=cmd_hj212_gateway)
    p = sub.add_parser("hj212-simulate", help="the demo fleet of HJ 212 data loggers, sending to a running gateway")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9212)
    p.add_argument("--outlets", type=int, default=50, help="devices (registry outlets first; default 50)")
    p.add_argument("--minutes", type=int, default=10, help="minutes of data from now (default 10)")
    p.add_argument("--speed", type=float, default=1.0, help="times faster than real time (default 1)")
    p.add_argument("--seed", type=int, default=2021, help="the demo seed (the registry's MNs; default 2021)")
    p.set_defaults(func=cmd_hj212_simulate)
    args = parser.parse_args(argv)
    code = args.func(args)
    if argv is None:  # the command line, not a caller in this process
        _exit_without_teardown(code)
    return code


def _exit_without_teardown(code: int) -> NoReturn:
    """End the process without the interpreter's teardown of its objects. After `materialize` that
    teardown (dagster, dbt, Great Expectations, polars: half a million objects) took 1.7 s of CPU,
    measured with strace after the last atexit handler, a tenth of a day's incremental build. By
    now every command has committed or closed what it wrote (the lake and Dagster's storage commit
    each transaction); atexit handlers (logging's flush) run and the streams are flushed first."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
