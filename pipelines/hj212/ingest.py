"""Sealed landing-log segments → raw.pollution_source__hj212_packets / …_values + quarantine + batches.

The specialised ingest path of the HJ 212 datasets (contracts/pollution_source/hj212_packets and
hj212_values, deliveryFormat ``hj212-segments``). The generic contract engine reads a delivery as
rows of strings and types them field by field; a province sends millions of packets a day, so here
the vectorised codec (``pipelines.hj212.codec``) types them and this module only appends its
frames. It keeps the engine's bookkeeping: the raw tables' columns and comments come from the
contracts (``engine.ensure_raw_table``), the quarantine table has the engine's columns (so ``ecolake
quarantine list`` shows bad packets), and each sealed segment is one batch of
``catalog.ingest_batches`` whose counts reconcile: rows_in (index records) = rows_published
(packets in raw) + rows_quarantined (packets in quarantine).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines import lake
from pipelines.contracts import Contract, load_contract
from pipelines.ingest import batches
from pipelines.ingest.deliveries import CST
from pipelines.ingest.engine import (
    LINEAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    BatchTotals,
    IngestError,
    ensure_raw_table,
    quarantine_ddl,
)
from pipelines.settings import Settings

log = logging.getLogger("ecolake.hj212")

DELIVERY_FORMAT = "hj212-segments"
DEPARTMENT = "pollution_source"
PACKETS, VALUES = "hj212_packets", "hj212_values"
DATASET = f"{DEPARTMENT}/{PACKETS}"  # the batches' dataset: segments are deliveries of packets
CHUNK_BYTES = 128 * 1024 * 1024  # segments decoded and committed together, about this many bytes

# the part of the packet each quarantine rule of the codec is about (the quarantine's `field`)
RULE_FIELDS = {
    "framing": "frame",
    "bad_length": "length",
    "bad_crc": "CRC",
    "no_mn": "MN",
    "bad_header": "header",
    "no_cp": "CP",
    "bad_data_time": "DataTime",
    "bad_cp_item": "CP",
    "bad_value": "CP",
    "bad_password": "PW",
}


def contracts(settings: Settings) -> tuple[Contract, Contract]:
    folder = settings.contracts_dir / DEPARTMENT
    return load_contract(folder / f"{PACKETS}.odcs.yaml"), load_contract(folder / f"{VALUES}.odcs.yaml")


@dataclass
class SegmentBatch:
    segment: str  # the stem: the batch's delivery_id
    source_file: str  # the .dat below landing/
    status: str
    rows_in: int
    rows_published: int
    rows_quarantined: int
    values: int


@dataclass
class SegmentReport(BatchTotals):
    batches: list[SegmentBatch] = field(default_factory=list)
    quarantine_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def values(self) -> int:
        return sum(b.values for b in self.batches)

    @property
    def held(self) -> list[SegmentBatch]:
        return [b for b in self.batches if b.status == "held"]


def recorded_segments(settings: Settings) -> set[str]:
    """Stems of the segments already recorded as batches (their delivery ids in the batch catalog)."""
    from pipelines.ingest.engine import recorded_files

    return recorded_files(settings, DATASET).get(DATASET, (set(), set()))[1]


def pending_segments(settings: Settings, recorded: set[str] | None = None) -> list[Path]:
    """Sealed segments not ingested yet, oldest first (a directory listing and one catalog query)."""
    from pipelines.hj212.segments import sealed_segments

    done = recorded_segments(settings) if recorded is None else recorded
    return [p for p in sealed_segments(settings.landing) if _stem(p) not in done]


def _stem(path: Path) -> str:
    return path.name.removesuffix(".dat").removesuffix(".idx")


def _dat(path: Path) -> Path:
    return path.with_name(_stem(path) + ".dat")


def ensure_tables(con: duckdb.DuckDBPyConnection, packets: Contract, values: Contract) -> None:
    """Both raw tables as the contract engine makes them (columns, comments, later contract
    versions' columns), and the packets' quarantine: one table for the segments' refused packets."""
    for contract in (packets, values):
        ensure_raw_table(con, contract)
    con.execute(quarantine_ddl(packets))
    con.execute(
        f"comment on table {packets.quarantine_table} is "
        + _quote(
            "HJ 212 packets refused by the codec: rule, reason, segment, packet number and the packet's text. 隔离区。"
        )
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shape(path: Path, decoded, landing: Path, now: datetime):
    """One decoded segment's frames, with lineage, shaped for the lake."""
    dat = _dat(path)
    stem = _stem(path)
    relpath = dat.relative_to(landing).as_posix()
    arrived = datetime.fromtimestamp(path.with_name(stem + ".idx").stat().st_mtime, CST).replace(tzinfo=None)
    lineage = [
        pl.lit(stem).alias("segment"),
        pl.lit(stem).alias("_delivery_id"),
        pl.lit(relpath).alias("_source_file"),
        pl.col("packet_no").cast(pl.Int64).alias("_source_line"),
        pl.lit(arrived).cast(pl.Datetime("us")).alias("_arrived_at"),
        pl.lit(now).cast(pl.Datetime("us")).alias("_ingested_at"),
    ]
    local = pl.col("received_at").dt.convert_time_zone("Asia/Shanghai").dt.replace_time_zone(None)
    packets = decoded.packets.filter(pl.col("quarantine_rule").is_null()).with_columns(
        *lineage, local.alias("received_at"), pl.col("packet_no").cast(pl.Int64)
    )
    values = decoded.values.with_columns(*lineage, local.alias("received_at"), pl.col("packet_no").cast(pl.Int64))
    # one quarantine row per refused packet: the first rule the codec found, and its reason
    quarantine = decoded.quarantine.with_columns(
        pl.col("rule").cast(pl.String),
        pl.col("rule").cast(pl.String).replace_strict(RULE_FIELDS, default="packet").alias("field"),
        pl.col("raw_text").alias("record"),
        pl.lit(DATASET.replace("/", "__")).alias("dataset"),
        pl.lit(now).cast(pl.Datetime("us")).alias("_quarantined_at"),
        *[e for e in lineage if e.meta.output_name() not in ("segment", "_ingested_at")],
    )
    rows_in = decoded.packets.height  # one packets row per index record
    published = packets.height
    quarantined = quarantine.select(pl.col("packet_no").n_unique()).item() if quarantine.height else 0
    if published + quarantined != rows_in or quarantine.height != quarantined:
        raise IngestError(
            f"{relpath}: {rows_in} index records but {published} published + {quarantine.height} quarantine rows "
            f"for {quarantined} packets"
        )
    return stem, relpath, arrived, dat.stat(), rows_in, packets, values, quarantine


def ingest_segments(
    settings: Settings, segments: list[Path], *, run_id: str | None = None, chunk_bytes: int = CHUNK_BYTES
) -> SegmentReport:
    """Decode the segments and append them to the lake, a chunk of segments per transaction."""
    packets_contract, values_contract = contracts(settings)
    report = SegmentReport()
    if not segments:
        lake.write_with_retry(lambda con: ensure_tables(con, packets_contract, values_contract), settings)
        return report
    chunk: list[Path] = []
    size = 0
    for path in [*segments, None]:
        if path is None or (chunk and size + _dat(path).stat().st_size > chunk_bytes):
            _ingest_chunk(settings, chunk, packets_contract, values_contract, run_id, report)
            chunk, size = [], 0
        if path is not None:
            chunk.append(path)
            size += _dat(path).stat().st_size
    return report


def _ingest_chunk(
    settings: Settings,
    segments: list[Path],
    packets_contract: Contract,
    values_contract: Contract,
    run_id: str | None,
    report: SegmentReport,
) -> None:
    now = datetime.now(CST).replace(tzinfo=None, microsecond=0)
    share = packets_contract.tolerated_quarantine_share
    packet_frames, value_frames, quarantine_frames, batch_rows, chunk_batches = [], [], [], [], []
    from pipelines.hj212.codec import decode_segments

    for path, decoded in decode_segments(_dat(p) for p in segments):
        shaped = _shape(path, decoded, settings.landing, now)
        stem, relpath, arrived, stat, rows_in, packets, values, quarantine = shaped
        quarantined = quarantine.height
        status = "held" if rows_in and quarantined / rows_in > share else "published"
        chunk_batches.append(SegmentBatch(stem, relpath, status, rows_in, packets.height, quarantined, values.height))
        batch_rows.append(
            {
                "delivery_id": stem,
                "dataset": DATASET,
                "source_file": relpath,
                "arrived_at": arrived,
                "ingested_at": now,
                "status": status,
                "rows_in": rows_in,
                "rows_published": packets.height,
                "rows_quarantined": quarantined,
                "error": None,
                "contract_version": packets_contract.version,
                "run_id": run_id,
                "file_size": stat.st_size,
                "file_mtime_ns": stat.st_mtime_ns,
                "content_sha256": None,
                "reprocesses": None,
            }
        )
        packet_frames.append(packets.select([f.name for f in packets_contract.fields] + list(LINEAGE_COLUMNS)))
        value_frames.append(values.select([f.name for f in values_contract.fields] + list(LINEAGE_COLUMNS)))
        quarantine_frames.append(quarantine.select(list(QUARANTINE_COLUMNS)))

    def arrow(frames: list[pl.DataFrame]):
        # the codec's enums become plain strings, as the contract's VARCHAR columns hold them
        plain = [f.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String)) for f in frames]
        return pl.concat(plain, how="vertical_relaxed").to_arrow()

    packets_arrow, values_arrow, quarantine_arrow = arrow(packet_frames), arrow(value_frames), arrow(quarantine_frames)
    batch_arrow = pl.DataFrame(
        batch_rows,
        schema_overrides={
            "error": pl.String,
            "run_id": pl.String,
            "content_sha256": pl.String,
            "reprocesses": pl.String,
        },
    ).to_arrow()
    stems = [b.segment for b in chunk_batches]

    def write(con: duckdb.DuckDBPyConnection) -> list[str]:
        ensure_tables(con, packets_contract, values_contract)
        # a segment another run recorded meanwhile is not written twice
        done = {
            r[0]
            for r in con.execute(
                f"select delivery_id from {batches.TABLE} where dataset = ? and delivery_id in (select unnest(?))",
                [DATASET, stems],
            ).fetchall()
        }
        con.register("_batches", batch_arrow)
        con.register("_packets", packets_arrow)
        con.register("_values", values_arrow)
        con.register("_quarantined", quarantine_arrow)
        keep = "where _delivery_id not in (select unnest(?))"
        con.execute(f"insert into {packets_contract.raw_table} by name select * from _packets {keep}", [list(done)])
        con.execute(f"insert into {values_contract.raw_table} by name select * from _values {keep}", [list(done)])
        con.execute(
            f"insert into {packets_contract.quarantine_table} by name select * from _quarantined {keep}", [list(done)]
        )
        con.execute(
            f"insert into {batches.TABLE} by name select * from _batches where delivery_id not in (select unnest(?))",
            [list(done)],
        )
        return sorted(done)

    skipped = set(lake.write_with_retry(write, settings))
    for batch in chunk_batches:
        if batch.segment in skipped:
            continue
        report.batches.append(batch)
    for frame in quarantine_frames:
        for rule, n in frame.filter(~pl.col("_delivery_id").is_in(list(skipped))).group_by("rule").len().iter_rows():
            report.quarantine_by_rule[rule] = report.quarantine_by_rule.get(rule, 0) + n
    log.info(
        "%s: %d segments, %d packets in, %d published, %d quarantined, %d values",
        DATASET,
        len(segments) - len(skipped),
        report.rows_in,
        report.rows_published,
        report.rows_quarantined,
        report.values,
    )
