"""HJ 212 packets as Dagster definitions: one asset writing raw packets and values from the sealed
landing-log segments, and a micro-batch sensor that runs it (and the pollution_source models
downstream) as soon as the gateway seals new segments.

The contracts of these datasets (deliveryFormat ``hj212-segments``) are skipped by
``pipelines/defs/ingest/contract_datasets.py``: their asset is this one, unpartitioned, because a
run takes whatever segments are pending, whatever their day (the sensor fires every few seconds).
"""

import hashlib

import dagster as dg

from pipelines.defs.partitions import LAKE_WRITER_POOL
from pipelines.hj212 import ingest as hj212_ingest
from pipelines.settings import get_settings

PACKETS_KEY = dg.AssetKey([hj212_ingest.DEPARTMENT, hj212_ingest.PACKETS])
VALUES_KEY = dg.AssetKey([hj212_ingest.DEPARTMENT, hj212_ingest.VALUES])
RUN_TAG = "ecolake/hj212_segments"
# what a micro-batch builds: the ingest (with its own check) and every model downstream; the models'
# dbt tests run with each full build, not in each micro-batch, where they would double the delay
# from receipt to pollution_source (the themes' enforced contracts still hold)
MICRO_BATCH = dg.AssetSelection.assets(PACKETS_KEY, VALUES_KEY).downstream().without_checks() | (
    dg.AssetSelection.checks_for_assets(PACKETS_KEY)
)
SENSOR_INTERVAL_SECONDS = 5  # well inside the 60 s from receipt to pollution_source


def _raw_spec(key: dg.AssetKey, description: str) -> dg.AssetSpec:
    """One raw table the segments asset writes, described by its contract."""
    return dg.AssetSpec(
        key,
        description=description,
        group_name=hj212_ingest.DEPARTMENT,
        owners=["team:pollution-source"],
        kinds={"numba", "polars", "duckdb"},
        metadata={"contract": f"contracts/{key.path[0]}/{key.path[1]}.odcs.yaml"},
    )


@dg.multi_asset(
    name="pollution_source__hj212_segments",
    specs=[
        _raw_spec(
            PACKETS_KEY,
            "污染源在线监测HJ 212数据包 / HJ 212 packets: sealed landing-log segments → vectorised "
            "codec → raw.pollution_source__hj212_packets (+ quarantine, one batch per segment).",
        ),
        _raw_spec(
            VALUES_KEY,
            "污染源在线监测HJ 212监测数据 / HJ 212 values: the packets' pollutant values as long rows → "
            "raw.pollution_source__hj212_values.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "contract",
            asset=PACKETS_KEY,
            blocking=True,
            description="Each segment's quarantined share of packets within the contract's tolerance (else held).",
        )
    ],
    pool=LAKE_WRITER_POOL,
)
def hj212_segments(context: dg.AssetExecutionContext):
    settings = get_settings()
    pending = hj212_ingest.pending_segments(settings)
    report = hj212_ingest.ingest_segments(settings, pending, run_id=context.run_id)
    context.log.info(
        f"{len(report.batches)} segments: {report.rows_in} packets in, {report.rows_published} published, "
        f"{report.rows_quarantined} quarantined, {report.values} values"
    )
    yield dg.MaterializeResult(
        asset_key=PACKETS_KEY,
        metadata={
            "segments": len(report.batches),
            "rows_in": report.rows_in,
            "rows_published": report.rows_published,
            "rows_quarantined": report.rows_quarantined,
            "held_segments": len(report.held),
            "quarantine_by_rule": dg.MetadataValue.json(report.quarantine_by_rule),
        },
    )
    yield dg.MaterializeResult(asset_key=VALUES_KEY, metadata={"values": report.values})
    held = [f"{b.source_file}: {b.rows_quarantined} of {b.rows_in} packets quarantined" for b in report.held]
    if held:
        context.log.warning("held segments (not served): " + "; ".join(held[:20]))
    yield dg.AssetCheckResult(
        asset_key=PACKETS_KEY,
        check_name="contract",
        passed=not held,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(held[:20]) or "every segment within the contract",
        metadata={"held_segments": len(held)},
    )


@dg.sensor(
    name="pollution_source__hj212_segments__landing",
    description="Newly sealed HJ 212 segments → ingest them and build the pollution_source models downstream; "
    "one run at a time (a run takes every segment pending when it starts).",
    target=MICRO_BATCH,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def hj212_segments_sensor(context: dg.SensorEvaluationContext):
    in_flight = context.instance.get_runs(
        filters=dg.RunsFilter(
            tags={RUN_TAG: "1"},
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        ),
        limit=1,
    )
    if in_flight:
        return dg.SkipReason(f"run {in_flight[0].run_id} is still ingesting")
    pending = hj212_ingest.pending_segments(get_settings())
    if not pending:
        return dg.SkipReason("no new sealed segments")
    stems = "\n".join(p.name for p in pending)
    return dg.RunRequest(
        run_key=hashlib.sha256(stems.encode()).hexdigest()[:24],
        tags={RUN_TAG: "1", "ecolake/segments": str(len(pending))},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[hj212_segments], sensors=[hj212_segments_sensor])
