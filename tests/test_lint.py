"""The code style is part of the suite (ruff, configured in pyproject.toml)."""

import subprocess
import sys

from tests.helpers import REPO


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "pipelines", "tests", "bench"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
