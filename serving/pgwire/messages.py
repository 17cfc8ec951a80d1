"""Backend message encoding and frontend message decoding (PostgreSQL protocol v3)."""

from __future__ import annotations

import struct
from collections.abc import Iterable

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def authentication(code: int, data: bytes = b"") -> bytes:
    return message(b"R", struct.pack("!i", code) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!ii", pid, secret))


def ready_for_query(status: bytes) -> bytes:
    return message(b"Z", status)


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def empty_query_response() -> bytes:
    return message(b"I")


def parse_complete() -> bytes:
    return message(b"1")


def bind_complete() -> bytes:
    return message(b"2")


def close_complete() -> bytes:
    return message(b"3")


def no_data() -> bytes:
    return message(b"n")


def portal_suspended() -> bytes:
    return message(b"s")


def parameter_description(type_oids: Iterable[int]) -> bytes:
    oids = list(type_oids)
    return message(b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def row_description(fields: Iterable[tuple[str, int, int, int, int]]) -> bytes:
    """fields: (name, type oid, type size, type modifier, format code)."""
    fields = list(fields)
    body = struct.pack("!h", len(fields))
    for name, oid, size, modifier, fmt in fields:
        body += cstr(name) + struct.pack("!IhIhih", 0, 0, oid, size, modifier, fmt)
    return message(b"T", body)


def error_response(
    sqlstate: str,
    text: str,
    *,
    severity: str = "ERROR",
    detail: str | None = None,
    hint: str | None = None,
    position: int | None = None,
) -> bytes:
    body = b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(sqlstate) + b"M" + cstr(text)
    if detail:
        body += b"D" + cstr(detail)
    if hint:
        body += b"H" + cstr(hint)
    if position:
        body += b"P" + cstr(str(position))
    return message(b"E", body + b"\0")


def notice_response(text: str, sqlstate: str = "00000") -> bytes:
    return message(
        b"N", b"S" + cstr("NOTICE") + b"V" + cstr("NOTICE") + b"C" + cstr(sqlstate) + b"M" + cstr(text) + b"\0"
    )


class MessageError(Exception):
    """A frontend message that cannot be decoded: answered with an ErrorResponse, as PostgreSQL does."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


def utf8(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise MessageError("22021", f'invalid byte sequence for encoding "UTF8": 0x{raw[exc.start]:02x}') from exc


class Reader:
    """Decoding of one frontend message body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _unpack(self, fmt: str, size: int) -> int:
        if self.pos + size > len(self.data):
            raise MessageError("08P01", "insufficient data left in message")
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return v

    def int16(self) -> int:
        return self._unpack("!h", 2)

    def int32(self) -> int:
        return self._unpack("!i", 4)

    def uint32(self) -> int:
        return self._unpack("!I", 4)

    def cstr(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise MessageError("08P01", "invalid string in message")
        text = utf8(self.data[self.pos : end])
        self.pos = end + 1
        return text

    def bytes(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MessageError("08P01", "insufficient data left in message")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out
