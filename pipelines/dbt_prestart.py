"""dbt, started before it is needed.

A dbt command spends about 1.5 s starting: the interpreter and the imports of dbt-core and the
DuckDB adapter, measured between dagster-dbt's launch and dbt's first log line. In a micro-batch run
that is a tenth of the run, spent while the run's own process waits. So when a run starts, the dbt
resource starts one dbt process (``start``) that does its imports on the other core while the
ingest steps run, then waits. dagster-dbt launches ``ecolake-dbt`` (``launch``) in place of ``dbt``:
it hands its arguments, environment, working directory and standard streams to that waiting process
over a Unix socket, forwards interrupts to it and exits with its status. Without a waiting process
(none was started, or it served its one command already) ``ecolake-dbt`` simply becomes ``dbt``.

    python -u -m pipelines.dbt_prestart SOCKET    # the waiting process (started by ``start``)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# the environment variable through which ``ecolake-dbt`` finds the waiting process's socket
SOCKET_ENV = "ECOLAKE_DBT_PRESTARTED"
_HEADER = struct.Struct("!I")


def dbt_script() -> Path:
    return Path(sys.executable).with_name("dbt")


def launcher_script() -> Path:
    """``ecolake-dbt``, installed with the package next to this interpreter."""
    return Path(sys.executable).with_name("ecolake-dbt")


@dataclass
class Prestarted:
    """A started dbt process waiting on its socket."""

    process: subprocess.Popen
    socket_path: Path

    @contextmanager
    def environ(self) -> Iterator[None]:
        """While inside: this process's environment (which dagster-dbt hands to the command it launches)
        names the socket."""
        previous = os.environ.get(SOCKET_ENV)
        os.environ[SOCKET_ENV] = str(self.socket_path)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(SOCKET_ENV, None)
            else:
                os.environ[SOCKET_ENV] = previous

    def stop(self) -> None:
        """End the process if it never served a command (a run that failed before its dbt step)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.socket_path.parent, ignore_errors=True)


def start() -> Prestarted | None:
    """Start a dbt process that waits for its command; None where ``ecolake-dbt`` is not installed
    (an environment installed before it existed: dbt then starts when it is needed, as usual)."""
    if not launcher_script().exists():
        return None
    folder = Path(tempfile.mkdtemp(prefix="ecolake-dbt-"))  # private (0700), and short for a socket path
    path = folder / "socket"
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pipelines.dbt_prestart", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None,
        start_new_session=True,  # an interrupt of the run reaches dbt through the launcher, once
    )
    return Prestarted(process, path)


def _send(sock: socket.socket, payload: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(payload).encode()
    message = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [message], fds)
    else:
        sock.sendall(message)


def _receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One message (and the descriptors that came with it); None when the peer closed first."""
    chunk, fds = b"", []
    if max_fds:
        chunk, fds, _, _ = socket.recv_fds(sock, 65536, max_fds)
    buffer = bytearray(chunk)
    while len(buffer) < _HEADER.size or len(buffer) < _HEADER.size + _HEADER.unpack_from(buffer)[0]:
        more = sock.recv(65536)
        if not more:
            return None, fds
        buffer += more
    (size,) = _HEADER.unpack_from(buffer)
    return json.loads(buffer[_HEADER.size : _HEADER.size + size]), fds


def serve(path: Path) -> None:
    """The waiting process: imports, then one command on the caller's streams; exits when the
    process that started it has gone without sending one."""
    import dbt.adapters.duckdb  # noqa: F401 - the adapter's imports (duckdb) as well
    import dbt.cli.main

    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    listener.settimeout(1.0)
    while True:
        try:
            conn, _ = listener.accept()
            break
        except TimeoutError:
            if os.getppid() != parent:
                os._exit(0)
    listener.close()
    path.unlink(missing_ok=True)  # one command only: a second ``ecolake-dbt`` runs dbt itself

    conn.settimeout(None)
    request, fds = _receive(conn, max_fds=3)
    if request is None or len(fds) != 3:
        os._exit(2)
    for fd, target in zip(fds, (0, 1, 2), strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    _send(conn, {"pid": os.getpid()})
    try:
        dbt.cli.main.cli()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - reported on the caller's stderr, as dbt itself would
        print(f"dbt failed: {exc!r}", file=sys.stderr)
        code = 1
    logging.shutdown()  # dbt's log file flushed and closed
    sys.stdout.flush()
    sys.stderr.flush()
    _send(conn, {"exit": code})
    # the streams are the caller's pipes: closed on exit, without the interpreter's teardown of dbt
    os._exit(code)


def launch() -> None:
    """``ecolake-dbt``: the command on the waiting dbt process when there is one, else dbt itself."""
    path = os.environ.pop(SOCKET_ENV, None)
    sock = None
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:  # gone, or already serving another command
            sock.close()
            sock = None
    if sock is None:
        dbt = dbt_script()
        os.execv(dbt, [str(dbt), *sys.argv[1:]])

    _send(sock, {"argv": ["dbt", *sys.argv[1:]], "env": dict(os.environ), "cwd": os.getcwd()}, [0, 1, 2])
    hello, _ = _receive(sock)
    if hello is None:
        sys.exit("ecolake-dbt: the prestarted dbt process ended before it took the command")
    pid = hello["pid"]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: os.kill(pid, received))
    status, _ = _receive(sock)
    if status is None:
        sys.exit("ecolake-dbt: the prestarted dbt process ended without an exit status")
    sys.exit(status["exit"])


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
