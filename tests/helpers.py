"""Test helpers: scratch warehouses, running the real CLI, writing CNEMC-format files."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata" / "cnemc"
HOURLY_DATASET = Path("env_monitoring") / "air_station_hourly"

CNEMC_HEADER = [
    "timepoint",
    "stationcode",
    "longitude",
    "latitude",
    "area",
    "positionname",
    "primarypollutant",
    "aqi",
    "pm10",
    "pm10_24h",
    "pm2_5",
    "pm2_5_24h",
    "o3",
    "o3_24h",
    "o3_8h",
    "o3_8h_24h",
    "no2",
    "no2_24h",
    "so2",
    "so2_24h",
    "co",
    "co_24h",
]


def env_for(warehouse: Path, standards: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["ECOLAKE_WAREHOUSE"] = str(warehouse)
    env.pop("ECOLAKE_STANDARDS", None)
    if standards is not None:
        env["ECOLAKE_STANDARDS"] = str(standards)
    return env


def ecolake(
    warehouse: Path, *args: str, standards: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run the real `ecolake` CLI against a warehouse, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=REPO,
        env=env_for(warehouse, standards),
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"ecolake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def landing_dir(warehouse: Path, dataset: Path = HOURLY_DATASET) -> Path:
    path = warehouse / "landing" / dataset
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_realdata(warehouse: Path, *folders: str) -> None:
    for folder in folders:
        shutil.copytree(REALDATA / folder, landing_dir(warehouse) / folder)


def write_cnemc(path: Path, rows: list[dict], header: list[str] = CNEMC_HEADER) -> Path:
    """A file in the CNEMC hourly format; missing keys are blank."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in header})
    return path


def station_row(timepoint: str, code: str, *, area: str = "成都市", name: str | None = None, **values) -> dict:
    """One station-hour; keyword values use the served names (o3 = 1-hour O3) and are put into
    CNEMC's swapped columns (o3_24h holds the 1-hour O3)."""
    row = {
        "timepoint": timepoint,
        "stationcode": code,
        "longitude": 104.0,
        "latitude": 30.6,
        "area": area,
        "positionname": name or f"测试点{code}",
    }
    columns = {
        "pm2_5": "pm2_5",
        "pm10": "pm10",
        "so2": "so2",
        "no2": "no2",
        "co": "co",
        "o3": "o3_24h",
        "so2_24h": "so2_24h",
        "pm2_5_24h": "pm2_5_24h",
        "o3_8h": "o3_8h_24h",
    }
    for key, value in values.items():
        row[columns[key]] = value
    return row


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(warehouse: Path):
    """Settings of a scratch warehouse with the repo's standards, contracts and models."""
    from pipelines.settings import Settings

    return Settings(
        warehouse=warehouse,
        standards_dir=REPO / "standards",
        contracts_dir=REPO / "contracts",
        models_dir=REPO / "models",
    )


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read the lake of a scratch warehouse through the lake module, read-only."""
    from pipelines import lake

    con = lake.connect(settings_for(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.Error as exc:
        raise AssertionError(f"{sql}: {exc}") from exc
    finally:
        con.close()


def ingest_landed(warehouse: Path, contract_path: Path):
    """Ingest what lies in the warehouse's landing folder for one contract, straight through the
    contract engine (no Dagster, no models); the engine's report."""
    from pipelines.contracts import load_contract
    from pipelines.ingest.deliveries import discover
    from pipelines.ingest.engine import ingest

    contract = load_contract(contract_path)
    settings = settings_for(warehouse)
    return ingest(contract, discover(settings.landing, contract.department, contract.dataset), settings)


# The three public HJ 212 test vectors (../shared/reference/STANDARDS.md, HJ 212 section), verbatim,
# with the CRC each one carries: one copy for every HJ 212 test
VECTOR_2017 = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&RtdInterval=30&&1C80\r\n"
)
VECTOR_2005 = (
    b"##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;"
    b"011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980\r\n"
)
VECTOR_EMPTY_CP = (
    b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n"
)
HJ212_VECTORS = [(VECTOR_2017, 0x1C80), (VECTOR_2005, 0x4980), (VECTOR_EMPTY_CP, 0x2200)]


def crc_reference(data: bytes, modbus: bool = False) -> int:
    """HJ 212's CRC by the standard's bit-by-bit loop (reference/STANDARDS.md), or CRC-16/MODBUS,
    which xors the byte in instead: written here apart from the code under test."""
    reg = 0xFFFF
    for byte in data:
        reg = reg ^ byte if modbus else (reg >> 8) ^ byte
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
    return reg


def process_running(pid: int) -> bool:
    """Running: not gone and not a zombie (a killed or exited process may be one for a moment)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def wait_until_ended(pid: int, seconds: float, what: str = "the process") -> None:
    deadline = time.monotonic() + seconds
    while process_running(pid):
        assert time.monotonic() < deadline, f"{what} ({pid}) is still running after {seconds} s"
        time.sleep(0.2)
