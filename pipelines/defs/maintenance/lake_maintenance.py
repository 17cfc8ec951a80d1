"""Lake maintenance as assets in group ``maintenance``, materialised daily by ``lake_maintenance_daily``.

    [maintenance, catalog_backup]   consistent copy of the SQLite catalog (sqlite3 online backup API) into
                                    $ECOLAKE_WAREHOUSE/backups/catalog-<UTC time>.sqlite, verified, newest 14 kept
      → [maintenance, lake_compaction]  ``ducklake_merge_adjacent_files``: small Parquet files of a table merged
      → [maintenance, snapshot_expiry]  ``ducklake_expire_snapshots`` (older than 30 days), then
                                        ``ducklake_cleanup_old_files`` (files scheduled for deletion > 2 days ago)

The backup runs first: it is the restore point taken before anything is removed. Data files that
compaction or expiry replace are only *scheduled* for deletion and removed by a later run once the
delay has passed, so a query (gateway view, dbt) still reading them is not cut short, and, with a
delay longer than the schedule's day, the newest backup never references a removed file (a delay
of 0, as `ecolake maintain --cleanup-older-than-days 0` allows, gives that up). An older backup is
a restore point for the catalog only: its time travel may reach files removed since.

These assets depend on no data asset (a landing sensor's ``downstream()`` selection must not reach
them) and ``ecolake materialize`` leaves the group out: expiry is not idempotent (it removes time
travel) and a backup per run would only churn. Run them on demand with ``ecolake maintain``.

DuckLake functions (extension ``ducklake`` of duckdb 1.5.5; https://ducklake.select/docs/stable/duckdb/maintenance/):
``ducklake_merge_adjacent_files(catalog[, table, schema => …, max_compacted_files, max_file_size, min_file_size])``
→ (schema_name, table_name, files_processed, files_created);
``ducklake_expire_snapshots(catalog, older_than => TIMESTAMPTZ | versions => [..], dry_run)`` → the expired
snapshots (never the newest); ``ducklake_cleanup_old_files(catalog, older_than => TIMESTAMPTZ | cleanup_all
=> true, dry_run)`` → (path) of each removed file.
"""

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from pipelines import lake
from pipelines.defs.partitions import LAKE_WRITER_POOL
from pipelines.settings import Settings, get_settings

GROUP = "maintenance"
OWNERS = ["team:data-platform"]
BACKUP_KEY = dg.AssetKey([GROUP, "catalog_backup"])
COMPACTION_KEY = dg.AssetKey([GROUP, "lake_compaction"])
EXPIRY_KEY = dg.AssetKey([GROUP, "snapshot_expiry"])
JOB_NAME = "lake_maintenance"
SCHEDULE_NAME = "lake_maintenance_daily"
BACKUP_GLOB = "catalog-*.sqlite"


class MaintenanceError(RuntimeError):
    """A maintenance step that did not leave the lake or the backup in the expected state."""


# --------------------------------------------------------------------------------------------
# the work, callable without Dagster


def backups_dir(settings: Settings) -> Path:
    return settings.warehouse / "backups"


def _sqlite_uri(path: Path, mode: str) -> str:
    return f"{path.resolve().as_uri()}?mode={mode}"


@dataclass(frozen=True)
class CatalogCopy:
    path: Path
    size_bytes: int
    tables: list[str]
    snapshot_id: int | None


def verify_catalog_copy(path: Path) -> CatalogCopy:
    """Open a catalog copy read-only: SQLite's quick check passes and the DuckLake tables list."""
    try:
        con = sqlite3.connect(_sqlite_uri(path, "ro"), uri=True)
        try:
            check = con.execute("pragma quick_check").fetchone()[0]
            if check != "ok":
                raise MaintenanceError(f"{path}: sqlite quick_check says {check!r}")
            tables = [
                r[0]
                for r in con.execute(
                    "select s.schema_name || '.' || t.table_name from ducklake_table t "
                    "join ducklake_schema s on s.schema_id = t.schema_id "
                    "where t.end_snapshot is null and s.end_snapshot is null order by 1"
                ).fetchall()
            ]
            snapshot_id = con.execute("select max(snapshot_id) from ducklake_snapshot").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise MaintenanceError(f"{path}: not a readable DuckLake catalog ({exc})") from exc
    return CatalogCopy(path, path.stat().st_size, tables, snapshot_id)


@dataclass(frozen=True)
class BackupReport:
    copy: CatalogCopy
    kept: list[Path]
    removed: list[Path]


def backup_catalog(settings: Settings, *, keep: int = 14, now: datetime | None = None) -> BackupReport:
    """Copy the catalog with SQLite's online backup API (a consistent copy at a transaction boundary,
    while writers continue), verify the copy, then keep only the newest ``keep`` backups."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    source = settings.catalog_path
    if not source.exists():
        raise MaintenanceError(f"no catalog at {source}: nothing to back up (run `ecolake materialize` first)")
    folder = backups_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"
    target = folder / f"catalog-{stamp}.sqlite"
    partial = folder / f".{target.name}.part"  # not matched by BACKUP_GLOB until verified
    src = sqlite3.connect(_sqlite_uri(source, "ro"), uri=True, timeout=60)
    dst = sqlite3.connect(partial)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
    try:
        verify_catalog_copy(partial)
    except MaintenanceError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    copy = verify_catalog_copy(target)
    backups = sorted(folder.glob(BACKUP_GLOB))  # names sort by time
    removed = backups[:-keep]
    for old in removed:
        old.unlink(missing_ok=True)
    return BackupReport(copy, backups[-keep:], removed)


def _file_stats(settings: Settings) -> tuple[int, int]:
    """(data files, bytes) of every table at the newest snapshot."""
    con = lake.connect(settings, read_only=True)
    try:
        files, size = con.execute(
            f"select coalesce(sum(file_count), 0), coalesce(sum(file_size_bytes), 0) "
            f"from ducklake_table_info('{lake.LAKE_ALIAS}')"
        ).fetchone()
    finally:
        con.close()
    return int(files), int(size)


def _snapshot_stats(settings: Settings) -> tuple[int, datetime | None]:
    con = lake.connect(settings, read_only=True)
    try:
        count, oldest = con.execute(
            f"select count(*), min(snapshot_time) from ducklake_snapshots('{lake.LAKE_ALIAS}')"
        ).fetchone()
    finally:
        con.close()
    return int(count), oldest


@dataclass(frozen=True)
class CompactionReport:
    tables: list[tuple[str, str, int, int]]  # schema, table, files merged, files written
    files_before: int
    files_after: int
    bytes_after: int

    @property
    def files_merged(self) -> int:
        return sum(t[2] for t in self.tables)

    @property
    def files_written(self) -> int:
        return sum(t[3] for t in self.tables)


def compact(settings: Settings) -> CompactionReport:
    """Merge each table's adjacent small Parquet files (time travel is kept: old snapshots read
    parts of the merged file). The replaced files are scheduled for deletion, not removed."""
    before, _ = _file_stats(settings)

    def work(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int]]:
        rows = con.execute(f"call ducklake_merge_adjacent_files('{lake.LAKE_ALIAS}')").fetchall()
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    tables = lake.write_with_retry(work, settings)
    after, size = _file_stats(settings)
    return CompactionReport(tables, before, after, size)


@dataclass(frozen=True)
class ExpiryReport:
    snapshots_expired: list[int]
    snapshots_before: int
    snapshots_after: int
    oldest_kept: datetime | None
    files_removed: list[str]


def expire_snapshots(
    settings: Settings,
    *,
    older_than_days: float = 30.0,
    cleanup_older_than_days: float = 2.0,
    now: datetime | None = None,
) -> ExpiryReport:
    """Expire snapshots older than ``older_than_days`` (never the newest one), then remove the data
    files that were scheduled for deletion more than ``cleanup_older_than_days`` ago."""
    now = now or datetime.now(UTC)
    expire_before = now - timedelta(days=older_than_days)
    cleanup_before = now - timedelta(days=cleanup_older_than_days)
    before, _ = _snapshot_stats(settings)
    expired = lake.write_with_retry(
        lambda con: [
            int(r[0])
            for r in con.execute(
                f"call ducklake_expire_snapshots('{lake.LAKE_ALIAS}', older_than => ?)", [expire_before]
            ).fetchall()
        ],
        settings,
    )
    removed = lake.write_with_retry(
        lambda con: [
            str(r[0])
            for r in con.execute(
                f"call ducklake_cleanup_old_files('{lake.LAKE_ALIAS}', older_than => ?)", [cleanup_before]
            ).fetchall()
        ],
        settings,
    )
    after, oldest = _snapshot_stats(settings)
    return ExpiryReport(sorted(expired), before, after, oldest, removed)


# --------------------------------------------------------------------------------------------
# Dagster


class CatalogBackupConfig(dg.Config):
    keep: int = Field(default=14, ge=1, description="How many backups to keep (newest first).")


class SnapshotExpiryConfig(dg.Config):
    older_than_days: float = Field(
        default=30.0, ge=0, description="Expire snapshots older than this (time travel reaches back this far)."
    )
    cleanup_older_than_days: float = Field(
        default=2.0,
        ge=0,
        description="Remove data files scheduled for deletion (by expiry or compaction) more than this long ago.",
    )


@dg.asset(
    key=BACKUP_KEY,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"sqlite"},
    description="A verified copy of the DuckLake catalog (SQLite online backup) in "
    "$ECOLAKE_WAREHOUSE/backups/catalog-<UTC time>.sqlite; the newest `keep` (14) are kept.",
)
def catalog_backup(context: dg.AssetExecutionContext, config: CatalogBackupConfig) -> dg.MaterializeResult:
    report = backup_catalog(get_settings(), keep=config.keep)
    context.log.info(
        f"catalog backup {report.copy.path} ({report.copy.size_bytes} bytes, {len(report.copy.tables)} tables, "
        f"snapshot {report.copy.snapshot_id}); {len(report.removed)} older backups removed"
    )
    return dg.MaterializeResult(
        metadata={
            "backup_path": dg.MetadataValue.path(str(report.copy.path)),
            "backup_size_bytes": report.copy.size_bytes,
            "tables": len(report.copy.tables),
            "snapshot_id": report.copy.snapshot_id if report.copy.snapshot_id is not None else -1,
            "backups_kept": len(report.kept),
            "backups_removed": len(report.removed),
        }
    )


@dg.asset(
    key=COMPACTION_KEY,
    deps=[BACKUP_KEY],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"duckdb"},
    pool=LAKE_WRITER_POOL,
    description="ducklake_merge_adjacent_files over the whole lake: small Parquet files of each table merged; "
    "time travel kept, replaced files scheduled for deletion.",
)
def lake_compaction(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    report = compact(get_settings())
    context.log.info(
        f"compaction: {report.files_merged} files merged into {report.files_written} "
        f"({len(report.tables)} tables); data files {report.files_before} → {report.files_after}"
    )
    return dg.MaterializeResult(
        metadata={
            "files_merged": report.files_merged,
            "files_written": report.files_written,
            "tables_compacted": len(report.tables),
            "data_files_before": report.files_before,
            "data_files_after": report.files_after,
            "data_bytes_after": report.bytes_after,
            "by_table": dg.MetadataValue.json({f"{s}.{t}": [m, w] for s, t, m, w in report.tables}),
        }
    )


@dg.asset(
    key=EXPIRY_KEY,
    deps=[COMPACTION_KEY],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"duckdb"},
    pool=LAKE_WRITER_POOL,
    description="ducklake_expire_snapshots (older than 30 days) then ducklake_cleanup_old_files (files "
    "scheduled for deletion more than 2 days ago).",
)
def snapshot_expiry(context: dg.AssetExecutionContext, config: SnapshotExpiryConfig) -> dg.MaterializeResult:
    report = expire_snapshots(
        get_settings(), older_than_days=config.older_than_days, cleanup_older_than_days=config.cleanup_older_than_days
    )
    context.log.info(
        f"expiry: {len(report.snapshots_expired)} snapshots expired ({report.snapshots_before} → "
        f"{report.snapshots_after}), {len(report.files_removed)} data files removed"
    )
    return dg.MaterializeResult(
        metadata={
            "snapshots_expired": len(report.snapshots_expired),
            "snapshots_before": report.snapshots_before,
            "snapshots_after": report.snapshots_after,
            "oldest_snapshot_kept": str(report.oldest_kept),
            "files_removed": len(report.files_removed),
            "older_than_days": config.older_than_days,
            "cleanup_older_than_days": config.cleanup_older_than_days,
        }
    )


maintenance_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.groups(GROUP),
    description="Catalog backup, compaction, snapshot expiry and file cleanup (`ecolake maintain`).",
)

maintenance_schedule = dg.ScheduleDefinition(
    name=SCHEDULE_NAME,
    job=maintenance_job,
    cron_schedule="0 3 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    should_execute=lambda context: get_settings().catalog_path.exists(),  # nothing to maintain before a first build
    description="Daily at 03:00 CST: back up the catalog, compact, expire old snapshots, remove old files.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[catalog_backup, lake_compaction, snapshot_expiry],
        jobs=[maintenance_job],
        schedules=[maintenance_schedule],
    )
