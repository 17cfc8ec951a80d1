"""The dbt project as assets: staging, intermediate, core and theme models; dbt tests as checks."""

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliInvocation, DbtCliResource, dbt_assets
from dbt.version import __version__ as DBT_VERSION
from packaging import version
from pydantic import PrivateAttr

from pipelines.dbt_prestart import Prestarted, launcher_script
from pipelines.dbt_prestart import start as prestart_dbt
from pipelines.dbt_project import dbt_env, dbt_executable, prepare, run_target_path
from pipelines.defs.partitions import LAKE_WRITER_POOL
from pipelines.settings import get_settings

# a run tagged so builds the incremental models from nothing (`ecolake materialize --full-refresh`)
FULL_REFRESH_TAG = "ecolake/full_refresh"


class EcolakeDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two costs it pays on every dbt invocation (about 4 s of a
    micro-batch's run, measured with cProfile on `ecolake materialize --pending`):

    - ``dbt --version`` in a subprocess (2 s) to learn the version of dbt: the executable runs the
      dbt-core installed in this environment, so its version is that package's;
    - an in-process dbt adapter with the project's macros (2.4 s), which dagster-dbt builds only
      for ``fetch_row_counts`` / ``fetch_column_metadata``; ecolake uses neither.

    It also starts its dbt process when the run starts (``pipelines.dbt_prestart``), so that dbt's
    1.5 s of start-up overlap the ingest steps; ``dbt_executable`` is then ``ecolake-dbt``, which hands
    the command to that process.
    """

    _prestarted: Prestarted | None = PrivateAttr(default=None)

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(DBT_VERSION)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        if Path(self.dbt_executable) == launcher_script():
            self._prestarted = prestart_dbt()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._prestarted is not None:
            self._prestarted.stop()
            self._prestarted = None
        super().teardown_after_execution(context)

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        if self._prestarted is None:
            return super().cli(args, **kwargs)
        with self._prestarted.environ():
            return super().cli(args, **kwargs)


class EcolakeTranslator(DagsterDbtTranslator):
    """Models keyed by their table, ``[<schema>, <alias>]`` (air/station_hourly…; the alias is the
    model's name unless two themes serve tables of one name); groups from the dbt fqn layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        # a served table whose [schema, table] is also a raw dataset's key (a theme named like its
        # department: agriculture.rural_sewage_villages) states its own key in meta.dagster.asset_key
        meta = dbt_resource_props.get("config", {}).get("meta") or dbt_resource_props.get("meta") or {}
        if explicit := meta.get("dagster", {}).get("asset_key"):
            return dg.AssetKey(explicit)
        table = dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([dbt_resource_props["schema"], table])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        # fqn: [project, layer, (theme|department), …, name]
        if len(fqn) >= 4 and fqn[1] == "themes":
            return fqn[2]
        return fqn[1] if len(fqn) >= 3 else None


@dg.definitions
def defs() -> dg.Definitions:
    settings = get_settings()
    project = prepare(settings)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=EcolakeTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        pool=LAKE_WRITER_POOL,
        name="dbt_models",
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        args = ["build", "--full-refresh"] if context.run.tags.get(FULL_REFRESH_TAG) == "true" else ["build"]
        yield from dbt.cli(args, context=context, target_path=run_target_path(settings, context.run.run_id)).stream()

    return dg.Definitions(
        assets=[dbt_models],
        resources={
            "dbt": EcolakeDbtCliResource(
                project_dir=project,
                profiles_dir=str(settings.dbt_dir),
                dbt_executable=str(launcher_script() if launcher_script().exists() else dbt_executable()),
            )
        },
    )


__all__ = ["defs", "dbt_env"]
