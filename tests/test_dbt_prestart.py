"""pipelines/dbt_prestart.py: ``ecolake-dbt`` hands its command to a dbt process started before it
was needed (its streams, environment, working directory and exit status), once; without one, it is
dbt itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import dbt_prestart
from tests.helpers import wait_until_ended

pytestmark = pytest.mark.skipif(
    not dbt_prestart.launcher_script().exists(), reason="ecolake-dbt is installed by `pip install -e .`"
)


def _launch(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(dbt_prestart.launcher_script()), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _wait_for_socket(prestarted: dbt_prestart.Prestarted) -> None:
    deadline = time.monotonic() + 60
    while not prestarted.socket_path.exists():
        assert prestarted.process.poll() is None, "the prestarted dbt process ended while starting"
        assert time.monotonic() < deadline, "the prestarted dbt process never listened"
        time.sleep(0.05)


def test_without_a_prestarted_process_it_is_dbt(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != dbt_prestart.SOCKET_ENV}
    proc = _launch("--version", cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "Core:" in proc.stdout, proc.stdout + proc.stderr


def test_the_prestarted_process_runs_one_command_with_the_callers_streams_cwd_env_and_status(
    tmp_path: Path,
) -> None:
    prestarted = dbt_prestart.start()
    assert prestarted is not None
    try:
        _wait_for_socket(prestarted)
        profiles = tmp_path / "profiles_from_the_environment"
        env = {**os.environ, dbt_prestart.SOCKET_ENV: str(prestarted.socket_path), "DBT_PROFILES_DIR": str(profiles)}
        proc = _launch("debug", "--config-dir", cwd=tmp_path, env=env)
        assert prestarted.process.wait(timeout=60) == proc.returncode == 0, proc.stdout + proc.stderr
        # on the caller's stdout, from the caller's environment
        assert str(profiles) in proc.stdout, proc.stdout
        assert not prestarted.socket_path.exists()

        # served once: the next command starts dbt itself, and a failure's status comes back
        failed = _launch("run", "--project-dir", str(tmp_path / "missing"), cwd=tmp_path, env=env)
        assert failed.returncode != 0
        assert "missing" in failed.stdout + failed.stderr
    finally:
        prestarted.stop()
    assert not prestarted.socket_path.parent.exists()


def test_a_failed_command_on_the_prestarted_process_returns_its_status(tmp_path: Path) -> None:
    prestarted = dbt_prestart.start()
    assert prestarted is not None
    try:
        _wait_for_socket(prestarted)
        env = {**os.environ, dbt_prestart.SOCKET_ENV: str(prestarted.socket_path)}
        proc = _launch("run", "--project-dir", str(tmp_path / "missing"), cwd=tmp_path, env=env)
        assert proc.returncode != 0 and "missing" in proc.stdout + proc.stderr
        assert prestarted.process.wait(timeout=60) == proc.returncode
    finally:
        prestarted.stop()


def test_an_unused_prestarted_process_is_stopped(tmp_path: Path) -> None:
    prestarted = dbt_prestart.start()
    assert prestarted is not None
    _wait_for_socket(prestarted)
    prestarted.stop()
    assert prestarted.process.poll() is not None
    assert not prestarted.socket_path.parent.exists()


def test_two_messages_that_arrive_together_are_read_one_after_the_other() -> None:
    left, right = socket.socketpair()
    with left, right:
        sender, receiver = dbt_prestart._Channel(left), dbt_prestart._Channel(right)
        sender.send({"pid": 1})
        sender.send({"exit": 3})
        time.sleep(0.1)  # both are in the socket before the first read
        assert receiver.receive() == {"pid": 1}
        assert receiver.receive() == {"exit": 3}
        left.close()
        assert receiver.receive() is None


def test_the_command_runs_in_the_callers_working_directory(tmp_path: Path) -> None:
    prestarted = dbt_prestart.start()
    assert prestarted is not None
    workdir = tmp_path / "callers_working_directory"
    workdir.mkdir()
    try:
        _wait_for_socket(prestarted)  # otherwise, on a loaded machine, ecolake-dbt runs dbt itself
        env = {**os.environ, dbt_prestart.SOCKET_ENV: str(prestarted.socket_path)}
        # no dbt_project.yml there: dbt names the file it looked for, and fails
        proc = _launch("debug", cwd=workdir, env=env)
        assert prestarted.process.wait(timeout=60) == proc.returncode != 0
        assert str(workdir / "dbt_project.yml") in proc.stdout, proc.stdout
    finally:
        prestarted.stop()


def test_the_waiting_process_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pipelines import dbt_prestart; p = dbt_prestart.start(); "
            "print(p.process.pid, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(starter.stdout.readline())
    starter.kill()  # right away: the waiting process is still importing dbt
    starter.wait()
    wait_until_ended(pid, 60, "the prestarted dbt process, whose starter was killed")
