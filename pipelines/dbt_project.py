"""The dbt project (models/) bound to a warehouse: its profile comes from the lake module, its
target/ and logs/ live in the warehouse, and its manifest is re-parsed when models change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

from pipelines import lake
from pipelines.settings import Settings


def dbt_executable() -> Path:
    return Path(sys.executable).with_name("dbt")


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str(settings.dbt_dir)
    env["DBT_LOG_PATH"] = str(settings.dbt_dir / "logs")
    env["DBT_TARGET_PATH"] = str(settings.dbt_dir / "target")
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["PATH"] = f"{dbt_executable().parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def write_profile(settings: Settings) -> Path:
    settings.ensure_dirs()
    path = settings.dbt_dir / "profiles.yml"
    text = yaml.safe_dump(lake.dbt_profile(settings), sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _newest_source_mtime(models_dir: Path) -> float:
    files = [p for p in models_dir.rglob("*") if p.is_file() and "target" not in p.parts and "logs" not in p.parts]
    return max((p.stat().st_mtime for p in files), default=0.0)


def prepare(settings: Settings) -> DbtProject:
    """Profile written, manifest parsed if missing or older than any model file."""
    write_profile(settings)
    target = settings.dbt_dir / "target"
    manifest = target / "manifest.json"
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(settings.models_dir):
        subprocess.run(
            [str(dbt_executable()), "parse", "--quiet"], cwd=settings.models_dir, env=dbt_env(settings), check=True
        )
    return DbtProject(project_dir=settings.models_dir, target_path=target, profiles_dir=settings.dbt_dir)
