"""The dbt project (models/) bound to a warehouse: its profile comes from the lake module, its
target/ and logs/ live in the warehouse, and its manifest is re-parsed when models change."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

from pipelines import lake
from pipelines.dbt_prestart import dbt_executable
from pipelines.settings import Settings


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


def _sources_digest(models_dir: Path) -> str:
    """A digest of every file of the dbt project (names and contents), outside its target and logs."""
    digest = hashlib.sha256()
    for path in sorted(models_dir.rglob("*")):
        if path.is_file() and not {"target", "logs"} & set(path.relative_to(models_dir).parts):
            digest.update(str(path.relative_to(models_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepare(settings: Settings) -> DbtProject:
    """Profile written; manifest parsed if missing or made from other model files or another
    profile (by content, not by time: a checkout of older files must not keep a stale manifest, and
    a copied warehouse has its own paths in its profile — dbt would otherwise find the seeded
    partial parse made for another profile and parse the whole project again on every run)."""
    profile = write_profile(settings)
    target = settings.dbt_dir / "target"
    manifest = target / "manifest.json"
    stamp = target / "sources.sha256"
    digest = hashlib.sha256((_sources_digest(settings.models_dir) + profile.read_text()).encode()).hexdigest()
    if not manifest.exists() or not stamp.exists() or stamp.read_text() != digest:
        subprocess.run(
            [str(dbt_executable()), "parse", "--quiet"], cwd=settings.models_dir, env=dbt_env(settings), check=True
        )
        stamp.write_text(digest)
    return DbtProject(project_dir=settings.models_dir, target_path=target, profiles_dir=settings.dbt_dir)


# run folders kept in the warehouse's dbt/target/runs (each holds that build's logs, manifest and results)
KEPT_RUN_TARGETS = 10


def run_target_path(settings: Settings, run_id: str) -> Path:
    """A fresh target folder for one dbt invocation, under the warehouse (never the repository's
    models/), seeded with the parse of ``prepare`` so dbt parses only what changed since; the oldest
    run folders beyond ``KEPT_RUN_TARGETS`` are removed."""
    runs = settings.dbt_dir / "target" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for old in sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)[: -KEPT_RUN_TARGETS + 1 or None]:
        shutil.rmtree(old, ignore_errors=True)
    path = runs / f"{run_id[:8]}-{uuid.uuid4().hex[:7]}"
    path.mkdir()
    parsed = settings.dbt_dir / "target" / "partial_parse.msgpack"
    if parsed.exists():
        shutil.copy(parsed, path / parsed.name)
    return path
