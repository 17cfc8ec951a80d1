"""Where things are. Decided here, once, from the environment — read when asked, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    standards_dir: Path
    contracts_dir: Path
    models_dir: Path

    @property
    def landing(self) -> Path:
        return self.warehouse / "landing"

    @property
    def lake_data(self) -> Path:
        return self.warehouse / "lake"

    @property
    def catalog_path(self) -> Path:
        return self.warehouse / "catalog.sqlite"

    @property
    def dagster_home(self) -> Path:
        return self.warehouse / "dagster"

    @property
    def dbt_dir(self) -> Path:
        return self.warehouse / "dbt"

    @property
    def extension_dir(self) -> Path:
        return self.warehouse / "duckdb_extensions"

    def ensure_dirs(self) -> None:
        for d in (self.landing, self.lake_data, self.dagster_home, self.dbt_dir, self.extension_dir):
            d.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    """Settings from the environment.

    ECOLAKE_WAREHOUSE   root of landing/, lake/, catalog.sqlite, dagster/ (default: warehouse/)
    ECOLAKE_STANDARDS   the standards folder (default: the repo's standards/)
    ECOLAKE_CONTRACTS   the contracts folder (default: the repo's contracts/)
    """
    warehouse = Path(os.environ.get("ECOLAKE_WAREHOUSE") or REPO_ROOT / "warehouse")
    return Settings(
        warehouse=warehouse.resolve(),
        standards_dir=Path(os.environ.get("ECOLAKE_STANDARDS") or REPO_ROOT / "standards").resolve(),
        contracts_dir=Path(os.environ.get("ECOLAKE_CONTRACTS") or REPO_ROOT / "contracts").resolve(),
        models_dir=REPO_ROOT / "models",
    )
