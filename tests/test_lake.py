"""The lake module: extensions from the wheels, and readers in another process while one writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pipelines import lake
from tests.helpers import REPO, env_for, settings_for


def test_extensions_load_from_the_wheels_and_nothing_is_downloaded(tmp_path: Path) -> None:
    con = lake.connect(settings_for(tmp_path))
    loaded = dict(con.execute("select extension_name, install_path from duckdb_extensions() where loaded").fetchall())
    assert "ducklake" in loaded and "sqlite_scanner" in loaded
    assert con.execute("select current_setting('autoinstall_known_extensions')").fetchone()[0] is False
    assert not list((tmp_path / "duckdb_extensions").rglob("*.duckdb_extension"))


def test_no_connection_draws_a_progress_bar(tmp_path: Path) -> None:
    # DuckDB draws its bar on stdout once a query passes 2 s when it takes the process for an
    # interactive one, as it does `python -c` (no __main__.__file__): the bar then lands in whatever
    # reads that stdout, like the child's printed result that the next test parses
    checks = textwrap.dedent("""
        from pipelines import lake
        from serving.served import ServedLake
        connections = {
            "shared cursor": lake.connect(),  # creates the lake
            "read-only shared cursor": lake.connect(read_only=True),
            "own instance": lake.connect(shared=False),
            "scratch": lake.scratch(),
            "gateway session": ServedLake(lake.get_settings()).connect()[0],
        }
        for name, con in connections.items():
            print(name, con.execute("select current_setting('enable_progress_bar')").fetchone()[0])
    """)
    done = subprocess.run(
        [sys.executable, "-c", checks], cwd=REPO, env=env_for(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    settings = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines())
    assert settings == dict.fromkeys(
        ["shared cursor", "read-only shared cursor", "own instance", "scratch", "gateway session"], "False"
    )


def test_another_process_reads_while_a_writer_commits(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    lake.write_with_retry(
        lambda con: con.execute(
            "create schema if not exists raw; create table raw.t as select range as i from range(1000)"
        ),
        settings,
    )
    reader = textwrap.dedent("""
        from pipelines import lake
        counts = set()
        for _ in range(40):
            con = lake.connect(read_only=True)
            counts.add(con.execute("select count(*) from raw.t").fetchone()[0])
            con.close()
        print(sorted(counts))
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", reader],
        cwd=REPO,
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(10):  # the writer keeps committing while the reader reads
        lake.write_with_retry(lambda con: con.execute("insert into raw.t select range from range(100)"), settings)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    counts = eval(out.strip())  # noqa: S307 - our own child's printed list of ints
    assert all(1000 <= c <= 2000 and c % 100 == 0 for c in counts)
