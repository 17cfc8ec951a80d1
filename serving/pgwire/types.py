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


def _binary_array(values: list, column_type: pa.DataType) -> list[bytes | None]:
    """PostgreSQL's binary array: ndim, has-null, element oid, (size, lower bound), then the elements."""
    element_type = column_type.value_type
    element_pg = pg_type(element_type)
    out: list[bytes | None] = []
    for items in values:
        if items is None:
            out.append(None)
            continue
        encoded = binary_column(pa.array(items, type=element_type), element_pg)
        has_null = any(e is None for e in encoded)
        head = struct.pack("!iiI", 1 if items else 0, 1 if has_null else 0, element_pg.oid)
        if items:
            head += struct.pack("!ii", len(items), 1)
        body = b"".join(struct.pack("!i", -1) if e is None else struct.pack("!i", len(e)) + e for e in encoded)
        out.append(head + body)
    return out


def binary_column(column: pa.ChunkedArray | pa.Array, pg: PgType) -> list[bytes | None]:
    values = column.to_pylist()
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return _binary_array(values, column.type)
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
        # one format code applies to every column; otherwise one code per column (PostgreSQL's Bind rule)
        fmt = formats[0] if len(formats) == 1 else (formats[i] if i < len(formats) else 0)
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


# ------------------------------------------------------------------------------------------------
# DuckDB column types (as duckdb_columns() names them) → PostgreSQL types, for the catalog

_DUCKDB_NAMES = {
    "BOOLEAN": BOOL,
    "TINYINT": INT2,
    "SMALLINT": INT2,
    "UTINYINT": INT2,
    "INTEGER": INT4,
    "USMALLINT": INT4,
    "BIGINT": INT8,
    "UINTEGER": INT8,
    "UBIGINT": NUMERIC,
    "HUGEINT": NUMERIC,
    "UHUGEINT": NUMERIC,
    "FLOAT": FLOAT4,
    "DOUBLE": FLOAT8,
    "DATE": DATE,
    "TIME": TIME,
    "TIMESTAMP": TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
    "INTERVAL": INTERVAL,
    "BLOB": BYTEA,
    "VARCHAR": TEXT,
    "UUID": TEXT,
    "JSON": TEXT,
    "GEOMETRY": TEXT,
}


def pg_type_of_duckdb(name: str) -> PgType:
    name = name.strip().upper()
    if name.endswith("[]"):
        element = pg_type_of_duckdb(name[:-2])
        return PgType(ARRAYS.get(element.oid, 1009), element.name + "[]", -1)
    if name.startswith("DECIMAL(") or name.startswith("NUMERIC("):
        precision, scale = (int(x) for x in name[name.index("(") + 1 : -1].split(","))
        return PgType(NUMERIC.oid, "numeric", -1, ((precision << 16) | scale) + 4)
    return _DUCKDB_NAMES.get(name, TEXT)


# base types the catalog lists in pg_type: (oid, name, length, category, array oid, element oid)
BASE_TYPES = [
    (16, "bool", 1, "B", 1000, 0),
    (17, "bytea", -1, "U", 1001, 0),
    (18, "char", 1, "S", 1002, 0),
    (19, "name", 64, "S", 1003, 0),
    (20, "int8", 8, "N", 1016, 0),
    (21, "int2", 2, "N", 1005, 0),
    (23, "int4", 4, "N", 1007, 0),
    (24, "regproc", 4, "N", 1008, 0),
    (25, "text", -1, "S", 1009, 0),
    (26, "oid", 4, "N", 1028, 0),
    (700, "float4", 4, "N", 1021, 0),
    (701, "float8", 8, "N", 1022, 0),
    (1042, "bpchar", -1, "S", 1014, 0),
    (1043, "varchar", -1, "S", 1015, 0),
    (1082, "date", 4, "D", 1182, 0),
    (1083, "time", 8, "D", 1183, 0),
    (1114, "timestamp", 8, "D", 1115, 0),
    (1184, "timestamptz", 8, "D", 1185, 0),
    (1186, "interval", 16, "T", 1187, 0),
    (1700, "numeric", -1, "N", 1231, 0),
    (2205, "regclass", 4, "N", 2210, 0),
    (2206, "regtype", 4, "N", 2211, 0),
    (2950, "uuid", 16, "U", 2951, 0),
    (114, "json", -1, "U", 199, 0),
    (3802, "jsonb", -1, "U", 3807, 0),
    (1000, "_bool", -1, "A", 0, 16),
    (1001, "_bytea", -1, "A", 0, 17),
    (1005, "_int2", -1, "A", 0, 21),
    (1007, "_int4", -1, "A", 0, 23),
    (1009, "_text", -1, "A", 0, 25),
    (1015, "_varchar", -1, "A", 0, 1043),
    (1016, "_int8", -1, "A", 0, 20),
    (1021, "_float4", -1, "A", 0, 700),
    (1022, "_float8", -1, "A", 0, 701),
    (1182, "_date", -1, "A", 0, 1082),
    (1115, "_timestamp", -1, "A", 0, 1114),
    (1231, "_numeric", -1, "A", 0, 1700),
]
