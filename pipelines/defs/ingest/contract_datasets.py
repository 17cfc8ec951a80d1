"""One ingest asset, one landing sensor and checks per contract in contracts/.

Adding a dataset means adding its contract: this module turns every
``contracts/<department>/<dataset>.odcs.yaml`` into the asset ``[<department>, <dataset>]``
(partitioned by arrival day), its blocking ``contract`` check, a warn-only ``freshness`` check
from the contract's SLA, and a sensor on ``landing/<department>/<dataset>/``.
"""

import hashlib
from datetime import datetime

import dagster as dg

from pipelines import lake
from pipelines.contracts import Contract, load_contract, load_contracts
from pipelines.defs.partitions import LAKE_WRITER_POOL, arrival_days, arrival_partition
from pipelines.ingest.deliveries import CST
from pipelines.ingest.engine import ingest, pending_deliveries
from pipelines.settings import get_settings

# delivery formats that a specialised path ingests instead of the contract engine; their contracts
# still describe the raw tables (HJ 212 segments: the codec and asset of pipelines/defs/hj212/)
SPECIALISED_FORMATS = frozenset({"hj212-segments"})


def asset_key(contract: Contract) -> dg.AssetKey:
    return dg.AssetKey([contract.department, contract.dataset])


def build_ingest_asset(contract: Contract) -> dg.AssetsDefinition:
    path = contract.path

    @dg.asset(
        key=asset_key(contract),
        description=f"{contract.name_zh} / {contract.name_en}: landing files → contract "
        f"{contract.id} → {contract.raw_table} (+ {contract.quarantine_table}).",
        partitions_def=arrival_days,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=LAKE_WRITER_POOL,
        group_name=contract.department,
        # standards the contract's rules read (check characters, valid values from a standards table)
        deps=[dg.AssetKey(["standards", t]) for t in contract.standards_tables],
        owners=[f"team:{contract.department.replace('_', '-')}"],
        kinds={"csv", "polars", "duckdb"},
        metadata={
            "contract": dg.MetadataValue.path(str(path)),
            "raw_table": contract.raw_table,
            "quarantine_table": contract.quarantine_table,
            "tolerated_quarantine_share": contract.tolerated_quarantine_share,
        },
        check_specs=[
            dg.AssetCheckSpec(
                "contract",
                asset=asset_key(contract),
                blocking=True,
                description="Every file readable and each batch's quarantined share within the contract's "
                "tolerance; the Great Expectations suite passes.",
            )
        ],
    )
    def _ingest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = get_settings()
        current = load_contract(path)  # the contract as it is now, not as it was at load time
        wanted = set(context.partition_keys)
        todo = [d for d in pending_deliveries(current, settings) if arrival_partition(d.arrival_day) in wanted]
        report = ingest(current, todo, settings, run_id=context.run_id)
        problems = [f"rejected: {b.error}" for b in report.rejected]
        problems += [
            f"{b.delivery.relpath}: {b.quarantined_share:.1%} quarantined > tolerated "
            f"{current.tolerated_quarantine_share:.1%}"
            for b in report.over_tolerance
        ]
        problems += report.ge_failures
        context.log.info(
            f"{current.table_name}: {len(todo)} files, {report.rows_in} rows in, "
            f"{report.rows_published} published, {report.rows_quarantined} quarantined"
        )
        return dg.MaterializeResult(
            metadata={
                "files": len(todo),
                "rows_in": report.rows_in,
                "rows_published": report.rows_published,
                "rows_quarantined": report.rows_quarantined,
                "rejected_files": len(report.rejected),
                "quarantine_by_rule": dg.MetadataValue.json(report.quarantine_by_rule),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="contract",
                    passed=report.passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description="; ".join(problems[:20]) or "all batches within the contract",
                    metadata={"problems": len(problems), "ge_success": report.ge_success},
                )
            ],
        )

    return _ingest


def build_freshness_check(contract: Contract) -> dg.AssetChecksDefinition | None:
    if not contract.freshness_element or contract.freshness_max_age_hours is None:
        return None
    column, max_age = contract.freshness_element, contract.freshness_max_age_hours

    @dg.asset_check(
        asset=asset_key(contract),
        name="freshness",
        blocking=False,
        description=f"Newest {column} no older than {max_age:g} h (contract SLA; warning only).",
    )
    def _freshness() -> dg.AssetCheckResult:
        con = lake.connect(get_settings(), read_only=True)
        try:
            newest = con.execute(f'select max("{column}") from {contract.raw_table}').fetchone()[0]
        finally:
            con.close()
        now = datetime.now(CST).replace(tzinfo=None)
        age = (now - newest).total_seconds() / 3600 if newest else None
        return dg.AssetCheckResult(
            passed=age is not None and age <= max_age,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"newest": str(newest), "age_hours": age if age is not None else -1.0},
        )

    return _freshness


def build_landing_sensor(contract: Contract) -> dg.SensorDefinition:
    path = contract.path

    @dg.sensor(
        name=f"{contract.table_name}__landing",
        description=f"New files under landing/{contract.department}/{contract.dataset}/ → ingest and "
        "everything downstream, one run per batch of arrivals.",
        target=dg.AssetSelection.assets(asset_key(contract)).downstream(),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context: dg.SensorEvaluationContext):
        current = load_contract(path)
        pending = pending_deliveries(current, get_settings())
        if not pending:
            return dg.SkipReason("no new deliveries")
        days = sorted({arrival_partition(d.arrival_day) for d in pending})
        run_key = hashlib.sha256("\n".join(sorted(d.delivery_id for d in pending)).encode()).hexdigest()[:24]
        return dg.RunRequest(
            run_key=run_key,
            tags={
                "dagster/asset_partition_range_start": days[0],
                "dagster/asset_partition_range_end": days[-1],
                "ecolake/files": str(len(pending)),
            },
        )

    return _sensor


@dg.definitions
def defs() -> dg.Definitions:
    every = load_contracts(get_settings().contracts_dir)
    contracts = [c for c in every if c.delivery.format not in SPECIALISED_FORMATS]
    checks = [c for c in (build_freshness_check(k) for k in contracts) if c is not None]
    return dg.Definitions(
        assets=[build_ingest_asset(c) for c in contracts],
        asset_checks=checks,
        sensors=[build_landing_sensor(c) for c in contracts],
    )
