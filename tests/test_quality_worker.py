"""pipelines/quality.py: the Great Expectations worker process gives the verdict GE gives in
process, is replaced when it dies, and never outlives or holds up the process that started it
(the CLI, or a Dagster step process of a run launched by the daemon)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl

from pipelines import quality
from pipelines.contracts import load_contracts
from tests.helpers import REPO, wait_until_ended


def _contract_and_frame():
    contract = next(c for c in load_contracts(REPO / "contracts") if c.dataset == "water_auto_4h")
    # one row with every field missing: the required fields' expectations fail
    frame = pl.DataFrame({f.name: [None] for f in contract.fields}, schema={f.name: pl.String for f in contract.fields})
    return contract, frame


def test_the_worker_gives_the_in_process_verdict_and_a_dead_worker_is_replaced() -> None:
    contract, frame = _contract_and_frame()
    expected = quality.validate_frame(contract, frame)
    assert expected[0] is False and expected[1]
    assert quality.validate_in_worker(contract, frame).result(timeout=120) == expected

    # killed between two batches: the next batch goes to a new worker
    first = quality._worker.process
    os.kill(first.pid, signal.SIGKILL)
    first.join(timeout=30)
    assert quality.validate_in_worker(contract, frame).result(timeout=120) == expected
    assert quality._worker.process.pid != first.pid


def _check_in_a_child(result_path: str) -> None:
    contract, frame = _contract_and_frame()
    ok, _ = quality.validate_in_worker(contract, frame).result(timeout=120)
    Path(result_path).write_text(f"{ok} {quality._worker.process.pid}")


def test_a_process_that_used_the_worker_ends_when_its_work_is_done(tmp_path: Path) -> None:
    """As a Dagster step process does: a multiprocessing child whose ingest used the worker."""
    result = tmp_path / "result"
    child = multiprocessing.get_context("spawn").Process(target=_check_in_a_child, args=(str(result),))
    child.start()
    child.join(timeout=180)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the child process did not end after its work"
    assert child.exitcode == 0
    verdict, worker_pid = result.read_text().split()
    assert verdict == "False"
    wait_until_ended(int(worker_pid), 30)


def test_the_worker_ends_when_the_process_that_started_it_is_killed() -> None:
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "from pipelines import quality\n"
            "if __name__ == '__main__':\n"
            "    quality.start_worker()\n"
            "    print(quality._worker.process.pid, flush=True)\n"
            "    time.sleep(600)\n",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(starter.stdout.readline())
    starter.kill()
    starter.wait()
    wait_until_ended(pid, 60)
