from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REALDATA, copy_realdata, ecolake


@pytest.fixture(scope="session")
def realdata_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse fed with the real CNEMC files exactly as published, materialised once."""
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} not present")
    warehouse = tmp_path_factory.mktemp("realdata")
    copy_realdata(warehouse, "hourly", "sichuan")
    ecolake(warehouse, "materialize")
    return warehouse
