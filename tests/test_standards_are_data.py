"""Standards are data: changing one breakpoint row in a scratch copy of standards/ changes the AQI."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from tests.helpers import REPO, copy_realdata, ecolake, query


def test_changing_one_breakpoint_row_changes_the_aqi(tmp_path: Path, realdata_warehouse: Path) -> None:
    standards = tmp_path / "standards"
    shutil.copytree(REPO / "standards", standards)
    table = standards / "air" / "hj633_iaqi_breakpoints.csv"
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    changed = 0
    for row in rows:  # HJ 633-2012 PM2.5: IAQI 50 at 30 µg/m³ instead of 35
        row_id = (row["standard_code"], row["pollutant_code"], row["averaging_period"])
        if row_id == ("HJ 633-2012", "pm2_5", "24h"):
            if row["bp_hi"] == "35":
                row["bp_hi"] = "30"
                changed += 1
            elif row["bp_lo"] == "35":
                row["bp_lo"] = "30"
                changed += 1
    assert changed == 2
    with table.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    warehouse = tmp_path / "warehouse"
    copy_realdata(warehouse, "sichuan")
    ecolake(warehouse, "materialize", standards=standards)

    sql = (
        "select station_code, observed_at, aqi, pm2_5 from air.station_hourly "
        "where observed_at = timestamp '2022-01-01 12:00'"
    )
    before = {(r[0], r[1]): r[2:] for r in query(realdata_warehouse, sql)}
    after = {(r[0], r[1]): r[2:] for r in query(warehouse, sql)}
    differs = [k for k in after if before[k][0] != after[k][0]]
    print(f"{len(after)} station-hours compared, {len(differs)} AQIs changed by the edited row")
    assert differs
    # only PM2.5 scores changed, and every PM2.5 concentration now scores higher (lower breakpoint)
    for key in differs:
        assert after[key][1] is not None
        assert after[key][0] > before[key][0]

    # the standard put back: the same lake scores every hour again (the AQI model is incremental)
    ecolake(warehouse, "materialize")
    restored = {(r[0], r[1]): r[2:] for r in query(warehouse, sql)}
    assert restored.keys() == after.keys()
    assert {k: restored[k] for k in after} == {k: before[k] for k in after}
