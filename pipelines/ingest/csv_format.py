"""The CSV delivery format: decode, check the header, split rows, keep each row's file and line.

Vectorised across all files of a run (one polars parse per distinct header), so thousands of small
hourly files cost one parse. Rows whose field count is wrong, or a last line without a line end
(a truncated file), go to quarantine here; a file that cannot be decoded or lacks a contract
column is rejected whole, with its rows counted.
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


@dataclass
class ParsedDeliveries:
    rows: pl.DataFrame  # one String column per contract field (by field name) + DELIVERY_IDX + LINE
    structural_quarantine: pl.DataFrame  # DELIVERY_IDX, LINE, rule, field, reason, record
    rejected: dict[int, str] = field(default_factory=dict)  # delivery idx → error (its lines are quarantined)


QUARANTINE_SCHEMA = {
    DELIVERY_IDX: pl.Int64,
    LINE: pl.Int64,
    "rule": pl.String,
    "field": pl.String,
    "reason": pl.String,
    "record": pl.String,
}


def _rejected_rows(idx: int, text: str, rule: str, error: str) -> list[dict]:
    """A rejected file's data lines, each quarantined with the file's error (nothing dropped)."""
    lines = text.split("\n")[1:]
    return [
        {DELIVERY_IDX: idx, LINE: n, "rule": rule, "field": None, "reason": error, "record": ln.rstrip("\r")}
        for n, ln in enumerate(lines, start=2)
        if ln.strip()
    ]


def parse(contract: Contract, deliveries: list[Delivery]) -> ParsedDeliveries:
    fmt = contract.delivery
    delim = fmt.delimiter
    encoding = "utf-8-sig" if fmt.encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig") else fmt.encoding
    wanted = {f.physical_name: f.name for f in contract.fields}
    rejected: dict[int, str] = {}
    # header → (texts, delivery idx, line numbers)
    groups: dict[tuple[str, ...], tuple[list[str], list[int], list[int]]] = {}
    struct_rows: list[dict] = []
    truncated: set[tuple[int, int]] = set()  # (delivery idx, line) of last lines without a line end

    for idx, d in enumerate(deliveries):
        data = d.path.read_bytes()
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            line_no = data[: exc.start].count(b"\n") + 1
            error = (
                f"{d.relpath}: line {line_no}: cannot decode byte {data[exc.start]:#04x} "
                f"at offset {exc.start} as {fmt.encoding} (the contract's encoding)"
            )
            rejected[idx] = error
            struct_rows.extend(_rejected_rows(idx, data.decode(encoding, errors="replace"), "encoding", error))
            continue
        lines = text.split("\n")
        ends_with_newline = lines[-1] == ""
        if ends_with_newline:
            lines.pop()
        if not lines:
            continue  # an empty file holds no rows: a batch of zero
        header = tuple(h.strip() for h in next(csv.reader([lines[0].rstrip("\r")], delimiter=delim)))
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
        body = lines[1:]
        texts.extend(body)
        idxs.extend([idx] * len(body))
        nums.extend(range(2, 2 + len(body)))
        if not ends_with_newline and body:
            truncated.add((idx, len(lines)))

    frames = []
    for header, (texts, idxs, nums) in groups.items():
        lines = pl.DataFrame(
            {"_text": texts, DELIVERY_IDX: idxs, LINE: nums},
            schema={"_text": pl.String, DELIVERY_IDX: pl.Int64, LINE: pl.Int64},
        )
        lines = lines.with_columns(pl.col("_text").str.strip_suffix("\r")).filter(
            pl.col("_text").str.strip_chars() != ""
        )
        if truncated:
            cut = pl.DataFrame(list(truncated), schema={DELIVERY_IDX: pl.Int64, LINE: pl.Int64}, orient="row")
            cut_rows = lines.join(cut, on=[DELIVERY_IDX, LINE], how="semi")
            struct_rows.extend(
                {
                    DELIVERY_IDX: i,
                    LINE: n,
                    "rule": "structure.truncated",
                    "field": None,
                    "reason": f"{deliveries[i].relpath}: line {n}: last line has no line end; the file looks truncated",
                    "record": t,
                }
                for i, n, t in zip(cut_rows[DELIVERY_IDX], cut_rows[LINE], cut_rows["_text"], strict=True)
            )
            lines = lines.join(cut, on=[DELIVERY_IDX, LINE], how="anti")
        text = pl.col("_text")
        quote_free = (
            pl.when(text.str.contains('"', literal=True)).then(text.str.replace_all(r'"[^"]*"', "")).otherwise(text)
        )
        lines = lines.with_columns((quote_free.str.count_matches(delim, literal=True) + 1).alias("_nfields"))
        bad = lines.filter(pl.col("_nfields") != len(header))
        if bad.height:
            files = [deliveries[i].relpath for i in bad[DELIVERY_IDX].to_list()]
            struct_rows.extend(
                {
                    DELIVERY_IDX: i,
                    LINE: n,
                    "rule": "structure.field_count",
                    "field": None,
                    "reason": f"{f}: line {n}: {k} fields where the header has {len(header)}",
                    "record": t,
                }
                for i, n, k, t, f in zip(
                    bad[DELIVERY_IDX], bad[LINE], bad["_nfields"], bad["_text"], files, strict=True
                )
            )
        good = lines.filter(pl.col("_nfields") == len(header))
        if not good.height:
            continue
        body = (good["_text"].str.join("\n").item() + "\n").encode()
        parsed = pl.read_csv(
            io.BytesIO(body),
            has_header=False,
            new_columns=list(header),
            infer_schema=False,
            separator=delim,
            quote_char='"',
        )
        frames.append(
            parsed.select([pl.col(p).alias(n) for p, n in wanted.items()]).with_columns(good[DELIVERY_IDX], good[LINE])
        )
    schema = {f.name: pl.String for f in contract.fields} | {DELIVERY_IDX: pl.Int64, LINE: pl.Int64}
    rows = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)
    structural = (
        pl.DataFrame(struct_rows, schema=QUARANTINE_SCHEMA) if struct_rows else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    return ParsedDeliveries(rows=rows, structural_quarantine=structural, rejected=rejected)
