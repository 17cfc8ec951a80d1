"""Great Expectations runs: the contract's suite on a batch (pandas datasource; GE's SQL datasource
does not work on DuckDB)."""

from __future__ import annotations

import os

import polars as pl

from pipelines.contracts import Contract, ge_suite


def validate_frame(contract: Contract, frame: pl.DataFrame) -> tuple[bool, list[str]]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(f"{contract.table_name}_source")
    asset = source.add_dataframe_asset(contract.table_name)
    definition = asset.add_batch_definition_whole_dataframe("run")
    batch = definition.get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    suite = ge_suite(contract)
    # the verdict alone is twice as fast; the per-expectation shares are computed only on failure
    result = batch.validate(suite, result_format="BOOLEAN_ONLY")
    if result.success:
        return True, []
    result = batch.validate(suite, result_format="SUMMARY")
    failures = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            pct = (r.result or {}).get("unexpected_percent")
            share = f"{pct:.2f}% of rows" if isinstance(pct, float) else "failed"
            failures.append(f"{contract.table_name}: {cfg.type} on {cfg.kwargs.get('column', '')}: {share}")
    return bool(result.success), failures
