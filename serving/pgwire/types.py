"""Arrow result columns → PostgreSQL types, encoded column-wise in text or binary format."""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
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
    if pa.types.is_interval(arrow):
        return INTERVAL
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


def _interval_text(months: int, days: int, nanoseconds: int) -> str:
    """PostgreSQL's interval output (IntervalStyle postgres): '1 year 2 mons 3 days 04:05:06.5'."""
    parts = []
    years, months = divmod(months, 12) if months >= 0 else (-divmod(-months, 12)[0], -divmod(-months, 12)[1])
    for value, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if value:
            parts.append(f"{value} {unit}{'' if abs(value) == 1 else 's'}")
    if nanoseconds or not parts:
        sign = "-" if nanoseconds < 0 else ""
        micros = abs(nanoseconds) // 1000
        seconds, fraction = divmod(micros, 1_000_000)
        clock = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if fraction:
            clock += f".{fraction:06d}".rstrip("0")
        parts.append(clock)
    return " ".join(parts)


def _scalar_text(v: object) -> str:
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, pa.MonthDayNano):
        return _interval_text(v.months, v.days, v.nanoseconds)
    if isinstance(v, dict | tuple):  # structs, maps and unions have no PostgreSQL type: JSON text
        return json.dumps(v, ensure_ascii=False, default=str)
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
    if oid == INTERVAL.oid:  # microseconds, days, months
        return [None if v is None else struct.pack("!qii", v.nanoseconds // 1000, v.days, v.months) for v in values]
    if oid == TIME.oid:  # microseconds since midnight
        return [
            None
            if v is None
            else struct.pack("!q", ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond)
            for v in values
        ]
    if oid in (TEXT.oid, VARCHAR.oid):  # strings, and values shown as text (structs, maps: JSON)
        return [None if v is None else (v if isinstance(v, str) else _scalar_text(v)).encode() for v in values]
    raise NotImplementedError(f"binary format for {pg.name}")


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


# ------------------------------------------------------------------------------------------------
# vectorised DataRow assembly: each column becomes (lengths, bytes) once, rows are laid out by numpy


def _text_array(array: pa.Array) -> pa.Array | None:
    """The text form of a whole column by Arrow casts, when it equals the per-value form; else None."""
    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_date(kind) or pa.types.is_decimal(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "t", "f")
    if pa.types.is_floating(kind):
        values = np.asarray(array.fill_null(0), dtype=np.float64)
        magnitude = np.abs(values)
        # Arrow and PostgreSQL agree on the plain decimal forms; exponents, NaN and infinities go by value
        if (~np.isfinite(values) | (magnitude >= 1e15) | ((magnitude < 1e-4) & (values != 0))).any():
            return None
        return pc.cast(array, pa.string())
    if pa.types.is_timestamp(kind) and kind.tz is None:
        micros = pc.cast(array.cast(pa.timestamp("us")), pa.int64())
        values = np.asarray(micros.fill_null(0))
        infinite = (values == np.iinfo(np.int64).max) | (values == np.iinfo(np.int64).min)
        finite = pc.if_else(pa.array(infinite), pa.scalar(0, pa.int64()), micros).cast(pa.timestamp("us"))
        text = pc.replace_substring_regex(pc.cast(finite, pa.string()), r"\.?0+$", "")  # 01:00:00, 01:00:00.5
        if infinite.any():
            text = pc.if_else(pa.array(infinite), pa.array(np.where(values > 0, "infinity", "-infinity")), text)
        return text
    if pa.types.is_interval(kind):
        return pa.array([None if v is None else _scalar_text(v) for v in array.to_pylist()], pa.string())
    if pa.types.is_struct(kind) or pa.types.is_map(kind) or pa.types.is_union(kind):
        return pa.array([None if v is None else _scalar_text(v) for v in array.to_pylist()], pa.string())
    return None


def _parts_of_binary_array(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lengths, starts, data) of a binary or string array's values, -1 for NULL."""
    n = len(array)
    wide = pa.types.is_large_binary(array.type) or pa.types.is_large_string(array.type)
    offsets = np.frombuffer(
        array.buffers()[1], dtype=np.int64 if wide else np.int32, count=n + 1, offset=array.offset * (8 if wide else 4)
    ).astype(np.int64)
    data_buffer = array.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    valid = np.ones(n, dtype=bool) if array.null_count == 0 else np.asarray(array.is_valid())
    return np.where(valid, offsets[1:] - offsets[:-1], -1), offsets[:-1], data


def _numeric_binary_column(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """PostgreSQL's binary numeric for a whole decimal column (precision ≤ 18): ndigits, weight,
    sign, dscale, then base-10000 digits from the first to the last non-zero group."""
    kind = array.type
    if not pa.types.is_decimal(kind) or kind.precision > 18:
        return None
    n, scale = len(array), kind.scale
    valid = np.ones(n, dtype=bool) if array.null_count == 0 else np.asarray(array.is_valid())
    raw = np.frombuffer(array.buffers()[1], dtype=np.int64, count=2 * (n + array.offset))[2 * array.offset :: 2]
    unscaled = np.where(valid, raw, 0)  # the low 64 bits are the value when precision ≤ 18
    negative = unscaled < 0
    pad = (-scale) % 4
    magnitude = np.abs(unscaled).astype(np.uint64) * np.uint64(10**pad)
    fraction_groups = (scale + pad) // 4
    width = (kind.precision + pad + 3) // 4 + 1
    groups = np.empty((n, width), dtype=np.uint64)  # groups[:, j]: the digit of 10000**j
    rest = magnitude.copy()
    for j in range(width):
        groups[:, j] = rest % np.uint64(10_000)
        rest //= np.uint64(10_000)
    nonzero = groups != 0
    any_digit = nonzero.any(axis=1)
    high = np.where(any_digit, width - 1 - np.argmax(nonzero[:, ::-1], axis=1), 0)
    low = np.where(any_digit, np.argmax(nonzero, axis=1), 0)
    ndigits = np.where(any_digit, high - low + 1, 0)
    header = np.empty(n, dtype=[("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"), ("dscale", ">i2")])
    header["ndigits"] = ndigits
    header["weight"] = np.where(any_digit, high - fraction_groups, 0)
    header["sign"] = np.where(negative, 0x4000, 0)
    header["dscale"] = scale
    # each row: 8 header bytes, then its digits most significant first; bytes outside the kept groups dropped
    digits = groups[:, ::-1].astype(">u2").view(np.uint8).reshape(n, 2 * width)
    position = np.arange(width)[None, :]  # position p holds the group width-1-p
    kept = (position >= (width - 1 - high)[:, None]) & (position <= (width - 1 - low)[:, None]) & any_digit[:, None]
    rows = np.concatenate([header.view(np.uint8).reshape(n, 8), digits], axis=1)
    mask = np.concatenate([np.ones((n, 8), dtype=bool), np.repeat(kept, 2, axis=1)], axis=1) & valid[:, None]
    lengths = np.where(valid, 8 + 2 * ndigits, -1).astype(np.int64)
    starts = np.zeros(n, dtype=np.int64)
    starts[1:] = np.cumsum(np.maximum(lengths, 0))[:-1]
    return lengths, starts, rows[mask]


def _string_list_column(array: pa.Array, fmt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A text[] column whole: its text form ``{a,b}`` when no element needs quoting, its binary
    form (ndim, has-null, element oid, size, lower bound, then each element) when no element is NULL."""
    if not pa.types.is_list(array.type) or not pa.types.is_string(array.type.value_type):
        return None
    elements = array.flatten()
    if elements.null_count:
        return None
    lists = array.fill_null([])
    if fmt == 0:
        plain = pc.match_substring_regex(elements, r'^[^ ,{}"\\]+$')
        if not pc.all(plain).as_py() or pc.any(pc.equal(pc.utf8_upper(elements), "NULL")).as_py():
            return None
        text = pc.binary_join_element_wise("{", pc.binary_join(lists, ","), "}", "")
        lengths, starts, data = _parts_of_binary_array(text.cast(pa.large_string()))
        valid = np.asarray(array.is_valid()) if array.null_count else np.ones(len(array), dtype=bool)
        return np.where(valid, lengths, -1), starts, data
    n = len(array)
    sizes = np.asarray(pc.list_value_length(lists), dtype=np.int64)
    fields = _field_array(*_parts_of_binary_array(elements))  # each element: int32 length, then its bytes
    field_offsets = np.frombuffer(fields.buffers()[1], dtype=np.int64, count=len(fields) + 1, offset=fields.offset * 8)
    list_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=list_offsets[1:])
    start = field_offsets[0]
    per_row = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(field_offsets[list_offsets] - start), fields.buffers()[2][start:]]
    )
    header = np.zeros(n, dtype=[("ndim", ">i4"), ("has_null", ">i4"), ("oid", ">u4"), ("size", ">i4"), ("lb", ">i4")])
    header["ndim"] = sizes > 0
    header["oid"] = TEXT.oid
    header["size"] = sizes
    header["lb"] = 1
    full = _fixed_binary(header.view(np.uint8), 20, n)
    short = pc.binary_slice(full, 0, 12)  # an empty array has no dimension
    heads = pc.if_else(pa.array(sizes > 0), full, short)
    lengths, starts, data = _parts_of_binary_array(pc.binary_join_element_wise(heads, per_row, _EMPTY))
    valid = np.asarray(array.is_valid()) if array.null_count else np.ones(n, dtype=bool)
    return np.where(valid, lengths, -1), starts, data


def _column_parts(column: pa.ChunkedArray | pa.Array, fmt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lengths: int64, -1 for NULL; starts: int64 offsets into data; data: uint8) for one column."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    valid = np.ones(n, dtype=bool) if array.null_count == 0 else np.asarray(array.is_valid())
    pg = pg_type(array.type)
    fixed = {INT2.oid: ">i2", INT4.oid: ">i4", INT8.oid: ">i8", FLOAT4.oid: ">f4", FLOAT8.oid: ">f8"}
    if fmt == 1 and (pa.types.is_timestamp(array.type) or pa.types.is_date32(array.type)):
        # PostgreSQL counts from 2000-01-01: microseconds for timestamps, days for dates
        if pa.types.is_timestamp(array.type):
            micros = np.asarray(pc.cast(array.cast(pa.timestamp("us", array.type.tz)).fill_null(0), pa.int64()))
            infinite = (micros == np.iinfo(np.int64).max) | (micros == np.iinfo(np.int64).min)  # ±infinity stay
            values = np.where(infinite, micros, micros - 946_684_800_000_000).astype(">i8")
        else:
            values = (np.asarray(pc.cast(array.fill_null(0), pa.int32())) - 10_957).astype(">i4")
        width = values.dtype.itemsize
        lengths = np.where(valid, width, -1).astype(np.int64)
        return lengths, np.arange(n, dtype=np.int64) * width, values.view(np.uint8)
    if fmt == 1 and pg.oid in fixed and pa.types.is_integer(array.type) | pa.types.is_floating(array.type):
        values = np.asarray(array.fill_null(0)).astype(fixed[pg.oid])
        width = values.dtype.itemsize
        lengths = np.where(valid, width, -1).astype(np.int64)
        return lengths, np.arange(n, dtype=np.int64) * width, values.view(np.uint8)
    whole = _string_list_column(array, fmt) or (_numeric_binary_column(array) if fmt == 1 else None)
    if whole is not None:
        return whole
    is_string = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    vectorised = None if is_string or fmt != 0 else _text_array(array)
    if is_string or vectorised is not None:  # a string's text and binary forms are the same bytes
        text = array if is_string else vectorised
        if not pa.types.is_string(text.type) and not pa.types.is_large_string(text.type):
            text = pc.cast(text, pa.string())
        if pa.types.is_large_string(text.type):
            text = pc.cast(text, pa.string())
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=n + 1, offset=text.offset * 4).astype(np.int64)
        data_buffer = text.buffers()[2]
        data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        lengths = np.where(valid, offsets[1:] - offsets[:-1], -1)
        return lengths, offsets[:-1], data
    values = binary_column(array, pg) if fmt == 1 else text_column(array)
    lengths = np.array([-1 if v is None else len(v) for v in values], dtype=np.int64)
    data = np.frombuffer(b"".join(v for v in values if v is not None), dtype=np.uint8)
    starts = np.zeros(n, dtype=np.int64)
    if n:
        starts[1:] = np.cumsum(np.maximum(lengths, 0))[:-1]
    return lengths, starts, data


def _field_array(lengths: np.ndarray, starts: np.ndarray, data: np.ndarray) -> pa.Array:
    """One column's DataRow fields (int32 length, then the bytes; -1 and nothing for NULL) as an
    Arrow binary array."""
    n = len(lengths)
    size = np.maximum(lengths, 0)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(size, out=offsets[1:])
    total = int(offsets[-1])
    if not (np.array_equal(starts, offsets[:-1]) and len(data) >= total):  # gather in row order
        keep = size > 0
        data = data[np.repeat(starts[keep] - offsets[:-1][keep], size[keep]) + np.arange(total, dtype=np.int64)]
    payload = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data[:total]))]
    )
    prefix = _fixed_binary(lengths.astype(">i4").view(np.uint8), 4, n)
    return pc.binary_join_element_wise(prefix, payload, _EMPTY)


def _fixed_binary(data: np.ndarray, width: int, n: int) -> pa.Array:
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(data)]).cast(pa.large_binary())


_EMPTY = pa.scalar(b"", pa.large_binary())


def encode_rows_bulk(table: pa.Table, formats: list[int]) -> memoryview:
    """All DataRow messages of a table as one buffer: each column is encoded whole (Arrow buffers
    for strings and numbers, vectorised big-endian for binary numbers, dates and timestamps, the
    per-value encoders above for the rest), then Arrow joins the fields row by row
    (``binary_join_element_wise``), so that the rows lie one after the other in one data buffer."""
    n, ncols = table.num_rows, table.num_columns
    if n == 0:
        return memoryview(b"")
    fields = []
    total = np.zeros(n, dtype=np.int64)
    for i, column in enumerate(table.columns):
        fmt = formats[0] if len(formats) == 1 else (formats[i] if i < len(formats) else 0)
        lengths, starts, data = _column_parts(column, fmt)
        total += 4 + np.maximum(lengths, 0)
        fields.append(_field_array(lengths, starts, data))
    header = np.empty(n, dtype=[("kind", "u1"), ("length", ">i4"), ("ncols", ">i2")])
    header["kind"] = ord("D")
    header["length"] = 6 + total  # itself, the column count, the fields
    header["ncols"] = ncols
    rows = pc.binary_join_element_wise(_fixed_binary(header.view(np.uint8), 7, n), *fields, _EMPTY)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64, count=n + 1, offset=rows.offset * 8)
    return memoryview(rows.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
