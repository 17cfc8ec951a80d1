"""Great Expectations runs: the contract's suite on a batch (pandas datasource; GE's SQL datasource
does not work on DuckDB), in a worker process of their own.

Importing GE takes about 2.5 s (scipy, sqlalchemy, pandas, altair) and its validation is Python
that holds the GIL. In a worker process, the import happens on the other core while the run gets
going (``start_worker``), and validation runs beside the ingest's quarantine split and lake write
instead of competing with them for the interpreter. An ingest of one new day waited 1.6 s for GE
in a thread of its own process (cProfile of ``ecolake materialize --pending``)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection

import polars as pl

from pipelines.contracts import Contract, ge_suite


class GEWorkerError(RuntimeError):
    """The worker process ended, or GE failed in it."""


class _NotDelivered(Exception):
    """The worker had died before a batch reached it."""


class _Worker:
    """A spawned daemon process that imports GE, then validates the batches sent to it over a pipe.

    A daemon, so that multiprocessing ends it when this process ends, in the CLI as in a Dagster step
    process (a non-daemon worker kept a step process waiting for it forever). It ends by itself when
    the pipe closes (this process killed), and it ignores Ctrl-C, which this process handles."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), name="ecolake-ge", daemon=True)
        self.process.start()
        child.close()

    def call(self, contract: Contract, frame: pl.DataFrame) -> tuple[bool, list[str]]:
        try:
            self._conn.send((contract, frame))
        except OSError as exc:
            raise _NotDelivered from exc
        try:
            ok, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            self.process.join(timeout=1)
            raise GEWorkerError(
                f"{contract.table_name}: the Great Expectations worker process ended (exit code "
                f"{self.process.exitcode}) before it returned the verdict"
            ) from exc
        if not ok:
            raise GEWorkerError(f"{contract.table_name}: Great Expectations failed in its worker process:\n{value}")
        return value


def _serve(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _import_ge()
    from tqdm import tqdm

    # GE's progress bars (off) would take tqdm's default lock, a multiprocessing semaphore that
    # outlives this process when it is ended; a thread lock is all they need here
    tqdm.set_lock(threading.RLock())
    while True:
        try:
            contract, frame = conn.recv()
        except (EOFError, OSError):  # the parent has gone
            os._exit(0)
        try:
            reply = (True, validate_frame(contract, frame))
        except Exception:  # noqa: BLE001 - sent back whole, raised in the parent
            reply = (False, traceback.format_exc())
        conn.send(reply)


_worker: _Worker | None = None
_worker_lock = threading.Lock()
# the checks wait for their verdicts on this thread, one at a time, while the ingest goes on
_calls = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecolake-ge")


def _running_worker(dead: _Worker | None = None) -> _Worker:
    """The worker, started if there is none, or if it (or ``dead``, known to have died) has ended."""
    global _worker
    with _worker_lock:
        if _worker is None or _worker is dead or not _worker.process.is_alive():
            _worker = _Worker()
        return _worker


def start_worker() -> None:
    """Start the GE worker process now if it is not running, so that its imports overlap whatever
    this process does until the first batch is checked."""
    _running_worker()


def _check(contract: Contract, frame: pl.DataFrame) -> tuple[bool, list[str]]:
    worker = _running_worker()
    try:
        return worker.call(contract, frame)
    except _NotDelivered:  # it had died before the batch reached it (killed between two batches)
        return _running_worker(dead=worker).call(contract, frame)


def validate_in_worker(contract: Contract, frame: pl.DataFrame) -> Future[tuple[bool, list[str]]]:
    """``validate_frame`` in the worker process; its future. A worker that died before the batch
    reached it is replaced; one that dies during the check makes the future raise ``GEWorkerError``."""
    start_worker()
    return _calls.submit(_check, contract, frame)


def _import_ge():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # before the import, which reads it
    import great_expectations

    return great_expectations


def validate_frame(contract: Contract, frame: pl.DataFrame) -> tuple[bool, list[str]]:
    gx = _import_ge()
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
