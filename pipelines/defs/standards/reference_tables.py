"""The standards tables (standards/standards.yaml) as assets ``[standards, <table>]`` in the lake."""

import dagster as dg

from pipelines import lake, standards
from pipelines.defs.partitions import LAKE_WRITER_POOL
from pipelines.settings import get_settings


def build_standards_asset(tables: list[standards.StandardTable]) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey(["standards", t.name]),
            description=f"{t.title_zh} — {t.description} Source: {t.source}",
            group_name="standards",
            owners=["team:data-platform"],
            kinds={"csv", "duckdb"},
            code_version=standards.file_digest(t.file),
            metadata={"file": dg.MetadataValue.path(str(t.file)), "source": t.source},
        )
        for t in tables
    ]

    @dg.multi_asset(name="standards_tables", specs=specs, pool=LAKE_WRITER_POOL, can_subset=True)
    def _load(context: dg.AssetExecutionContext):
        settings = get_settings()
        current = {t.name: t for t in standards.load_catalog(settings.standards_dir)}
        selected = [current[k.path[-1]] for k in context.selected_asset_keys if k.path[-1] in current]
        counts = lake.write_with_retry(lambda con: {t.name: standards.load_table(con, t) for t in selected}, settings)
        for name, rows in counts.items():
            yield dg.MaterializeResult(asset_key=dg.AssetKey(["standards", name]), metadata={"rows": rows})

    return _load


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_standards_asset(standards.load_catalog(get_settings().standards_dir))])
