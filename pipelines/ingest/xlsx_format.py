"""The XLSX delivery format: workbooks with Chinese headers, often one sheet per period.

Every sheet of a workbook is read. Its header row is the first row (of the first 20) that holds
every contract column; merged cells count as their top-left value wherever they span, so a header
merged over two rows or a title row above the header does not matter. When the contract names a
``sheetColumn``, each row also gets the sheet's title under that name (the period of a
sheet-per-month workbook). A column may be found by the contract's ``headerPattern`` instead of its
exact name; values the pattern reads from the header (a unit: ``实测流量(L/s)``) are given to every
row of the sheet (``pipelines/ingest/headers.py``). A header where one field matches two different
columns is ambiguous and rejects the workbook. Cells are delivered as text the way a person reads
them: whole numbers without ``.0``, dates as ISO dates, so that the contract's rules and the
staging models see what the department typed. ``_source_line`` is the row number in its sheet;
the sheet is in the record.

A sheet with data but without the contract's columns rejects the workbook (its rows quarantined
with the error); a workbook that cannot be opened is rejected whole. Empty sheets and blank rows
are skipped; non-blank data rows are counted independently of the parse, so the engine can prove
that every row ended up published or quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import openpyxl
import polars as pl

from pipelines.contracts import Contract
from pipelines.ingest.csv_format import DELIVERY_IDX, LINE, QUARANTINE_SCHEMA, ParsedDeliveries
from pipelines.ingest.deliveries import Delivery
from pipelines.ingest.headers import match_header

HEADER_SEARCH_ROWS = 20


def cell_text(value: object) -> str | None:
    """A cell as the text a reader sees: 7.0 → "7", 0.1 → "0.1", a date → "2023-01-31"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _grid(sheet) -> list[list[str | None]]:  # noqa: ANN001 - an openpyxl worksheet
    """The sheet's cells as text, merged ranges filled with their top-left value."""
    rows = [[cell_text(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        value = rows[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(rows) else None
        for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
            for c in range(merged.min_col - 1, merged.max_col):
                if c < len(rows[r]):
                    rows[r][c] = value
    return rows


def _record(sheet: str, row_number: int, cells: list[str | None]) -> str:
    return json.dumps({"sheet": sheet, "row": row_number, "cells": cells}, ensure_ascii=False)


def parse(contract: Contract, deliveries: list[Delivery]) -> ParsedDeliveries:
    sheet_column = contract.delivery.sheet_column
    sheet_field = next((f.name for f in contract.fields if f.physical_name == sheet_column), None)
    exclude = [sheet_column] if sheet_column else []
    rows: list[dict] = []
    struct_rows: list[dict] = []
    rejected: dict[int, str] = {}
    rejected_rule: dict[int, str] = {}
    data_lines: dict[int, int] = {}

    for idx, d in enumerate(deliveries):
        try:
            book = openpyxl.load_workbook(d.path, data_only=True)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            rejected[idx] = f"{d.relpath}: not a readable XLSX workbook ({type(exc).__name__}: {exc})"
            struct_rows.append(
                {DELIVERY_IDX: idx, LINE: 0, "rule": "structure.unreadable", "field": None}
                | {"reason": rejected[idx], "record": None}
            )
            data_lines[idx] = 1  # the file itself stands for its unknown rows: one quarantined record
            continue
        file_rows: list[dict] = []
        file_struct: list[dict] = []
        counted = 0
        for sheet in book.worksheets:
            grid = _grid(sheet)
            header_at, match = next(
                (
                    (i, m)
                    for i, r in enumerate(grid[:HEADER_SEARCH_ROWS])
                    if (m := match_header(contract, r, exclude=exclude)).complete
                ),
                (None, None),
            )
            body = [(i + 1, r) for i, r in enumerate(grid) if any(v is not None for v in r)]
            error, rule = None, "structure.missing_column"
            if match is None:
                if not body:
                    continue  # an empty sheet
                present = list(dict.fromkeys(v for _, r in body[:HEADER_SEARCH_ROWS] for v in r if v))
                missing = match_header(contract, present, exclude=exclude).missing
                error = (
                    f"{d.relpath}: sheet {sheet.title!r}: no header row holds the contract column(s) "
                    f"{', '.join(missing)} (searched the first {HEADER_SEARCH_ROWS} rows)"
                )
            elif match.ambiguous:
                rule = "structure.ambiguous_column"
                body = [(n, r) for n, r in body if n > header_at + 1]  # the rows under the header
                error = (
                    f"{d.relpath}: sheet {sheet.title!r}: row {header_at + 1}: more than one column for "
                    f"{'; '.join(match.ambiguous)} (which one holds the data cannot be told)"
                )
            if error is not None:
                rejected.setdefault(idx, error)
                rejected_rule.setdefault(idx, rule)
                for n, r in body:
                    file_struct.append(
                        {DELIVERY_IDX: idx, LINE: n, "rule": rule, "field": None}
                        | {"reason": error, "record": _record(sheet.title, n, r)}
                    )
                counted += len(body)
                continue
            for n, r in body:
                if n <= header_at + 1:
                    continue  # the header and the title rows above it
                counted += 1
                row = {name: (r[i] if i < len(r) else None) for name, i in match.positions.items()}
                row |= match.derived
                if sheet_field:
                    row[sheet_field] = sheet.title
                row[DELIVERY_IDX] = idx
                row[LINE] = n
                file_rows.append(row)
        data_lines[idx] = counted
        if idx in rejected:  # one bad sheet rejects the workbook: all its rows are quarantined
            for row in file_rows:
                cells = [row.get(f.name) for f in contract.fields]
                file_struct.append(
                    {DELIVERY_IDX: idx, LINE: row[LINE], "rule": rejected_rule[idx], "field": None}
                    | {"reason": rejected[idx], "record": json.dumps(cells, ensure_ascii=False)}
                )
            file_rows = []
        rows.extend(file_rows)
        struct_rows.extend(file_struct)

    schema = {f.name: pl.String for f in contract.fields} | {DELIVERY_IDX: pl.Int64, LINE: pl.Int64}
    return ParsedDeliveries(
        rows=pl.DataFrame(rows, schema=schema),
        structural_quarantine=pl.DataFrame(struct_rows, schema=QUARANTINE_SCHEMA),
        rejected=rejected,
        data_lines=data_lines,
    )
