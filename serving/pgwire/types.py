"""Arrow result columns → PostgreSQL types, encoded column-wise in text or binary format."""

from __future__ import annotations

import datetime as dt
import math
import struct
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str
    size: int
    modifier: int = -1


BOOL = PgType(16, "boolean", 1)
BYTEA = PgType(17, "bytea", -1)
INT8 = PgType(20, "bigint", 8)
INT2 = PgType(21, "smallint", 2)
INT4 = PgType(23, "integer", 4)
TEXT = PgType(25, "text", -1)
FLOAT4 = PgType(700, "real", 4)
FLOAT8 = PgType(701, "double precision", 8)
VARCHAR = PgType(1043, "character varying", -1)
DATE = PgType(1082, "date", 4)
TIME = PgType(1083, "time without time zone", 8)
TIMESTAMP = PgType(1114, "timestamp without time zone", 8)
TIMESTAMPTZ = PgType(1184, "timestamp with time zone", 8)
INTERVAL = PgType(1186, "interval", 16)
NUMERIC = PgType(1700, "numeric", -1)
ARRAYS = {
    BOOL.oid: 1000,
    INT2.oid: 1005,
    INT4.oid: 1007,
    INT8.oid: 1016,
    TEXT.oid: 1009,
    FLOAT4.oid: 1021,
    FLOAT8.oid: 1022,
    VARCHAR.oid: 1015,
    DATE.oid: 1182,
    TIMESTAMP.oid: 1115,
    NUMERIC.oid: 1231,
}
PG_EPOCH = dt.date(2000, 1, 1)
PG_EPOCH_DT = dt.datetime(2000, 1, 1)


def pg_type(arrow: pa.DataType) -> PgType:
    if pa.types.is_boolean(arrow):
        return BOOL
    if pa.types.is_int8(arrow) or pa.types.is_int16(arrow) or pa.types.is_uint8(arrow):
        return INT2
    if pa.types.is_int32(arrow) or pa.types.is_uint16(arrow):
        return INT4
    if pa.types.is_int64(arrow) or pa.types.is_uint32(arrow):
        return INT8
    if pa.types.is_integer(arrow):
        return NUMERIC
    if pa.types.is_float16(arrow) or pa.types.is_float32(arrow):
        return FLOAT4
    if pa.types.is_float64(arrow):
        return FLOAT8
    if pa.types.is_decimal(arrow):
        return PgType(NUMERIC.oid, "numeric", -1, ((arrow.precision << 16) | arrow.scale) + 4)
    if pa.types.is_date(arrow):
        return DATE
    if pa.types.is_timestamp(arrow):
        return TIMESTAMPTZ if arrow.tz else TIMESTAMP
    if pa.types.is_time(arrow):
        return TIME
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return BYTEA
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        element = pg_type(arrow.value_type)
        return PgType(ARRAYS.get(element.oid, 1009), element.name + "[]", -1)
    return TEXT  # strings, and anything else shown as text (spatial columns arrive as WKT)


# ------------------------------------------------------------------------------------------------
# text format


def _float_text(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    text = repr(v)
    return text[:-2] if text.endswith(".0") else text


def _array_item(v: object) -> str:
    if v is None:
        return "NULL"
    text = _scalar_text(v)
    if text == "" or any(c in text for c in ' ,{}"\\') or text.upper() == "NULL":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _scalar_text(v: object) -> str:
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, dt.datetime):
        text = v.isoformat(sep=" ")
        return text.replace("+00:00", "+00") if v.tzinfo else text
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, list):
        return "{" + ",".join(_array_item(x) for x in v) + "}"
    return str(v)


def text_column(column: pa.ChunkedArray | pa.Array) -> list[bytes | None]:
    """One column as text-format values (None = SQL NULL); vectorised where Arrow can cast."""
    arrow = column.type
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return [None if v is None else v.encode() for v in column.to_pylist()]
    if pa.types.is_integer(arrow) or pa.types.is_decimal(arrow) or pa.types.is_date(arrow):
        cast = pc.cast(column, pa.string())
        return [None if v is None else v.encode() for v in cast.to_pylist()]
    if pa.types.is_boolean(arrow):
        return [None if v is None else (b"t" if v else b"f") for v in column.to_pylist()]
    return [None if v is None else _scalar_text(v).encode() for v in column.to_pylist()]


# ------------------------------------------------------------------------------------------------
# binary format


def _numeric_binary(v: Decimal) -> bytes:
    sign, digits, exponent = v.as_tuple()
    if not isinstance(exponent, int):  # NaN / Infinity
        return struct.pack("!hhHH", 0, 0, 0xC000, 0)
    dscale = max(0, -exponent)
    text = "".join(map(str, digits))
    int_part = text[: len(text) + exponent] if exponent < 0 else text + "0" * exponent
    frac_part = text[len(text) + exponent :] if exponent < 0 else ""
    int_part = int_part.lstrip("0")
    pad_int = (-len(int_part)) % 4
    int_part = "0" * pad_int + int_part
    frac_part = frac_part + "0" * ((-len(frac_part)) % 4)
    groups = [int(int_part[i : i + 4]) for i in range(0, len(int_part), 4)]
    weight = len(groups) - 1
    groups += [int(frac_part[i : i + 4]) for i in range(0, len(frac_part), 4)]
    while groups and groups[-1] == 0:
        groups.pop()
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    if not groups:
        weight = 0
    return struct.pack(f"!hhHH{len(groups)}H", len(groups), weight, 0x4000 if sign else 0, dscale, *groups)


def binary_column(column: pa.ChunkedArray | pa.Array, pg: PgType) -> list[bytes | None]:
    values = column.to_pylist()
    oid = pg.oid
    if oid == BOOL.oid:
        return [None if v is None else (b"\x01" if v else b"\x00") for v in values]
    if oid == INT2.oid:
        return [None if v is None else struct.pack("!h", v) for v in values]
    if oid == INT4.oid:
        return [None if v is None else struct.pack("!i", v) for v in values]
    if oid == INT8.oid:
        return [None if v is None else struct.pack("!q", v) for v in values]
    if oid == FLOAT4.oid:
        return [None if v is None else struct.pack("!f", v) for v in values]
    if oid == FLOAT8.oid:
        return [None if v is None else struct.pack("!d", v) for v in values]
    if oid == DATE.oid:
        return [None if v is None else struct.pack("!i", (v - PG_EPOCH).days) for v in values]
    if oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid):
        out = []
        for v in values:
            if v is None:
                out.append(None)
                continue
            naive = v.astimezone(dt.UTC).replace(tzinfo=None) if v.tzinfo else v
            delta = naive - PG_EPOCH_DT
            out.append(struct.pack("!q", (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds))
        return out
    if oid == NUMERIC.oid:
        return [None if v is None else _numeric_binary(Decimal(v)) for v in values]
    if oid == BYTEA.oid:
        return values
    if oid in (TEXT.oid, VARCHAR.oid):
        return [None if v is None else v.encode() for v in values]
    raise NotImplementedError(f"binary format for {pg.name}")


def encode_rows(table: pa.Table, formats: list[int]) -> list[bytes]:
    """DataRow messages for every row: columns are encoded whole, then zipped into rows."""
    columns = []
    for i, column in enumerate(table.columns):
        fmt = formats[i] if i < len(formats) else 0
        columns.append(binary_column(column, pg_type(column.type)) if fmt == 1 else text_column(column))
    header = b"D"
    count = struct.pack("!h", table.num_columns)
    rows = []
    null = struct.pack("!i", -1)
    for values in zip(*columns, strict=True):
        parts = [count]
        for v in values:
            parts.append(null if v is None else struct.pack("!i", len(v)) + v)
        body = b"".join(parts)
        rows.append(header + struct.pack("!i", len(body) + 4) + body)
    return rows
