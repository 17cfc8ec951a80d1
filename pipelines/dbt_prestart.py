"""dbt, started before it is needed.

A dbt command spends about 1.5 s starting: the interpreter and the imports of dbt-core and the
DuckDB adapter, measured between dagster-dbt's launch and dbt's first log line. In a micro-batch run
that is a tenth of the run, spent while the run's own process waits. So when a run starts, the dbt
resource starts one dbt process (``start``) that does its imports on the other core while the
ingest steps run, then waits. dagster-dbt launches ``ecolake-dbt`` (``launch``) in place of ``dbt``:
it hands its arguments, environment, working directory and standard streams to that waiting process
over a Unix socket, forwards interrupts to it and exits with its status. Without a waiting process
(none was started, or it served its one command already) ``ecolake-dbt`` simply becomes ``dbt``.

    python -u -P -m pipelines.dbt_prestart SOCKET PARENT_PID    # the waiting process (``start``)
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
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

# the environment variable through which ``ecolake-dbt`` finds the waiting process's socket
SOCKET_ENV = "ECOLAKE_DBT_PRESTARTED"
_HEADER = struct.Struct("!I")


def dbt_executable() -> Path:
    """The script of the dbt-core installed next to this interpreter. Defined here, where the launcher
    finds it without importing dagster-dbt (``pipelines.dbt_project`` does, 2 s)."""
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
        # -P: nothing from the working directory on its path
        [sys.executable, "-u", "-P", "-m", "pipelines.dbt_prestart", str(path), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # until it takes the caller's streams
        start_new_session=True,  # the terminal's Ctrl-C reaches the launcher, which forwards it
    )
    return Prestarted(process, path)


class _Channel:
    """Length-prefixed JSON messages over a stream socket; bytes past one message wait for the next."""

    def __init__(self, sock: socket.socket, received: bytes = b"") -> None:
        self.sock = sock
        self._buffer = bytearray(received)

    def send(self, payload: dict, fds: list[int] | None = None) -> None:
        data = json.dumps(payload).encode()
        message = _HEADER.pack(len(data)) + data
        if fds:
            sent = socket.send_fds(self.sock, [message], fds)
            message = message[sent:]
        self.sock.sendall(message)

    def receive(self) -> dict | None:
        """The next message; None when the peer closed first."""
        while len(self._buffer) < _HEADER.size or len(self._buffer) < _HEADER.size + self._size():
            more = self.sock.recv(65536)
            if not more:
                return None
            self._buffer += more
        end = _HEADER.size + self._size()
        message = json.loads(self._buffer[_HEADER.size : end])
        del self._buffer[:end]
        return message

    def _size(self) -> int:
        return _HEADER.unpack_from(self._buffer)[0]


def serve(path: Path, parent: int) -> None:
    """The waiting process: listens first (a caller that comes early waits for the imports), imports,
    then runs one command on the caller's streams; exits when ``parent`` has gone without sending one."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    import dbt.adapters.duckdb  # noqa: F401 - the adapter's imports (duckdb) as well
    import dbt.cli.main

    listener.settimeout(1.0)
    while True:
        if os.getppid() != parent:  # the run's process has gone (also while this one imported)
            os._exit(0)
        try:
            conn, _ = listener.accept()
            break
        except TimeoutError:
            continue
    listener.close()
    path.unlink(missing_ok=True)  # one command only: a second ``ecolake-dbt`` runs dbt itself

    conn.settimeout(None)
    first, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    channel = _Channel(conn, first)
    request = channel.receive()
    if request is None or len(fds) != 3:
        os._exit(2)
    for fd, target in zip(fds, (0, 1, 2), strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # recorded in the run's artifacts (run_results.json metadata.env): this dbt was prestarted
    os.environ["DBT_ENV_CUSTOM_ENV_ECOLAKE_DBT_PRESTARTED"] = "true"
    sys.argv = request["argv"]
    channel.send({"pid": os.getpid()})
    try:
        dbt.cli.main.cli()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the caller's stderr, as dbt itself would
        traceback.print_exc()
        code = 1
    logging.shutdown()  # dbt's log file flushed and closed
    sys.stdout.flush()
    sys.stderr.flush()
    channel.send({"exit": code})
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
        _exec_dbt()

    # an interrupt before the waiting process has said who it is is kept, and forwarded then
    server: list[int] = []
    early: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not server:
            early.append(signum)
            return
        try:
            os.kill(server[0], signum)
        except ProcessLookupError:  # it has just ended; its status follows
            pass

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    channel = _Channel(sock)
    channel.send({"argv": ["dbt", *sys.argv[1:]], "env": dict(os.environ), "cwd": os.getcwd()}, [0, 1, 2])
    hello = channel.receive()
    if hello is None:  # it ended before taking the command (its imports failed): dbt itself
        print("ecolake-dbt: the prestarted dbt process ended early; running dbt", file=sys.stderr)
        _exec_dbt()
    server.append(hello["pid"])
    for signum in early:
        forward(signum, None)
    status = channel.receive()
    if status is None:
        sys.exit("ecolake-dbt: the prestarted dbt process ended without an exit status")
    sys.exit(status["exit"])


def _exec_dbt() -> NoReturn:
    dbt = dbt_executable()
    os.execv(dbt, [str(dbt), *sys.argv[1:]])


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
