"""HJ 212 framing: CRC variants, packet encoding and an incremental framer for TCP streams.

A packet is `##` + 4 decimal digits (length of the data segment) + data segment + 4 hex digits
(CRC of the data segment) + `\\r\\n`. The data segment is `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;
[PNUM=…;PNO=…;]CP=&&…&&` (2005 loggers omit QN and often Flag).

The HJ 212 CRC is *not* CRC-16/MODBUS: each byte replaces the low byte instead of being xored into
it (`reg = (reg >> 8) ^ byte`, then eight reflected 0xA001 shifts). Table form:
`reg = T[(reg >> 8) ^ byte]`. Some devices send the MODBUS CRC instead, so the variant is chosen
per MN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numba
import numpy as np

# Data segment length allowed by the standard (0–1024 characters).
MAX_DATA_LENGTH = 1024
# `##` + 4 digits, and 4 CRC digits + CRLF.
HEADER_LENGTH = 6
TRAILER_LENGTH = 6
MAX_FRAME_LENGTH = HEADER_LENGTH + MAX_DATA_LENGTH + TRAILER_LENGTH
# A declared length can be up to 9999; past this many bytes without a terminator we stop waiting.
MAX_SCAN_LENGTH = HEADER_LENGTH + 9999 + TRAILER_LENGTH
# The scanner never holds more than this (the gateway's per-connection memory bound).
MAX_BUFFER = 1 << 20
# Garbage without `##` or CRLF is held until this much has accumulated, so a stream of junk fed
# byte by byte becomes a few records instead of one per byte.
GARBAGE_FLUSH = 4096
# Chunks are consumed in slices of this size so that a huge chunk never makes the buffer exceed
# MAX_BUFFER.
_FEED_STEP = 64 * 1024

STATUS_OK = "ok"
STATUS_BAD_CRC = "bad_crc"
STATUS_BAD_LENGTH = "bad_length"
STATUS_GARBAGE = "garbage"
# Numeric codes of the statuses in the landing log index (segments.INDEX_DTYPE["status"]).
STATUS_CODES = {STATUS_OK: 0, STATUS_BAD_CRC: 1, STATUS_BAD_LENGTH: 2, STATUS_GARBAGE: 3}

CRC_HJ212 = "hj212"
CRC_MODBUS = "modbus"
CRC_VARIANTS = (CRC_HJ212, CRC_MODBUS)

# Flag bits (HJ 212-2017 §6.3.3).
FLAG_ACK_WANTED = 0x01  # A: the sender wants a reply
FLAG_SPLIT = 0x02  # D: split packet, PNUM/PNO present
FLAG_VERSION_SHIFT = 2  # bits 2–7: protocol version (1 = 2017)

# Reply to a data upload (CN 9014 "data reply", system-interaction ST 91).
REPLY_ST = "91"
REPLY_CN = "9014"


def _make_table() -> tuple[int, ...]:
    table = []
    for x in range(256):
        reg = x
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)


# T[x]: eight reflected 0xA001 shifts of x. Shared by both variants.
CRC_TABLE = _make_table()


_TABLE = np.array(CRC_TABLE, dtype=np.uint16)


# compiled: the gateway checks the CRC of every packet it receives and of every reply it writes,
# and the Python loop over ~500 bytes was 40 % of its CPU per packet
@numba.njit(cache=True, nogil=True)
def _crc_hj212(data: np.ndarray, table: np.ndarray) -> int:
    reg = 0xFFFF
    for byte in data:
        reg = table[(reg >> 8) ^ byte]
    return reg


@numba.njit(cache=True, nogil=True)
def _crc_modbus(data: np.ndarray, table: np.ndarray) -> int:
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ table[(reg ^ byte) & 0xFF]
    return reg


def crc16_hj212(data: bytes) -> int:
    """HJ 212 CRC of `data` (the data segment only): reg = T[(reg >> 8) ^ byte] from 0xFFFF."""
    return int(_crc_hj212(np.frombuffer(data, dtype=np.uint8), _TABLE))


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS of `data`, sent by some devices in place of the HJ 212 variant."""
    return int(_crc_modbus(np.frombuffer(data, dtype=np.uint8), _TABLE))


def crc16(data: bytes, variant: str = CRC_HJ212) -> int:
    if variant == CRC_HJ212:
        return crc16_hj212(data)
    if variant == CRC_MODBUS:
        return crc16_modbus(data)
    raise ValueError(f"unknown HJ 212 CRC variant {variant!r}; expected one of {CRC_VARIANTS}")


def format_cp(data_time: str | None = None, pollutants: Mapping[str, Mapping[str, object]] | None = None) -> str:
    """CP content (without the `&&` wrappers): `DataTime=…;code-Field=v,code-Field=v;…`.

    `pollutants` maps a pollutant code to its fields in order, e.g. {"w01018": {"Rtd": 12.5, "Flag": "N"}}.
    Values are written with `str()`, so floats keep their shortest round-trip form.
    """
    items = []
    if data_time is not None:
        items.append(f"DataTime={data_time}")
    for code, fields in (pollutants or {}).items():
        items.append(",".join(f"{code}-{name}={value}" for name, value in fields.items()))
    return ";".join(items)


def encode_data_segment(
    *,
    qn: str | None,
    st: str | int,
    cn: str | int,
    pw: str,
    mn: str,
    flag: int | None,
    cp: str,
    pnum: int | None = None,
    pno: int | None = None,
) -> str:
    """The data segment of a packet, fields in the standard's order; `cp` is the CP content."""
    parts = []
    if qn is not None:
        parts.append(f"QN={qn}")
    parts.append(f"ST={st}")
    parts.append(f"CN={cn}")
    parts.append(f"PW={pw}")
    parts.append(f"MN={mn}")
    if flag is not None:
        parts.append(f"Flag={flag}")
    if pnum is not None:
        parts.append(f"PNUM={pnum}")
    if pno is not None:
        parts.append(f"PNO={pno}")
    parts.append(f"CP=&&{cp}&&")
    return ";".join(parts)


def frame_data_segment(data: bytes, crc: str = CRC_HJ212) -> bytes:
    """Wrap a data segment into a complete `##dddd…CRC\\r\\n` frame."""
    if len(data) > MAX_DATA_LENGTH:
        raise ValueError(f"HJ 212 data segment is {len(data)} bytes; the standard allows at most {MAX_DATA_LENGTH}")
    return b"##%04d%s%04X\r\n" % (len(data), data, crc16(data, crc))


def encode_packet(
    *,
    qn: str | None,
    st: str | int,
    cn: str | int,
    pw: str,
    mn: str,
    flag: int | None,
    cp: str,
    pnum: int | None = None,
    pno: int | None = None,
    crc: str = CRC_HJ212,
) -> bytes:
    """A complete packet. `qn` and `flag` may be None (2005 loggers send neither)."""
    segment = encode_data_segment(qn=qn, st=st, cn=cn, pw=pw, mn=mn, flag=flag, cp=cp, pnum=pnum, pno=pno)
    try:
        data = segment.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError(f"HJ 212 data segment must be ASCII: {segment[:80]!r}") from exc
    return frame_data_segment(data, crc)


def encode_reply(*, qn: str | None, pw: str | None, mn: str | None, crc: str = CRC_HJ212) -> bytes:
    """The data reply (ST 91, CN 9014, Flag 4) to an upload whose Flag asked for one."""
    segment = f"QN={qn or ''};ST={REPLY_ST};CN={REPLY_CN};PW={pw or ''};MN={mn or ''};Flag=4;CP=&&&&"
    return frame_data_segment(segment.encode("latin-1"), crc)


class Frame(NamedTuple):
    """One record of a TCP stream: a framed packet (valid or not) or a run of garbage bytes.

    `raw` is the bytes verbatim (every received byte belongs to exactly one frame); `data` the data
    segment (b"" for garbage). Header fields are parsed for ok/bad_crc/bad_length frames when
    present, else None.
    """

    raw: bytes
    status: str
    data: bytes
    mn: str | None = None
    qn: str | None = None
    cn: str | None = None
    flag: int | None = None
    pw: str | None = None
    pnum: int | None = None
    pno: int | None = None
    st: str | None = None
    crc_variant: str | None = None
    crc_sent: int | None = None
    crc_expected: int | None = None

    @property
    def wants_reply(self) -> bool:
        """True for a valid packet whose Flag has bit 0 (A) set."""
        return self.status == STATUS_OK and self.flag is not None and bool(self.flag & FLAG_ACK_WANTED)


_HEADER_KEYS = {
    "QN": "qn",
    "ST": "st",
    "CN": "cn",
    "PW": "pw",
    "MN": "mn",
    "Flag": "flag",
    "PNUM": "pnum",
    "PNO": "pno",
}


def parse_header(data: bytes) -> dict[str, str | int | None]:
    """QN/ST/CN/PW/MN/Flag/PNUM/PNO of a data segment (the part before `CP=`); absent keys are None.

    Flag/PNUM/PNO are ints when they are decimal digits, else None.
    """
    text = data.decode("latin-1")
    if text.startswith("CP="):
        head = ""
    else:
        cut = text.find(";CP=")
        head = text if cut < 0 else text[:cut]
    fields: dict[str, str | int | None] = dict.fromkeys(_HEADER_KEYS.values())
    for item in head.split(";"):
        key, sep, value = item.partition("=")
        name = _HEADER_KEYS.get(key)
        if not sep or name is None or fields[name] is not None:
            continue
        if name in ("flag", "pnum", "pno"):
            fields[name] = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None
        else:
            fields[name] = value
    return fields


CrcVariantLookup = Mapping[str, str] | Callable[[str | None], str | None] | None


class FrameScanner:
    """Incremental framer for one TCP connection.

    `feed(chunk)` returns the frames completed by the chunk, in stream order; `flush()` at end of
    stream returns whatever is left. Every byte fed ends up in exactly one frame's `raw`, so the
    gateway can land the stream verbatim. After garbage or a broken frame the scanner resynchronises
    on the next `##`. It holds at most `MAX_SCAN_LENGTH + 64 KiB` bytes, well under `MAX_BUFFER`.

    `crc_variant` gives the CRC variant of an MN (a mapping or a callable; MNs it does not know, and
    None, use the HJ 212 variant).
    """

    def __init__(self, crc_variant: CrcVariantLookup = None) -> None:
        self._buf = bytearray()
        if crc_variant is None:
            self._variant_of: Callable[[str | None], str | None] = lambda mn: None
        elif isinstance(crc_variant, Mapping):
            mapping = crc_variant
            self._variant_of = lambda mn: mapping.get(mn) if mn is not None else None
        else:
            self._variant_of = crc_variant

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Frame]:
        frames: list[Frame] = []
        view = memoryview(chunk).cast("B")
        for start in range(0, len(view), _FEED_STEP):
            self._buf += view[start : start + _FEED_STEP]
            self._scan(frames, final=False)
            if len(self._buf) > MAX_BUFFER:  # unreachable by construction; a bound the gateway relies on
                raise AssertionError(f"FrameScanner holds {len(self._buf)} bytes, over its {MAX_BUFFER} bound")
        return frames

    def flush(self) -> list[Frame]:
        """End of stream: the frames still buffered, a trailing incomplete one as bad_length/garbage."""
        frames: list[Frame] = []
        self._scan(frames, final=True)
        return frames

    def _scan(self, frames: list[Frame], final: bool) -> None:
        buf = self._buf
        n = len(buf)
        pos = 0
        while pos < n:
            if not (buf.startswith(b"##", pos) and n - pos >= HEADER_LENGTH and buf[pos + 2 : pos + 6].isdigit()):
                if buf.startswith(b"##", pos) and n - pos < HEADER_LENGTH and not final:
                    # `##` and part of the length: could still be a good header.
                    if all(0x30 <= b <= 0x39 for b in buf[pos + 2 : n]):
                        break
                if n - pos == 1 and buf[pos] == 0x23 and not final:
                    break  # a lone `#` may be the start of `##`
                end = _garbage_end(buf, pos, n, final)
                if end is None:
                    break
                frames.append(Frame(bytes(buf[pos:end]), STATUS_GARBAGE, b""))
                pos = end
                continue
            length = int(buf[pos + 2 : pos + 6])
            full = pos + HEADER_LENGTH + length + TRAILER_LENGTH
            if length <= MAX_DATA_LENGTH and n >= full and buf[full - 2 : full] == b"\r\n":
                frames.append(self._checked(bytes(buf[pos:full]), length))
                pos = full
                continue
            # Not a well-formed frame, or not complete yet. A CRLF or a new `##` before the declared
            # end means the length is wrong (data segments are printable: neither can occur inside).
            crlf = buf.find(b"\r\n", pos + HEADER_LENGTH)
            nxt = buf.find(b"##", pos + 2)
            ends = [e for e in (crlf + 2 if crlf >= 0 else -1, nxt) if e >= 0]
            if ends:
                end = min(ends)
            elif final or n - pos >= MAX_SCAN_LENGTH:
                end = n
            else:
                break
            raw = bytes(buf[pos:end])
            frames.append(_bad_length(raw))
            pos = end
        if pos:
            del buf[:pos]

    def _checked(self, raw: bytes, length: int) -> Frame:
        data = raw[HEADER_LENGTH : HEADER_LENGTH + length]
        header = parse_header(data)
        variant = self._variant_of(header["mn"]) or CRC_HJ212  # type: ignore[arg-type]
        if variant not in CRC_VARIANTS:
            variant = CRC_HJ212
        expected = crc16(data, variant)
        crc_text = raw[HEADER_LENGTH + length : HEADER_LENGTH + length + 4]
        sent = int(crc_text, 16) if _is_hex(crc_text) else None
        status = STATUS_OK if sent == expected else STATUS_BAD_CRC
        return Frame(raw, status, data, crc_variant=variant, crc_sent=sent, crc_expected=expected, **header)  # type: ignore[arg-type]


def _is_hex(text: bytes) -> bool:
    return len(text) == 4 and all(c in b"0123456789abcdefABCDEF" for c in text)


def _garbage_end(buf: bytearray, pos: int, n: int, final: bool) -> int | None:
    """End (exclusive) of the garbage run starting at pos, or None to wait for more bytes."""
    nxt = buf.find(b"##", pos + 1)
    crlf = buf.find(b"\r\n", pos)
    ends = [e for e in (nxt, crlf + 2 if crlf >= 0 else -1) if e > pos]
    if ends:
        return min(ends)
    if final:
        return n
    if n - pos >= GARBAGE_FLUSH:
        # Keep a trailing `#` (or `\r`): it may start the next `##` (or end a CRLF).
        return n - 1 if buf[n - 1] in (0x23, 0x0D) else n
    return None


def _bad_length(raw: bytes) -> Frame:
    data = raw[HEADER_LENGTH:]
    if data.endswith(b"\r\n"):
        data = data[:-TRAILER_LENGTH] if len(data) >= TRAILER_LENGTH else b""
    header = parse_header(data)
    return Frame(raw, STATUS_BAD_LENGTH, data, **header)  # type: ignore[arg-type]
