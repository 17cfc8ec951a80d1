from __future__ import annotations

import importlib
import os
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


# the modules whose crafted deliveries share one warehouse (each defines land, and maybe land_mess)
DEPARTMENT_MODULES = (
    "tests.test_aqi_hj633",
    "tests.test_water",
    "tests.test_water_auto",
    "tests.test_climate",
    "tests.test_eco_flow_and_drinking_water",
    "tests.test_outlets_enforcement",
    "tests.test_rural_sewage",
    "tests.test_ecological_redlines",
    "tests.test_wwtp",
    "tests.test_soil",
    "tests.test_fertilizer",
    "tests.test_forestry",
    "tests.test_hj212_pipeline",
)


@pytest.fixture(scope="session")
def departments_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One warehouse for the department modules' crafted deliveries: each module's ``land`` writes
    its good deliveries and one materialize builds everything; then each module's ``land_mess``
    writes deliveries its contract refuses, and a second materialize must fail their checks while
    what is served stays. Their datasets are disjoint, so each module's assertions hold as if it
    were alone; two builds instead of two per module keep the suite well inside CI's limit."""
    warehouse = tmp_path_factory.mktemp("departments")
    # ECOLAKE_TEST_DEPARTMENTS=tests.test_x,tests.test_y builds only those modules' deliveries (local work)
    chosen = os.environ.get("ECOLAKE_TEST_DEPARTMENTS", "")
    names = [n for n in chosen.split(",") if n] or DEPARTMENT_MODULES
    modules = [importlib.import_module(name) for name in names]
    for module in modules:
        module.land(warehouse)
    ecolake(warehouse, "materialize")
    messy = [module for module in modules if hasattr(module, "land_mess")]
    for module in messy:
        module.land_mess(warehouse)
    if messy:
        assert ecolake(warehouse, "materialize", check=False).returncode == 1
    return warehouse


# the session-scoped warehouses: under pytest-xdist (`-n 2 --dist loadfile`), the test files that use
# one run on the same worker, so each is built once
SHARED_WAREHOUSES = ("departments_warehouse", "realdata_warehouse")


def _shared_warehouse_groups(tests_dir: Path) -> dict[str, str]:
    """Test file (as in node ids) -> the shared warehouse its tests use, by the fixture's name in it."""
    groups = {}
    for path in sorted(tests_dir.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for name in SHARED_WAREHOUSES:
            if name in text:
                groups[f"{tests_dir.name}/{path.name}"] = name
                break
    return groups


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadfile`, except that the files sharing a warehouse form one unit. (xdist's own
    `loadgroup` reads marks it can no longer see under pytest 9: the node ids it rewrites are gone.)"""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    groups = _shared_warehouse_groups(Path(__file__).parent)

    class SharedWarehouseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return groups.get(path, path)

    return SharedWarehouseScheduling(config, log)
