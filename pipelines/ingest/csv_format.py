"""The CSV delivery format: decode, check the header, split rows, keep each row's file and line.

Vectorised across all files of a run (one polars parse per distinct header), so thousands of small
hourly files cost one parse. Rows whose field count is wrong or whose quotes do not balance, and a
last line without a line end (a truncated file), go to quarantine here; a file that cannot be
decoded, lacks a contract column or cannot be parsed at all is rejected whole, its lines
quarantined with the file's error. Data lines are counted here, independently of the parse, so the
engine can prove that every line ended up published or quarantined.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import polars as pl

from pipelines.contracts import Contract
from pipelines.ingest.deliveries import Delivery

DELIVERY_IDX = "_delivery_idx"
LINE = "_source_line"
QUARANTINE_SCHEMA = {
    DELIVERY_IDX: pl.Int64,
    LINE: pl.Int64,
    "rule": pl.String,
    "field": pl.String,
    "reason": pl.String,
    "record": pl.String,
}


@dataclass
class ParsedDeliveries:
    rows: pl.DataFrame  # one String column per contract field (by field name) + DELIVERY_IDX + LINE
    structural_quarantine: pl.DataFrame  # QUARANTINE_SCHEMA
    rejected: dict[int, str] = field(default_factory=dict)  # delivery idx → error (its lines are quarantined)
    data_lines: dict[int, int] = field(default_factory=dict)  # delivery idx → non-blank lines after the header


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _data_lines(text: str) -> list[tuple[int, str]]:
    lines = text.split("\n")
    return [(n, ln) for n, ln in enumerate(lines[1:], start=2) if ln.strip()]


def _rejected_rows(idx: int, text: str, rule: str, error: str) -> list[dict]:
    """A rejected file's data lines, each quarantined with the file's error (nothing dropped)."""
    return [
        {DELIVERY_IDX: idx, LINE: n, "rule": rule, "field": None, "reason": error, "record": ln}
        for n, ln in _data_lines(text)
    ]


def _read_group(lines: pl.DataFrame, header: tuple[str, ...], delim: str, wanted: dict[str, str]) -> pl.DataFrame:
    body = (lines["_text"].str.join("\n").item() + "\n").encode()
    parsed = pl.read_csv(
        io.BytesIO(body),
        has_header=False,
        new_columns=list(header),
        infer_schema=False,
        separator=delim,
        quote_char='"',
    )
    if parsed.height != lines.height:
        raise ValueError(f"{parsed.height} rows parsed from {lines.height} lines")
    return parsed.select([pl.col(p).alias(n) for p, n in wanted.items()]).with_columns(lines[DELIVERY_IDX], lines[LINE])


def parse(contract: Contract, deliveries: list[Delivery]) -> ParsedDeliveries:
    fmt = contract.delivery
    delim = fmt.delimiter
    utf8 = fmt.encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig")
    encoding = "utf-8-sig" if utf8 else fmt.encoding
    wanted = {f.physical_name: f.name for f in contract.fields}
    rejected: dict[int, str] = {}
    data_lines: dict[int, int] = {}
    # header → (texts, delivery idx, line numbers)
    groups: dict[tuple[str, ...], tuple[list[str], list[int], list[int]]] = {}
    struct_rows: list[dict] = []
    truncated: set[tuple[int, int]] = set()  # (delivery idx, line) of last lines without a line end

    for idx, d in enumerate(deliveries):
        data = d.path.read_bytes()
        try:
            text = _normalise_newlines(data.decode(encoding))
        except UnicodeDecodeError as exc:
            line_no = data[: exc.start].count(b"\n") + 1
            error = (
                f"{d.relpath}: line {line_no}: cannot decode byte {data[exc.start]:#04x} "
                f"at offset {exc.start} as {fmt.encoding} (the contract's encoding)"
            )
            rejected[idx] = error
            text = _normalise_newlines(data.decode(encoding, errors="replace"))
            rows = _rejected_rows(idx, text, "encoding", error)
            struct_rows.extend(rows)
            data_lines[idx] = len(rows)
            continue
        numbered = _data_lines(text)
        data_lines[idx] = len(numbered)
        first = text.split("\n", 1)[0]
        if not first.strip():
            if numbered:
                rejected[idx] = f"{d.relpath}: line 1: the header line is empty"
                struct_rows.extend(_rejected_rows(idx, text, "structure.header", rejected[idx]))
            continue  # an empty file holds no rows: a batch of zero
        header = tuple(h.strip() for h in next(csv.reader([first], delimiter=delim)))
        missing = [p for p in wanted if p not in header]
        if missing:
            error = (
                f"{d.relpath}: line 1: header lacks contract column(s) {', '.join(missing)} "
                f"(found: {', '.join(header)})"
            )
            rejected[idx] = error
            struct_rows.extend(_rejected_rows(idx, text, "structure.missing_column", error))
            continue
        texts, idxs, nums = groups.setdefault(header, ([], [], []))
        for n, ln in numbered:
            texts.append(ln)
            idxs.append(idx)
            nums.append(n)
        if numbered and not text.endswith("\n"):
            truncated.add((idx, numbered[-1][0]))

    frames = []
    for header, (texts, idxs, nums) in groups.items():
        lines = pl.DataFrame(
            {"_text": texts, DELIVERY_IDX: idxs, LINE: nums},
            schema={"_text": pl.String, DELIVERY_IDX: pl.Int64, LINE: pl.Int64},
        )
        relpath = pl.col(DELIVERY_IDX).replace_strict(
            list(range(len(deliveries))), [d.relpath for d in deliveries], return_dtype=pl.String
        )
        where = relpath + pl.lit(": line ") + pl.col(LINE).cast(pl.String) + pl.lit(": ")
        text = pl.col("_text")
        quotes = text.str.count_matches('"', literal=True)
        quote_free = pl.when(quotes > 0).then(text.str.replace_all(r'"[^"]*"', "")).otherwise(text)
        lines = lines.with_columns(
            (quote_free.str.count_matches(delim, literal=True) + 1).alias("_nfields"),
            (quotes % 2 == 1).alias("_open_quote"),
        )
        if truncated:
            cut = pl.DataFrame(list(truncated), schema={DELIVERY_IDX: pl.Int64, LINE: pl.Int64}, orient="row")
            lines = lines.join(cut.with_columns(pl.lit(True).alias("_cut")), on=[DELIVERY_IDX, LINE], how="left")
        else:
            lines = lines.with_columns(pl.lit(None, pl.Boolean).alias("_cut"))
        problem = (
            pl.when(pl.col("_cut").fill_null(False))
            .then(pl.lit("structure.truncated"))
            .when(pl.col("_open_quote"))
            .then(pl.lit("structure.quote"))
            .when(pl.col("_nfields") != len(header))
            .then(pl.lit("structure.field_count"))
        )
        reason = (
            pl.when(pl.col("_cut").fill_null(False))
            .then(where + pl.lit("last line has no line end; the file looks truncated"))
            .when(pl.col("_open_quote"))
            .then(where + pl.lit("a quote is opened and never closed"))
            .otherwise(
                where + pl.col("_nfields").cast(pl.String) + pl.lit(f" fields where the header has {len(header)}")
            )
        )
        lines = lines.with_columns(problem.alias("_rule"), reason.alias("_reason"))
        bad = lines.filter(pl.col("_rule").is_not_null())
        struct_rows.extend(
            {DELIVERY_IDX: i, LINE: n, "rule": r, "field": None, "reason": why, "record": t}
            for i, n, r, why, t in zip(
                bad[DELIVERY_IDX], bad[LINE], bad["_rule"], bad["_reason"], bad["_text"], strict=True
            )
        )
        good = lines.filter(pl.col("_rule").is_null())
        if not good.height:
            continue
        try:
            frames.append(_read_group(good, header, delim, wanted))
        except Exception:  # isolate the file(s) the CSV reader cannot read, keep the rest
            for idx in good[DELIVERY_IDX].unique().sort().to_list():
                part = good.filter(pl.col(DELIVERY_IDX) == idx)
                try:
                    frames.append(_read_group(part, header, delim, wanted))
                except Exception as exc:  # noqa: BLE001 - any reader failure rejects that file
                    error = f"{deliveries[idx].relpath}: cannot be read as CSV: {str(exc).splitlines()[0]}"
                    rejected[idx] = error
                    struct_rows.extend(
                        {
                            DELIVERY_IDX: idx,
                            LINE: n,
                            "rule": "structure.unreadable",
                            "field": None,
                            "reason": error,
                            "record": t,
                        }
                        for n, t in zip(part[LINE], part["_text"], strict=True)
                    )
    schema = {f.name: pl.String for f in contract.fields} | {DELIVERY_IDX: pl.Int64, LINE: pl.Int64}
    rows = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)
    structural = (
        pl.DataFrame(struct_rows, schema=QUARANTINE_SCHEMA) if struct_rows else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    return ParsedDeliveries(rows=rows, structural_quarantine=structural, rejected=rejected, data_lines=data_lines)
