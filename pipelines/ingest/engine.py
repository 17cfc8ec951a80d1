"""One ingest path for every dataset: parse → contract rules → raw + quarantine + batch records.

``ingest(contract, deliveries)`` reads the files with the parser of the contract's delivery format,
types every field, applies the contract's row rules, sends offending rows to
``quarantine.<department>__<dataset>`` with rule and reason, appends the rest to
``raw.<department>__<dataset>`` with their delivery id, file and line, and records one row per file
in ``catalog.ingest_batches`` — all in one lake transaction. Every file reconciles:
rows_in = rows_published + rows_quarantined.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from pipelines import lake
from pipelines.contracts import Contract, bind_standards, geometry_checks, row_rules, typed_value
from pipelines.ingest import batches, csv_format, geojson_format, xlsx_format
from pipelines.ingest.csv_format import DELIVERY_IDX, LINE, ParsedDeliveries
from pipelines.ingest.deliveries import CST, Delivery
from pipelines.quality import validate_in_worker
from pipelines.settings import Settings

log = logging.getLogger("ecolake.ingest")

PARSERS: dict[str, Callable[[Contract, list[Delivery]], ParsedDeliveries]] = {
    "csv": csv_format.parse,
    "xlsx": xlsx_format.parse,
    "geojson": geojson_format.parse,
}

LINEAGE_COLUMNS = {
    "_delivery_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_arrived_at": "TIMESTAMP",
    "_ingested_at": "TIMESTAMP",
}

QUARANTINE_COLUMNS = {
    "_delivery_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_arrived_at": "TIMESTAMP",
    "dataset": "VARCHAR",
    "rule": "VARCHAR",
    "field": "VARCHAR",
    "reason": "VARCHAR",
    "record": "VARCHAR",
    "_quarantined_at": "TIMESTAMP",
}


class IngestError(RuntimeError):
    """A delivery that the engine could not account for, row by row; names the file."""


@dataclass
class BatchResult:
    delivery: Delivery
    status: str
    rows_in: int
    rows_published: int
    rows_quarantined: int
    error: str | None

    @property
    def quarantined_share(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0


class BatchTotals:
    """Rows in, published and quarantined over a report's ``batches``: every ingest path (the
    contract engine, the HJ 212 segments) reconciles the same way."""

    batches: list

    @property
    def rows_in(self) -> int:
        return sum(b.rows_in for b in self.batches)

    @property
    def rows_published(self) -> int:
        return sum(b.rows_published for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)


@dataclass
class IngestReport(BatchTotals):
    contract: Contract
    batches: list[BatchResult] = field(default_factory=list)
    ge_success: bool = True
    ge_failures: list[str] = field(default_factory=list)
    quarantine_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> list[BatchResult]:
        return [b for b in self.batches if b.status == "rejected"]

    @property
    def over_tolerance(self) -> list[BatchResult]:
        return [b for b in self.batches if b.status == "held"]

    @property
    def passed(self) -> bool:
        return not self.rejected and not self.over_tolerance and self.ge_success


# --------------------------------------------------------------------------------------------
# table definitions from the contract


def raw_ddl(contract: Contract) -> str:
    cols = [f'"{f.name}" {f.duckdb_type}' for f in contract.fields]
    cols += [f"{n} {t}" for n, t in LINEAGE_COLUMNS.items()]
    return f"create table if not exists {contract.raw_table} ({', '.join(cols)})"


def quarantine_ddl(contract: Contract) -> str:
    cols = ", ".join(f"{n} {t}" for n, t in QUARANTINE_COLUMNS.items())
    return f"create table if not exists {contract.quarantine_table} ({cols})"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_tables(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create raw and quarantine tables from the contract (empty when nothing was delivered);
    add columns a newer contract version introduced; keep comments in step with the contract."""
    ensure_raw_table(con, contract)
    con.execute(quarantine_ddl(contract))
    quarantine_comment = (
        f"Rows of {contract.table_name} refused by contract {contract.id}: rule, reason, file, "
        "line and the delivered record. 隔离区。"
    )
    con.execute(f"comment on table {contract.quarantine_table} is {_quote(quarantine_comment)}")


def ensure_raw_table(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """The contract's raw table (and the raw/quarantine schemas and the batch catalog): created,
    given the columns a newer contract version introduced, its comments in step with the contract."""
    for schema in ("raw", "quarantine"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(raw_ddl(contract))
    batches.ensure(con)
    existing = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = current_database() "
            "and table_schema = 'raw' and table_name = ?",
            [contract.table_name],
        ).fetchall()
    }
    for f in contract.fields:
        if f.name not in existing:
            con.execute(f'alter table {contract.raw_table} add column "{f.name}" {f.duckdb_type}')
    raw_comment = f"{contract.name_zh} / {contract.name_en} — as delivered, contract {contract.id} v{contract.version}"
    con.execute(f"comment on table {contract.raw_table} is {_quote(raw_comment)}")
    for f in contract.fields:
        text = " / ".join(t for t in (f.description_zh, f.description) if t)
        if f.unit:
            text += f" [{f.unit}]"
        elif f.unit_field:
            text += f" [unit: {f.unit_field}]"
        con.execute(f'comment on column {contract.raw_table}."{f.name}" is {_quote(text)}')


# --------------------------------------------------------------------------------------------
# validation


def _apply_rules(contract: Contract, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed rows with a row id, quarantine frame: row id, rule, field, reason)."""
    typed = rows.with_row_index("_row").with_columns(
        [typed_value(f).alias(f"{f.name}__typed") for f in contract.fields]
    )
    typed = geometry_checks(contract, typed)  # spatial verdicts come from DuckDB: columns the rules read
    rules = row_rules(contract)
    # every rule's mask in one parallel pass; reasons are built only for the few rows that fail
    masks = typed.select(pl.col("_row"), *[r.violation.alias(f"_v{i}") for i, r in enumerate(rules)])
    flagged = masks.filter(pl.any_horizontal(pl.exclude("_row")))
    failing = typed.join(flagged, on="_row", how="semi")
    flags = failing.select("_row").join(flagged, on="_row")
    failures = []
    for i, rule in enumerate(rules):
        hit = failing.filter(flags[f"_v{i}"]).select(
            "_row", pl.lit(rule.rule).alias("rule"), pl.lit(rule.field).alias("field"), rule.reason.alias("reason")
        )
        if hit.height:
            failures.append(hit)
    # the same key twice in one delivery with different values: nobody can tell which is right
    key = [DELIVERY_IDX, *contract.primary_key]
    value_cols = [f.name for f in contract.fields]
    ok_rows = typed.join(flagged.select("_row"), on="_row", how="anti")
    repeated = ok_rows.filter(pl.len().over(key) > 1)
    conflicts = (
        repeated.group_by(key)
        .agg(pl.struct(value_cols).n_unique().alias("_variants"), pl.col("_row"), pl.col(LINE))
        .filter(pl.col("_variants") > 1)
    )
    if conflicts.height:
        key_text = pl.concat_str(
            [pl.lit(f"{k}=") + pl.col(k).fill_null("") for k in contract.primary_key], separator=", "
        )
        failures.append(
            conflicts.with_columns(
                (
                    key_text
                    + pl.lit(" appears on lines ")
                    + pl.col(LINE).cast(pl.List(pl.String)).list.join(", ")
                    + pl.lit(" of one delivery with different values")
                ).alias("reason")
            )
            .explode("_row")
            .select(
                "_row",
                pl.lit("primary_key.conflict").alias("rule"),
                pl.lit(", ".join(contract.primary_key)).alias("field"),
                "reason",
            )
        )
    if not failures:
        return typed, pl.DataFrame(
            schema={"_row": pl.UInt32, "rule": pl.String, "field": pl.String, "reason": pl.String}
        )
    all_failures = pl.concat(failures)
    # one quarantine row per delivered row: its first broken rule, and every reason
    per_row = all_failures.group_by("_row", maintain_order=True).agg(
        pl.col("rule").first(), pl.col("field").first(), pl.col("reason").str.join("; ")
    )
    return typed, per_row


def _ge_validate(contract: Contract, typed: pl.DataFrame) -> Future[tuple[bool, list[str]]]:
    """Start the contract's GE suite on the typed batch (before quarantine) in the GE worker process:
    each expectation may fail on at most the tolerated share of rows."""
    if typed.height == 0:
        done: Future[tuple[bool, list[str]]] = Future()
        done.set_result((True, []))
        return done
    frame = typed.select([pl.col(f"{f.name}__typed").alias(f.name) for f in contract.fields])
    return validate_in_worker(contract, frame)


# --------------------------------------------------------------------------------------------


CHUNK_BYTES = 64 * 1024 * 1024  # files are parsed, checked and committed in chunks of about this size


def ingest(
    contract: Contract,
    deliveries: list[Delivery],
    settings: Settings,
    *,
    run_id: str | None = None,
) -> IngestReport:
    """Ingest the deliveries (oldest arrival first) in chunks of files, each chunk one lake
    transaction, so memory stays bounded however much landed; a file is never split. The contract's
    standard-bound rules (check characters, valid values from a standards table) read the standards
    in force now."""
    contract = bind_standards(contract, settings.standards_dir)
    report = IngestReport(contract)
    if not deliveries:
        lake.write_with_retry(lambda con: ensure_tables(con, contract), settings)
        return report
    chunk: list[Delivery] = []
    size = 0
    for delivery in [*deliveries, None]:
        if delivery is None or (chunk and size + delivery.size > CHUNK_BYTES):
            part = _ingest_chunk(contract, chunk, settings, run_id)
            report.batches.extend(part.batches)
            report.ge_success = report.ge_success and part.ge_success
            report.ge_failures.extend(part.ge_failures)
            for rule, n in part.quarantine_by_rule.items():
                report.quarantine_by_rule[rule] = report.quarantine_by_rule.get(rule, 0) + n
            chunk, size = [], 0
        if delivery is not None:
            chunk.append(delivery)
            size += delivery.size
    return report


def _ingest_chunk(
    contract: Contract, deliveries: list[Delivery], settings: Settings, run_id: str | None
) -> IngestReport:
    report = IngestReport(contract)
    now = datetime.now(CST).replace(tzinfo=None, microsecond=0)

    parsed = PARSERS[contract.delivery.format](contract, deliveries)
    if contract.delivery.null_values:  # the delivery's own spelling of "no value" is a null
        tokens = list(contract.delivery.null_values)
        parsed.rows = parsed.rows.with_columns(
            pl.when(pl.col(f.name).str.strip_chars().is_in(tokens)).then(None).otherwise(pl.col(f.name)).alias(f.name)
            for f in contract.fields
        )
    typed, failures = _apply_rules(contract, parsed.rows)
    # the GE suite runs in its worker process beside the quarantine split and the lake write; its
    # verdict is in the report before this returns
    ge_run = _ge_validate(contract, typed)

    meta = pl.DataFrame(
        {
            DELIVERY_IDX: list(range(len(deliveries))),
            "_delivery_id": [d.delivery_id for d in deliveries],
            "_source_file": [d.relpath for d in deliveries],
            "_arrived_at": [d.arrived_at for d in deliveries],
        },
        schema={
            DELIVERY_IDX: pl.Int64,
            "_delivery_id": pl.String,
            "_source_file": pl.String,
            "_arrived_at": pl.Datetime("us"),
        },
    )

    failed_rows = typed.join(failures, on="_row", how="inner")
    record = pl.struct([pl.col(f.name) for f in contract.fields]).struct.json_encode()
    quarantine = (
        pl.concat(
            [
                failed_rows.select(DELIVERY_IDX, LINE, "rule", "field", "reason", record.alias("record")),
                parsed.structural_quarantine,
            ]
        )
        .join(meta, on=DELIVERY_IDX)
        .with_columns(
            pl.lit(contract.table_name).alias("dataset"),
            pl.lit(now).alias("_quarantined_at"),
        )
    )
    published = typed.join(failures.select("_row"), on="_row", how="anti")
    published_out = (
        published.select(
            [pl.col(f"{f.name}__typed").cast(f.polars_type).alias(f.name) for f in contract.fields]
            + [pl.col(DELIVERY_IDX), pl.col(LINE).alias("_source_line")]
        )
        .join(meta, on=DELIVERY_IDX)
        .with_columns(pl.lit(now).alias("_ingested_at"))
        .drop(DELIVERY_IDX)
    )

    n_pub = dict(published.group_by(DELIVERY_IDX).len().iter_rows())
    n_quar = dict(quarantine.group_by(DELIVERY_IDX).len().iter_rows())
    for idx, d in enumerate(deliveries):
        p, q = n_pub.get(idx, 0), n_quar.get(idx, 0)
        rows_in = parsed.data_lines.get(idx, 0)
        if p + q != rows_in:  # counted apart from the parse: a row lost or doubled is a bug, never silent
            raise IngestError(f"{d.relpath}: {rows_in} data lines but {p} published + {q} quarantined rows")
        if idx in parsed.rejected:
            status = "rejected"
        elif rows_in and q / rows_in > contract.tolerated_quarantine_share:
            status = "held"
        else:
            status = "published"
        report.batches.append(BatchResult(d, status, rows_in, p, q, parsed.rejected.get(idx)))
    report.quarantine_by_rule = dict(quarantine.group_by("rule").len().sort("rule").iter_rows())

    dataset_name = f"{contract.department}/{contract.dataset}"
    batch_frame = pl.DataFrame(
        {
            "delivery_id": [b.delivery.delivery_id for b in report.batches],
            "dataset": [dataset_name] * len(report.batches),
            "source_file": [b.delivery.relpath for b in report.batches],
            "arrived_at": [b.delivery.arrived_at for b in report.batches],
            "ingested_at": [now] * len(report.batches),
            "status": [b.status for b in report.batches],
            "rows_in": [b.rows_in for b in report.batches],
            "rows_published": [b.rows_published for b in report.batches],
            "rows_quarantined": [b.rows_quarantined for b in report.batches],
            "error": [b.error for b in report.batches],
            "contract_version": [contract.version] * len(report.batches),
            "run_id": [run_id] * len(report.batches),
            "file_size": [b.delivery.size for b in report.batches],
            "file_mtime_ns": [b.delivery.mtime_ns for b in report.batches],
            "content_sha256": [b.delivery.content_sha256 for b in report.batches],
            "reprocesses": [b.delivery.reprocesses for b in report.batches],
        },
        schema_overrides={"error": pl.String, "run_id": pl.String, "reprocesses": pl.String},
    )

    quarantine_out = quarantine.select(list(QUARANTINE_COLUMNS))
    raw_arrow = published_out.select([f.name for f in contract.fields] + list(LINEAGE_COLUMNS)).to_arrow()
    quarantine_arrow = quarantine_out.to_arrow()
    batch_arrow = batch_frame.to_arrow()

    def write(con: duckdb.DuckDBPyConnection) -> None:
        ensure_tables(con, contract)
        con.register("_published", raw_arrow)
        con.register("_quarantined", quarantine_arrow)
        con.register("_batches", batch_arrow)
        con.execute(f"insert into {contract.raw_table} by name select * from _published")
        con.execute(f"insert into {contract.quarantine_table} by name select * from _quarantined")
        con.execute(f"insert into {batches.TABLE} by name select * from _batches")
        replaced = [b.delivery.reprocesses for b in report.batches if b.delivery.reprocesses]
        if replaced:
            con.execute(
                f"update {batches.TABLE} set status = 'reprocessed' where delivery_id in (select unnest(?::varchar[]))",
                [replaced],
            )

    lake.write_with_retry(write, settings)
    report.ge_success, report.ge_failures = ge_run.result()
    log.info(
        "%s: %d files, %d rows in, %d published, %d quarantined, %d rejected files",
        dataset_name,
        len(deliveries),
        report.rows_in,
        report.rows_published,
        report.rows_quarantined,
        len(report.rejected),
    )
    return report


Recorded = dict[str, tuple[set[tuple[str, int, int]], set[str]]]


def recorded_files(settings: Settings, dataset: str | None = None) -> Recorded:
    """Per dataset (``department/dataset``): (relpath, size, mtime_ns) of the files already ingested,
    and their delivery ids — all datasets, or one, read over one lake connection."""
    recorded: Recorded = {}
    if not settings.catalog_path.exists():
        return recorded
    con = lake.connect(settings, read_only=True)
    try:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = current_database() "
                "and table_schema = 'catalog' and table_name = 'ingest_batches'"
            ).fetchall()
        }
        if not columns:
            return recorded
        stat_cols = "file_size, file_mtime_ns" if "file_mtime_ns" in columns else "null, null"
        where, params = ("where dataset = ?", [dataset]) if dataset else ("", [])
        rows = con.execute(
            f"select dataset, delivery_id, source_file, {stat_cols} from {batches.TABLE} {where}", params
        ).fetchall()
    finally:
        con.close()
    for name, delivery_id, source_file, size, mtime_ns in rows:
        seen, ids = recorded.setdefault(name, (set(), set()))
        seen.add((source_file, size, mtime_ns))
        ids.add(delivery_id)
    return recorded


def pending_deliveries(contract: Contract, settings: Settings, recorded: Recorded | None = None) -> list[Delivery]:
    """Files in the dataset's landing folder not ingested yet, oldest arrival first. A file seen
    before (same path, size and time) is not read again; a file touched or copied with new times
    but the same content is the same delivery. ``recorded`` (from ``recorded_files``) saves a lake
    connection per dataset when many are checked."""
    from pipelines.ingest.deliveries import landed_files

    name = f"{contract.department}/{contract.dataset}"
    landed = list(landed_files(settings.landing, contract.department, contract.dataset))
    if not landed:
        return []  # nothing landed: no need to read the batch catalog
    if recorded is None:
        recorded = recorded_files(settings, name)
    seen, ids = recorded.get(name, (set(), set()))
    pending = []
    for f in landed:
        if (f.relpath, f.size, f.mtime_ns) in seen:
            continue
        delivery = f.as_delivery()
        if delivery.delivery_id not in ids:
            pending.append(delivery)
    return pending


def reingest(
    contract: Contract,
    settings: Settings,
    *,
    statuses: tuple[str, ...] = ("held", "rejected"),
    delivery_ids: tuple[str, ...] = (),
    run_id: str | None = None,
) -> IngestReport:
    """Run delivered files again through the contract as it is now (after a contract or standard
    was fixed). Each re-run is a new batch that keeps the original arrival time; the batch it
    replaces becomes ``reprocessed`` and its rows are no longer served."""
    import hashlib

    con = lake.connect(settings, read_only=True)
    try:
        sql = (
            f"select delivery_id, source_file, arrived_at from {batches.TABLE} "
            f"where dataset = ? and status in (select unnest(?::varchar[]))"
        )
        params: list[object] = [f"{contract.department}/{contract.dataset}", list(statuses)]
        if delivery_ids:
            sql += " and delivery_id in (select unnest(?::varchar[]))"
            params.append(list(delivery_ids))
        rows = con.execute(sql + " order by arrived_at, source_file", params).fetchall()
    finally:
        con.close()
    now = datetime.now(CST).isoformat()
    deliveries = []
    for old_id, relpath, arrived_at in rows:
        path = settings.landing / relpath
        if not path.exists():
            log.warning("%s: delivered file is gone; batch %s cannot be re-run", relpath, old_id)
            continue
        stat = path.stat()
        content = hashlib.sha256(path.read_bytes()).hexdigest()
        new_id = hashlib.sha256(f"{old_id}\0{now}".encode()).hexdigest()[:20]
        deliveries.append(
            Delivery(new_id, path, relpath, stat.st_size, arrived_at, stat.st_mtime_ns, content, reprocesses=old_id)
        )
    return ingest(contract, deliveries, settings, run_id=run_id)
