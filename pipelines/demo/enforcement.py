"""Demo deliveries of the enforcement corps' cases (DEPARTMENTS.md #17).

`generate_enforcement_cases(landing, start, end, seed)` writes one CSV per month of the span,
`enforcement/cases/<YYYY>/执法案件_<YYYY-MM>.csv` (UTF-8 with BOM, as the case system exports it):
案件编号, 检查日期, 统一社会信用代码, 单位名称, 所在地市, 违法类型, 罚款金额（万元）. Cases fall on the
permitted enterprises of `pipelines.demo.outlets.demo_enterprises` (those permitted by the case's
year), about 0.3 per enterprise and month, more often in cities with more industry; a fine in 万元
for most violations (blank: a warning or an order to correct).

Mess (small proportions, deterministic from the seed): about 4 % of the cases concern an
enterprise unknown to the permit registry (a valid credit code the registry does not list: an
unpermitted workshop) — kept and flagged by the models, never quarantined.
"""

from __future__ import annotations

import calendar
import csv
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.demo.outlets import credit_code, demo_enterprises

DATASET = Path("enforcement") / "cases"
HEADER = ("案件编号", "检查日期", "统一社会信用代码", "单位名称", "所在地市", "违法类型", "罚款金额（万元）")
# violation → (weight, share of cases fined, median fine in 万元)
VIOLATIONS = {
    "超标排放污染物": (25, 0.95, 20.0),
    "未按规定运行污染防治设施": (20, 0.85, 10.0),
    "未取得排污许可证排放污染物": (8, 0.95, 25.0),
    "自动监测数据弄虚作假": (6, 1.0, 40.0),
    "未批先建": (12, 0.9, 15.0),
    "危险废物贮存处置不规范": (15, 0.8, 8.0),
    "未按规定开展自行监测": (14, 0.5, 3.0),
}
CASES_PER_ENTERPRISE_MONTH = 0.3
P_UNREGISTERED = 0.04
WORKSHOPS = ("砖厂", "石材加工厂", "塑料制品厂", "家具厂", "洗砂场", "养殖场", "小作坊")


def _months(start: date, end: date) -> list[date]:
    months, month = [], date(start.year, start.month, 1)
    while month <= end:
        months.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return months


def generate_enforcement_cases(landing: Path, start: date, end: date, seed: int) -> dict:
    enterprises = demo_enterprises(seed)
    cities = sorted({(e.region_code, e.city_name) for e in enterprises})
    names = list(VIOLATIONS)
    weights = np.array([VIOLATIONS[v][0] for v in names], dtype=float)
    sequence: dict[tuple[str, int], int] = {}
    files = rows = unregistered = 0
    for month in _months(start, end):
        rng = np.random.default_rng([seed, 17, month.year, month.month])
        last_day = calendar.monthrange(month.year, month.month)[1]
        cases = []
        for region_code, city in cities:
            listed = [
                e
                for e in enterprises
                if e.region_code == region_code and start.year + e.permitted_from_offset <= month.year
            ]
            for _ in range(rng.poisson(CASES_PER_ENTERPRISE_MONTH * len(listed))):
                day = date(month.year, month.month, int(rng.integers(1, last_day + 1)))
                if not start <= day <= end:
                    continue
                if rng.random() < P_UNREGISTERED or not listed:
                    code = credit_code(region_code, rng)
                    trade = "".join(rng.choice(list("永兴福盛鑫宏利达顺丰"), 2))
                    short = city.removesuffix("市") if city.endswith("市") else city[:2]
                    name = f"{short}{trade}{WORKSHOPS[rng.integers(len(WORKSHOPS))]}"
                    unregistered += 1
                else:
                    enterprise = listed[rng.integers(len(listed))]
                    code, name = enterprise.credit_code, enterprise.name
                violation = names[rng.choice(len(names), p=weights / weights.sum())]
                _, fined, median = VIOLATIONS[violation]
                penalty = f"{median * rng.lognormal(0, 0.6):.2f}" if rng.random() < fined else ""
                key = (region_code, month.year)
                sequence[key] = sequence.get(key, 0) + 1
                number = f"{region_code}-{month.year}-{sequence[key]:04d}"
                cases.append((number, day.isoformat(), code, name, city, violation, penalty))
        path = landing / DATASET / str(month.year) / f"执法案件_{month:%Y-%m}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(HEADER)
            writer.writerows(sorted(cases, key=lambda c: (c[1], c[0])))
        files, rows = files + 1, rows + len(cases)
    return {"files": files, "cases": rows, "unregistered_enterprise_cases": unregistered}
