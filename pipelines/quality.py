"""Great Expectations runs: the contract's suite on a batch (pandas datasource; GE's SQL datasource
does not work on DuckDB), in a worker process of their own.

Importing GE takes about 2.5 s (scipy, sqlalchemy, pandas, altair) and its validation is Python
that holds the GIL. In a worker process, the import happens on the other core while the run gets
going (``start_worker``), and validation runs beside the ingest's quarantine split and lake write
instead of competing with them for the interpreter. An ingest of one new day waited 1.6 s for GE
in a thread of its own process (cProfile of ``ecolake materialize --pending``)."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import polars as pl

from pipelines.contracts import Contract, ge_suite

_worker: ProcessPoolExecutor | None = None
_worker_lock = threading.Lock()


def _import_ge() -> None:
    """The worker's start: GE imported, and its exit without the interpreter's teardown of GE's
    modules (0.6 s that the parent would wait for; the worker holds nothing to flush or close)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401

    atexit.register(os._exit, 0)


def start_worker() -> ProcessPoolExecutor:
    """The GE worker process, started now if it is not running, so that its imports overlap whatever
    this process does until the first batch is checked."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_import_ge
            )
            _worker.submit(int)  # the executor starts its process on the first submission
            # before multiprocessing's own exit handler, which would wait for the idle worker forever
            atexit.register(_worker.shutdown)
        return _worker


def validate_in_worker(contract: Contract, frame: pl.DataFrame) -> Future[tuple[bool, list[str]]]:
    """``validate_frame`` in the worker process; its future."""
    global _worker
    worker = start_worker()
    try:
        return worker.submit(validate_frame, contract, frame)
    except BrokenProcessPool:  # the worker died (killed, out of memory): the check runs on a new one
        with _worker_lock:
            if _worker is worker:
                _worker = None
        return start_worker().submit(validate_frame, contract, frame)


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
