"""Vectorised decoder of HJ 212 landing-log segments into typed long rows.

`decode(data, index)` turns the bytes of one segment (see `segments.py`) into three Polars frames
(`Decoded`): one row per index record (`packets`), one row per pollutant value (`values`), and the
records that are not published with the rule they broke (`quarantine`). Every index record is in
`packets`; it is published (its values are in `values`) exactly when its `quarantine_rule` is null,
and then it is not in `quarantine`.

The hot path is one compiled pass (numba) over all packets: framing, declared length, CRC (HJ 212 or
MODBUS per MN), header fields, CP items, DataTime and numbers, writing into preallocated arrays.
Strings that repeat (MN, ST, CN, PW, pollutant codes, field names, flags) are interned by the same
pass into ids, so the frames carry them as Polars Enums built from a handful of distinct values;
only QN, the peer address and the quarantined raw text are materialised per packet, by compiled
loops writing Arrow buffers.
The gateway's status byte is not trusted: framing and CRC are checked again here.

data_time is the DataTime the logger sent: naive local time (UTC+8 as the standard sends it), not
converted. received_at is the gateway's receive time in UTC.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np
import polars as pl
import pyarrow as pa

from pipelines import standards
from pipelines.hj212.protocol import CRC_HJ212, CRC_MODBUS, CRC_TABLE, MAX_DATA_LENGTH
from pipelines.hj212.segments import INDEX_DTYPE, read_segment

STANDARDS_DIR = Path(__file__).resolve().parents[2] / "standards"

STATUS_NAMES = ("ok", "bad_crc", "bad_length", "garbage")
VARIANT_NAMES = (CRC_HJ212, CRC_MODBUS)

# Quarantine rules; the codes are what the compiled pass writes, the names what the frames carry.
RULE_NONE = 0
RULE_FRAMING = 1
RULE_BAD_LENGTH = 2
RULE_BAD_CRC = 3
RULE_NO_MN = 4
RULE_BAD_HEADER = 5
RULE_NO_CP = 6
RULE_BAD_DATA_TIME = 7
RULE_BAD_CP_ITEM = 8
RULE_BAD_VALUE = 9
RULE_BAD_PASSWORD = 10
RULE_NAMES = {
    RULE_FRAMING: "framing",
    RULE_BAD_LENGTH: "bad_length",
    RULE_BAD_CRC: "bad_crc",
    RULE_NO_MN: "no_mn",
    RULE_BAD_HEADER: "bad_header",
    RULE_NO_CP: "no_cp",
    RULE_BAD_DATA_TIME: "bad_data_time",
    RULE_BAD_CP_ITEM: "bad_cp_item",
    RULE_BAD_VALUE: "bad_value",
    RULE_BAD_PASSWORD: "bad_password",
}
# Detail codes refine the reason of a rule (which header field, what is wrong with DataTime, …).
DETAIL_MISSING = 1
DETAIL_NOT_A_NUMBER = 2
DETAIL_REPEATED = 3
DETAIL_INVALID = 4
DETAIL_EMPTY = 5

# Header keys, numbered as in the compiled pass.
_K_QN, _K_ST, _K_CN, _K_PW, _K_MN, _K_FLAG, _K_PNUM, _K_PNO = range(8)
HEADER_KEY_NAMES = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")

# Per packet the compiled pass may add at most this many rows / interned strings (a 1024-byte data
# segment holds at most 1024 / 6 `a-b=1;` items); it stops and asks for room before a packet when
# fewer remain, so no packet is ever cut in half.
_MAX_ROWS_PER_PACKET = MAX_DATA_LENGTH // 4
# A record of n bytes adds at most n // 2 + 16 strings to the intern table (a new string per two
# bytes at most); the pass asks for that much room before each record. The table starts small
# (1,024 strings, 2,048 slots: 8 KB) because its slots are probed at random for every code and
# field name; a province's MNs and codes are a few thousand strings, so it grows a few times.
_STRINGS_MARGIN = 16
_MIN_STRINGS = 1024
# Below this many packets per thread, threads cost more than they save.
_MIN_CHUNK_PACKETS = 20_000
# Segments whose compiled pass runs ahead (on their own threads) of the one being assembled.
_PIPELINE_DEPTH = 2

_CRC_TABLE = np.array(CRC_TABLE, dtype=np.uint16)
# The HJ 212 variant only ever keeps the high byte between bytes (reg = T[(reg >> 8) ^ byte]), so
# its running state is 8 bits: h = T[h ^ byte] >> 8, and the final CRC is T[h ^ last byte].
_CRC_HIGH = (_CRC_TABLE >> 8).astype(np.uint8)
_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)

_KEY_CP = np.frombuffer(b"CP", dtype=np.uint8)
_KEY_DATATIME = np.frombuffer(b"DataTime", dtype=np.uint8)
_KEY_FLAG_FIELD = np.frombuffer(b"Flag", dtype=np.uint8)
_KEY_EFLAG_FIELD = np.frombuffer(b"EFlag", dtype=np.uint8)
_HEADER_KEYS = [np.frombuffer(k.encode(), dtype=np.uint8) for k in HEADER_KEY_NAMES]
_HK0, _HK1, _HK2, _HK3, _HK4, _HK5, _HK6, _HK7 = _HEADER_KEYS


NO_TIME = np.iinfo(np.int64).min  # data_time not given


class Decoded(NamedTuple):
    packets: pl.DataFrame
    values: pl.DataFrame
    quarantine: pl.DataFrame


# --------------------------------------------------------------------------- compiled pass


@numba.njit(cache=True, inline="always")
def _eq(data, s, n, key):
    if n != key.shape[0]:
        return False
    for j in range(n):
        if data[s + j] != key[j]:
            return False
    return True


@numba.njit(cache=True, inline="always")
def _digits(data, s, n):
    """Value of n ASCII digits at s, or -1 when one is not a digit (n ≤ 18)."""
    v = 0
    for j in range(n):
        c = data[s + j]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@numba.njit(cache=True, inline="always")
def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@numba.njit(cache=True, inline="always")
def _intern_key(data, s, n):
    """A 64-bit key of data[s:s+n]: the bytes themselves for n ≤ 7 (exact: codes, field names,
    flags, ST, CN are that short), else an FNV-1a hash marked by the top bit."""
    if n <= 7:
        key = np.uint64(n) << np.uint64(56)
        for j in range(n):
            key |= np.uint64(data[s + j]) << np.uint64(8 * j)
        return key
    h = np.uint64(2166136261)
    for j in range(n):
        h = ((h ^ np.uint64(data[s + j])) * np.uint64(16777619)) & np.uint64(0xFFFFFFFF)
    return h | (np.uint64(1) << np.uint64(63))


@numba.njit(cache=True, inline="always")
def _slot_of(key, mask):
    return np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)) & mask


@numba.njit(cache=True, inline="always")
def _intern(data, s, n, slots, u_start, u_len, u_key, counts):
    """Id of the byte string data[s:s+n] in the intern table (adding it when new)."""
    key = _intern_key(data, s, n)
    mask = slots.shape[0] - 1
    k = _slot_of(key, mask)
    while True:
        sid = slots[k]
        if sid < 0:
            sid = counts[0]
            counts[0] = sid + 1
            slots[k] = sid
            u_start[sid] = s
            u_len[sid] = n
            u_key[sid] = key
            return sid
        if u_key[sid] == key and u_len[sid] == n:
            if n <= 7:
                return sid
            us = u_start[sid]
            same = True
            for j in range(n):
                if data[us + j] != data[s + j]:
                    same = False
                    break
            if same:
                return sid
        k = (k + 1) & mask


@numba.njit(cache=True)
def _rehash(u_key, count, slots):
    mask = slots.shape[0] - 1
    for sid in range(count):
        k = _slot_of(u_key[sid], mask)
        while slots[k] >= 0:
            k = (k + 1) & mask
        slots[k] = sid


@numba.njit(cache=True, inline="always")
def _parse_number(data, s, n, pow10):
    """(value, ok, exact) of a decimal number like -12.5, .5, 3e-2.

    With at most 15 significant digits and a power of ten up to 22 the result is m / 10^k or
    m * 10^k of two exact doubles, which IEEE division/multiplication rounds correctly (Clinger's
    fast path), so it equals Python's float(); otherwise `exact` is False and the caller re-parses
    the text with float().
    """
    j = 0
    neg = False
    if n > 0 and (data[s] == 45 or data[s] == 43):
        neg = data[s] == 45
        j = 1
    mant = np.int64(0)
    sig = 0  # significant digits seen (leading zeros excluded)
    frac = 0  # digits after the point that went into mant
    ndigits = 0
    seen_dot = False
    while j < n:
        c = data[s + j]
        if 48 <= c <= 57:
            ndigits += 1
            if sig > 0 or c != 48:
                sig += 1
            if sig <= 15:
                mant = mant * 10 + (c - 48)
                if seen_dot:
                    frac += 1
        elif c == 46 and not seen_dot:
            seen_dot = True
        else:
            break
        j += 1
    if ndigits == 0:
        return 0.0, False, True
    exp = 0
    if j < n and (data[s + j] == 101 or data[s + j] == 69):
        j += 1
        eneg = False
        if j < n and (data[s + j] == 45 or data[s + j] == 43):
            eneg = data[s + j] == 45
            j += 1
        if j >= n:
            return 0.0, False, True
        while j < n:
            c = data[s + j]
            if c < 48 or c > 57:
                return 0.0, False, True
            if exp < 100000:
                exp = exp * 10 + (c - 48)
            j += 1
        if eneg:
            exp = -exp
    if j != n:
        return 0.0, False, True
    if sig > 15:
        return 0.0, True, False
    k = exp - frac
    v = float(mant)
    exact = True
    if k < 0:
        if -k <= 22:
            v = v / pow10[-k]
        else:
            exact = False
    elif k > 0:
        if k <= 22:
            v = v * pow10[k]
        else:
            exact = False
    if neg:
        v = -v
    return v, True, exact


@numba.njit(cache=True, inline="always")
def _days_from_civil(y, m, d):
    y = y - (1 if m <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@numba.njit(cache=True)
def _parse_datatime(data, s, n):
    """Microseconds since 1970 (naive) of yyyyMMddHHmmss or yyyyMMddHHmmssSSS; (0, False) if invalid."""
    if n != 14 and n != 17:
        return np.int64(0), False
    y = _digits(data, s, 4)
    mo = _digits(data, s + 4, 2)
    d = _digits(data, s + 6, 2)
    hh = _digits(data, s + 8, 2)
    mi = _digits(data, s + 10, 2)
    ss = _digits(data, s + 12, 2)
    ms = _digits(data, s + 14, 3) if n == 17 else 0
    if y < 0 or mo < 1 or mo > 12 or d < 1 or hh < 0 or hh > 23 or mi < 0 or mi > 59 or ss < 0 or ss > 59 or ms < 0:
        return np.int64(0), False
    if mo == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        dim = 29 if leap else 28
    elif mo == 4 or mo == 6 or mo == 9 or mo == 11:
        dim = 30
    else:
        dim = 31
    if d > dim:
        return np.int64(0), False
    days = _days_from_civil(np.int64(y), np.int64(mo), np.int64(d))
    return ((days * 86400 + hh * 3600 + mi * 60 + ss) * 1000 + ms) * np.int64(1000), True


@numba.njit(cache=True)
def _variant_of(mn_id, mn_s, mn_n, data, variant_cache, mb_buf, mb_off, mb_len):
    """0 (HJ 212) or 1 (MODBUS) for an interned MN; looked up once per distinct MN."""
    if mn_id < 0 or mb_off.shape[0] == 0:
        return 0
    v = variant_cache[mn_id]
    if v >= 0:
        return v
    v = 0
    for q in range(mb_off.shape[0]):
        if mb_len[q] == mn_n:
            same = True
            for j in range(mn_n):
                if mb_buf[mb_off[q] + j] != data[mn_s + j]:
                    same = False
                    break
            if same:
                v = 1
                break
    variant_cache[mn_id] = v
    return v


@numba.njit(cache=True, inline="always")
def _segment_span(data, s, n):
    """(start, length) of the data segment when the record is framed as ##dddd…XXXX CR LF, else (s, -1)."""
    if n < 12 or data[s] != 35 or data[s + 1] != 35:
        return s, -1
    dl = _digits(data, s + 2, 4)
    if dl < 0 or dl > MAX_DATA_LENGTH or dl + 12 != n:
        return s, -1
    return s + 6, dl


@numba.njit(cache=True, nogil=True)
def _scan_item(data, p, end, in_cp):
    """(q, eq, dash) of the item starting at p: q is the next ';' (in CP also ',') or end, eq the
    first '=' before q and dash the first '-' before eq (-1: none). Past the '=' only the end of
    the item is looked for."""
    q = p
    eq = -1
    dash = -1
    while q < end:
        c = data[q]
        if c == 59 or (in_cp and c == 44):
            return q, eq, dash
        if c == 61:
            eq = q
            q += 1
            break
        if c == 45 and dash < 0:
            dash = q
        q += 1
    while q < end:
        c = data[q]
        if c == 59 or (in_cp and c == 44):
            break
        q += 1
    return q, eq, dash


@numba.njit(cache=True, nogil=True)
def _crc_pass(data, offsets, lengths, crc_table, crc_high, out):
    """HJ 212 CRC of every framed record's data segment (-1 for the others).

    Four records at a time: each CRC is a chain of dependent table loads, so interleaving four
    independent chains keeps the CPU busy instead of waiting on each load."""
    npk = offsets.shape[0]
    i = 0
    while i + 4 <= npk:
        s0, l0 = _segment_span(data, offsets[i], lengths[i])
        s1, l1 = _segment_span(data, offsets[i + 1], lengths[i + 1])
        s2, l2 = _segment_span(data, offsets[i + 2], lengths[i + 2])
        s3, l3 = _segment_span(data, offsets[i + 3], lengths[i + 3])
        m = max(min(min(l0, l1), min(l2, l3)) - 1, 0)
        h0 = h1 = h2 = h3 = np.uint8(0xFF)
        for j in range(m):
            h0 = crc_high[h0 ^ data[s0 + j]]
            h1 = crc_high[h1 ^ data[s1 + j]]
            h2 = crc_high[h2 ^ data[s2 + j]]
            h3 = crc_high[h3 ^ data[s3 + j]]
        out[i] = _crc_finish(data, s0, l0, m, h0, crc_table, crc_high)
        out[i + 1] = _crc_finish(data, s1, l1, m, h1, crc_table, crc_high)
        out[i + 2] = _crc_finish(data, s2, l2, m, h2, crc_table, crc_high)
        out[i + 3] = _crc_finish(data, s3, l3, m, h3, crc_table, crc_high)
        i += 4
    while i < npk:
        s0, l0 = _segment_span(data, offsets[i], lengths[i])
        out[i] = _crc_finish(data, s0, l0, 0, np.uint8(0xFF), crc_table, crc_high)
        i += 1


@numba.njit(cache=True, inline="always")
def _crc_finish(data, s, n, done, h, crc_table, crc_high):
    """Finish a CRC whose first `done` bytes are folded into the high-byte state h."""
    if n < 0:
        return -1
    reg = 0xFFFF
    for j in range(done, n):
        x = h ^ data[s + j]
        reg = crc_table[x]
        h = crc_high[x]
    return np.int64(reg)


@numba.njit(cache=True, nogil=True)
def _decode_kernel(
    data,
    offsets,
    lengths,
    first,
    crc_table,
    crc_hj212,
    pow10,
    mb_buf,
    mb_off,
    mb_len,
    # per packet
    p_status,
    p_rule,
    p_detail,
    p_pos,
    p_crc_sent,
    p_crc_exp,
    p_variant,
    p_hdr,
    p_qn_s,
    p_qn_n,
    p_flag,
    p_pnum,
    p_pno,
    p_dt,
    # rows
    r_pkt,
    r_code,
    r_field,
    r_value,
    r_flag,
    r_text,
    r_inexact,
    row_count,
    # intern table
    slots,
    u_start,
    u_len,
    u_hash,
    intern_count,
    variant_cache,
):
    """Decode packets first.. into the arrays; returns the next packet to do (len when all done).

    Returns early, before a packet, when the row arrays or the intern table might not hold it; the
    caller grows them and calls again from there.
    """
    npk = offsets.shape[0]
    flag_codes = np.empty(MAX_DATA_LENGTH, dtype=np.int32)
    flag_vals = np.empty(MAX_DATA_LENGTH, dtype=np.int32)
    for i in range(first, npk):
        s = np.int64(offsets[i])
        n = np.int64(lengths[i])
        strings_needed = intern_count[0] + (n >> 1) + _STRINGS_MARGIN
        if (
            row_count[0] + _MAX_ROWS_PER_PACKET > r_pkt.shape[0]
            or strings_needed > u_start.shape[0]
            or 2 * strings_needed > slots.shape[0]
        ):
            return i
        e = s + n
        rows0 = row_count[0]
        for k in range(8):
            p_hdr[i, k] = -1
        p_qn_s[i] = 0
        p_qn_n[i] = -1
        p_flag[i] = -1
        p_pnum[i] = -1
        p_pno[i] = -1
        p_dt[i] = NO_TIME
        p_crc_sent[i] = -1
        p_crc_exp[i] = -1
        p_variant[i] = 0
        p_detail[i] = 0
        p_pos[i] = -1
        # ---- framing: ##dddd <data> XXXX \r\n
        if n < 6 or data[s] != 35 or data[s + 1] != 35 or _digits(data, s + 2, 4) < 0:
            p_status[i] = 3
            p_rule[i] = RULE_FRAMING
            continue
        dl = _digits(data, s + 2, 4)
        if dl > MAX_DATA_LENGTH or dl + 12 != n or data[e - 2] != 13 or data[e - 1] != 10:
            p_status[i] = 2
            p_rule[i] = RULE_BAD_LENGTH
            p_detail[i] = dl
            continue
        ds = s + 6
        de = ds + dl
        crc_sent = 0
        for j in range(4):
            hv = _hexval(data[de + j])
            if hv < 0:
                crc_sent = -1
                break
            crc_sent = crc_sent * 16 + hv
        p_crc_sent[i] = crc_sent
        # ---- header: key=value;… up to CP=
        rule = RULE_NONE
        detail = 0
        pos = -1
        cp = -1
        p = ds
        while p < de:
            q, eq, _ = _scan_item(data, p, de, False)
            if q == p:  # an empty item (`;;`): tolerated
                p = q + 1
                continue
            if eq < 0:
                if rule == RULE_NONE:
                    rule = RULE_BAD_HEADER
                    detail = DETAIL_INVALID
                    pos = p - ds
                p = q + 1
                continue
            kn = eq - p
            if _eq(data, p, kn, _KEY_CP):
                cp = eq + 1
                break
            key = -1
            if _eq(data, p, kn, _HK0):
                key = 0
            elif _eq(data, p, kn, _HK1):
                key = 1
            elif _eq(data, p, kn, _HK2):
                key = 2
            elif _eq(data, p, kn, _HK3):
                key = 3
            elif _eq(data, p, kn, _HK4):
                key = 4
            elif _eq(data, p, kn, _HK5):
                key = 5
            elif _eq(data, p, kn, _HK6):
                key = 6
            elif _eq(data, p, kn, _HK7):
                key = 7
            # Other keys are vendor extensions: ignored. A repeated key keeps its first value.
            if key >= 0 and p_hdr[i, key] == -1 and not (key == 0 and p_qn_n[i] >= 0):
                vs = eq + 1
                vn = q - vs
                if key == 0:
                    p_qn_s[i] = vs
                    p_qn_n[i] = vn
                elif key == 5 or key == 6 or key == 7:
                    v = _digits(data, vs, vn) if 0 < vn <= 9 else -1
                    if v < 0:
                        if rule == RULE_NONE:
                            rule = RULE_BAD_HEADER
                            detail = DETAIL_NOT_A_NUMBER
                            pos = key
                        v = -2
                    if key == 5:
                        p_flag[i] = v
                    elif key == 6:
                        p_pnum[i] = v
                    else:
                        p_pno[i] = v
                    p_hdr[i, key] = 0
                else:
                    p_hdr[i, key] = _intern(data, vs, vn, slots, u_start, u_len, u_hash, intern_count)
            p = q + 1
        # ---- CRC over the data segment, in the MN's variant
        mn_id = p_hdr[i, _K_MN]
        variant = 0
        if mn_id >= 0:
            variant = _variant_of(mn_id, u_start[mn_id], u_len[mn_id], data, variant_cache, mb_buf, mb_off, mb_len)
        if variant == 0:
            reg = crc_hj212[i]
        else:
            reg = 0xFFFF
            for j in range(ds, de):
                reg = (reg >> 8) ^ crc_table[(reg ^ data[j]) & 0xFF]
        p_variant[i] = variant
        p_crc_exp[i] = reg
        if crc_sent != reg:
            p_status[i] = 1
            p_rule[i] = RULE_BAD_CRC
            continue
        p_status[i] = 0
        # Header verdicts come after the CRC: a packet with a bad CRC is reported as such.
        if rule == RULE_NONE:
            if mn_id < 0 or u_len[mn_id] == 0:
                rule = RULE_NO_MN
            elif p_hdr[i, _K_ST] < 0 or u_len[p_hdr[i, _K_ST]] == 0:
                rule = RULE_BAD_HEADER
                detail = DETAIL_MISSING
                pos = _K_ST
            elif p_hdr[i, _K_CN] < 0 or u_len[p_hdr[i, _K_CN]] == 0:
                rule = RULE_BAD_HEADER
                detail = DETAIL_MISSING
                pos = _K_CN
            elif cp < 0 or cp + 2 > de - 2 or data[cp] != 38 or data[cp + 1] != 38 or data[de - 2] != 38:
                rule = RULE_NO_CP
            elif data[de - 1] != 38:
                rule = RULE_NO_CP
        if rule != RULE_NONE:
            p_rule[i] = rule
            p_detail[i] = detail
            p_pos[i] = pos
            continue
        # ---- CP items: `;` separates items, `,` the fields of one item, each `key=value`.
        cs = cp + 2
        ce = de - 2
        have_dt = False
        group_rows = row_count[0]
        nflags = 0
        p = cs
        while p <= ce and rule == RULE_NONE:
            q, eq, dash = _scan_item(data, p, ce, True)
            if q > p:
                if eq < 0:
                    rule = RULE_BAD_CP_ITEM
                    pos = p - ds
                    break
                vs = eq + 1
                vn = q - vs
                if _eq(data, p, eq - p, _KEY_DATATIME):
                    if have_dt:
                        rule = RULE_BAD_DATA_TIME
                        detail = DETAIL_REPEATED
                        pos = p - ds
                        break
                    t, ok = _parse_datatime(data, vs, vn)
                    if not ok:
                        rule = RULE_BAD_DATA_TIME
                        detail = DETAIL_INVALID
                        pos = p - ds
                        break
                    p_dt[i] = t
                    have_dt = True
                elif dash >= 0:
                    if dash == p or dash + 1 == eq:
                        rule = RULE_BAD_CP_ITEM
                        pos = p - ds
                        break
                    code = _intern(data, p, dash - p, slots, u_start, u_len, u_hash, intern_count)
                    fs = dash + 1
                    fn = eq - fs
                    if _eq(data, fs, fn, _KEY_FLAG_FIELD):
                        if vn == 0:
                            rule = RULE_BAD_VALUE
                            detail = DETAIL_EMPTY
                            pos = p - ds
                            break
                        flag_codes[nflags] = code
                        flag_vals[nflags] = _intern(data, vs, vn, slots, u_start, u_len, u_hash, intern_count)
                        nflags += 1
                    else:
                        r = row_count[0]
                        r_pkt[r] = i
                        r_code[r] = code
                        r_field[r] = _intern(data, fs, fn, slots, u_start, u_len, u_hash, intern_count)
                        r_flag[r] = -1
                        r_text[r] = -1
                        r_inexact[r] = False
                        if _eq(data, fs, fn, _KEY_EFLAG_FIELD):
                            r_value[r] = np.nan
                            r_text[r] = _intern(data, vs, vn, slots, u_start, u_len, u_hash, intern_count)
                        else:
                            v, ok, exact = _parse_number(data, vs, vn, pow10)
                            if not ok:
                                rule = RULE_BAD_VALUE
                                detail = DETAIL_EMPTY if vn == 0 else DETAIL_NOT_A_NUMBER
                                pos = p - ds
                                break
                            r_value[r] = v
                            r_inexact[r] = not exact
                        row_count[0] = r + 1
                # else: a parameter item such as RtdInterval=30 (commands and replies): no value row
            if q >= ce or data[q] == 59:
                # End of an item: its fields' flags apply to its values of the same code.
                for f in range(nflags):
                    for r in range(group_rows, row_count[0]):
                        if r_code[r] == flag_codes[f]:
                            r_flag[r] = flag_vals[f]
                group_rows = row_count[0]
                nflags = 0
            p = q + 1
        if rule == RULE_NONE and row_count[0] > rows0 and not have_dt:
            rule = RULE_BAD_DATA_TIME
            detail = DETAIL_MISSING
        if rule != RULE_NONE:
            row_count[0] = rows0  # a quarantined packet publishes nothing
            p_rule[i] = rule
            p_detail[i] = detail
            p_pos[i] = pos
        else:
            p_rule[i] = RULE_NONE
    return npk


# --------------------------------------------------------------------------- codes


@functools.cache
def code_map_2005() -> dict[str, str]:
    """HJ/T 212-2005 code → HJ 212-2017 code, from the standards table (the CSV is the source)."""
    table = next(t for t in standards.load_catalog(STANDARDS_DIR) if t.name == "hj212_pollutant_codes")
    mapping: dict[str, str] = {}
    for row in standards.read_rows(table):
        old, new = row["code_2005"], row["code_2017"]
        if old and new:
            if mapping.get(old, new) != new:
                raise ValueError(f"{table.file}: 2005 code {old} maps to both {mapping[old]} and {new}")
            mapping[old] = new
    return mapping


# --------------------------------------------------------------------------- driver


class _Arrays:
    """Growable output arrays of the compiled pass."""

    def __init__(self, npk: int, est_rows: int, est_strings: int) -> None:
        self.p_status = np.zeros(npk, np.uint8)
        self.p_rule = np.zeros(npk, np.uint8)
        self.p_detail = np.zeros(npk, np.int32)
        self.p_pos = np.zeros(npk, np.int32)
        self.p_crc_sent = np.zeros(npk, np.int32)
        self.p_crc_exp = np.zeros(npk, np.int32)
        self.p_variant = np.zeros(npk, np.uint8)
        self.p_hdr = np.zeros((npk, 8), np.int32)
        self.p_qn_s = np.zeros(npk, np.int64)
        self.p_qn_n = np.zeros(npk, np.int32)
        self.p_flag = np.zeros(npk, np.int32)
        self.p_pnum = np.zeros(npk, np.int32)
        self.p_pno = np.zeros(npk, np.int32)
        self.p_dt = np.zeros(npk, np.int64)
        self.rows = 0
        self._alloc_rows(max(est_rows, _MAX_ROWS_PER_PACKET * 4))
        self.row_count = np.zeros(1, np.int64)
        cap = max(est_strings, _MIN_STRINGS)
        self.u_start = np.zeros(cap, np.int64)
        self.u_len = np.zeros(cap, np.int64)
        self.u_hash = np.zeros(cap, np.uint64)
        self.variant_cache = np.full(cap, -1, np.int8)
        self.slots = np.full(1 << int(np.ceil(np.log2(cap * 2))), -1, np.int32)
        self.intern_count = np.zeros(1, np.int64)

    def _alloc_rows(self, cap: int) -> None:
        old = self.rows
        fields = (
            ("r_pkt", np.int32),
            ("r_code", np.int32),
            ("r_field", np.int32),
            ("r_value", np.float64),
            ("r_flag", np.int32),
            ("r_text", np.int32),
            ("r_inexact", np.bool_),
        )
        for name, dtype in fields:
            new = np.empty(cap, dtype)
            if old:
                new[:old] = getattr(self, name)[:old]
            setattr(self, name, new)
        self.rows = cap

    def grow(self, record_length: int) -> None:
        """Room for one more record of record_length bytes."""
        used_rows = int(self.row_count[0])
        if used_rows + _MAX_ROWS_PER_PACKET > self.rows:
            self._alloc_rows(self.rows * 2)
        used = int(self.intern_count[0])
        needed = used + record_length // 2 + _STRINGS_MARGIN
        if needed > len(self.u_start) or 2 * needed > len(self.slots):
            cap = max(len(self.u_start) * 2, needed)
            for name, fill in (("u_start", 0), ("u_len", 0), ("u_hash", 0), ("variant_cache", -1)):
                arr = getattr(self, name)
                new = np.full(cap, fill, arr.dtype)
                new[:used] = arr[:used]
                setattr(self, name, new)
            self.slots = np.full(1 << int(np.ceil(np.log2(cap * 2))), -1, np.int32)
            _rehash(self.u_hash, used, self.slots)


def _modbus_table(crc_variants: Mapping[str, str] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mns = []
    for mn, variant in (crc_variants or {}).items():
        if variant not in VARIANT_NAMES:
            raise ValueError(f"CRC variant {variant!r} of MN {mn!r} is not one of {VARIANT_NAMES}")
        if variant == CRC_MODBUS:
            mns.append(mn.encode("latin-1"))
    lens = np.array([len(m) for m in mns], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64) if mns else np.zeros(0, np.int64)
    buf = np.frombuffer(b"".join(mns) or b"\0", dtype=np.uint8)
    return buf, offs, lens


# what _copy_spans does to bytes: none, '?' for bytes above 0x7F, '?' for bytes outside printable ASCII
_VERBATIM, _ASCII, _PRINTABLE = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _copy_spans(data, starts, lens, mode):
    """The bytes of the spans data[starts[i] : starts[i] + lens[i]] end to end, and their Arrow
    offsets (a negative length: an empty span), with bytes replaced as ``mode`` says."""
    n = starts.shape[0]
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    for i in range(n):
        offsets[i + 1] = offsets[i] + max(lens[i], 0)
    buf = np.empty(offsets[n], np.uint8)
    for i in range(n):
        s = starts[i]
        o = offsets[i]
        k = offsets[i + 1] - o
        if mode == _VERBATIM:
            buf[o : o + k] = data[s : s + k]
            continue
        for j in range(k):
            c = data[s + j]
            if c > 0x7F or (mode == _PRINTABLE and (c < 0x20 or c == 0x7F)):
                c = 0x3F
            buf[o + j] = c
    return buf, offsets


def _strings_from_spans(data: np.ndarray, starts: np.ndarray, lens: np.ndarray, *, sanitize: bool = False) -> pl.Series:
    """A String series of data[starts[i] : starts[i] + lens[i]] (null where lens < 0), built from
    byte offsets without a Python object per row. Data segments are ASCII by the standard; with
    `sanitize`, bytes outside printable ASCII become '?' so any bytes make valid text."""
    mode = _PRINTABLE if sanitize else _ASCII
    buf, offsets = _copy_spans(data, starts.astype(np.int64), lens.astype(np.int64), mode)
    return _string_series("", buf, offsets, lens >= 0)


def _string_series(name: str, buf: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> pl.Series:
    """A String series from Arrow buffers: the texts' bytes end to end and their offsets."""
    nulls = int(len(valid) - valid.sum())
    mask = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    arr = pa.Array.from_buffers(
        pa.large_string(),
        len(valid),
        [mask, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(buf))],
        null_count=nulls,
    )
    return pl.Series(name, pl.from_arrow(arr))


def _binary_from_spans(data: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> pl.Series:
    buf, offsets = _copy_spans(data, starts.astype(np.int64), lens.astype(np.int64), _VERBATIM)
    arr = pa.Array.from_buffers(pa.large_binary(), len(lens), [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
    return pl.from_arrow(arr)


@numba.njit(cache=True, nogil=True)
def _peer_texts(ip, port):
    """`a.b.c.d:port` of each IPv4 address and port (empty where both are 0: no peer recorded)."""
    n = ip.shape[0]
    buf = np.empty(n * 21, np.uint8)
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    o = 0
    digits = np.empty(5, np.uint8)
    for i in range(n):
        if ip[i] != 0 or port[i] != 0:
            for part in range(5):
                if part < 4:
                    v = (ip[i] >> (24 - 8 * part)) & 255
                else:
                    buf[o] = 58  # ':'
                    o += 1
                    v = port[i]
                k = 0
                while True:
                    digits[k] = 48 + v % 10
                    k += 1
                    v //= 10
                    if v == 0:
                        break
                for j in range(k):
                    buf[o] = digits[k - 1 - j]
                    o += 1
                if part < 3:
                    buf[o] = 46  # '.'
                    o += 1
        offsets[i + 1] = o
    return buf[:o], offsets


def _peer_column(ip: np.ndarray, port: np.ndarray) -> pl.Series:
    buf, offsets = _peer_texts(ip.astype(np.int64), port.astype(np.int64))
    return _string_series("peer", buf, offsets, (ip != 0) | (port != 0))


@numba.njit(cache=True, nogil=True)
def _used_ids(ids, n):
    """Which of the ids 0..n-1 occur in ids (negative ids: none)."""
    used = np.zeros(n, np.bool_)
    for i in range(ids.shape[0]):
        if ids[i] >= 0:
            used[ids[i]] = True
    return used


@numba.njit(cache=True, nogil=True)
def _local_codes(ids, local, codes, valid):
    """codes[i] = local[ids[i]] and valid[i] = True, or 0 and False for a negative id; returns the
    count of negative ids."""
    nulls = 0
    for i in range(ids.shape[0]):
        k = ids[i]
        if k >= 0:
            codes[i] = local[k]
            valid[i] = True
        else:
            codes[i] = 0
            valid[i] = False
            nulls += 1
    return nulls


def _nullable(name: str, values: np.ndarray, valid: np.ndarray, null_count: int) -> pl.Series:
    """A series of values, null where not valid, made from the arrays' buffers (a validity bitmap,
    not a scatter of nulls: in the value rows most flags and texts are absent)."""
    mask = pa.py_buffer(np.packbits(valid, bitorder="little")) if null_count else None
    if values.dtype == np.bool_:
        arrow_type, data = pa.bool_(), np.packbits(values, bitorder="little")
    else:
        arrow_type, data = pa.from_numpy_dtype(values.dtype), np.ascontiguousarray(values)
    arr = pa.Array.from_buffers(arrow_type, len(values), [mask, pa.py_buffer(data)], null_count=null_count)
    return pl.Series(name, pl.from_arrow(arr))


def _enum_column(name: str, ids: np.ndarray, strings: list[str], texts: list[str] | None = None) -> pl.Series:
    """An Enum series of the text of each id (null where id < 0): strings[id], or texts[id] when
    given (a relabelling of the ids, e.g. 2005 codes as their 2017 codes). The categories are the
    texts of the ids actually used."""
    used = np.flatnonzero(_used_ids(ids, len(strings)))
    labels = strings if texts is None else texts
    cats = [labels[k] for k in used]
    # Distinct byte strings may decode to one text after '?'-replacement: one category each.
    uniq_cats = list(dict.fromkeys(cats))
    position = {c: k for k, c in enumerate(uniq_cats)}
    local = np.zeros(len(strings), np.uint32)
    local[used] = [position[c] for c in cats]
    codes = np.empty(len(ids), np.uint32)
    valid = np.empty(len(ids), np.bool_)
    nulls = _local_codes(ids, local, codes, valid)
    return pl.Series(name, uniq_cats, dtype=pl.Enum(uniq_cats)).gather(_nullable(name, codes, valid, nulls))


def _hex4_series(values: np.ndarray) -> pl.Series:
    """4 upper-case hex digits of each value (null where negative), without a Python loop."""
    digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    v = np.where(values >= 0, values, 0).astype(np.int64)
    chars = digits[(v[:, None] >> np.array([12, 8, 4, 0])) & 0xF].reshape(-1)
    n = len(v)
    offsets = np.arange(0, 4 * n + 1, 4, dtype=np.int64)
    valid = values >= 0
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.large_string(),
        n,
        [mask, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars))],
        null_count=int((~valid).sum()),
    )
    return pl.from_arrow(arr)


def decode(
    data: np.ndarray | bytes,
    index: np.ndarray,
    *,
    crc_variants: Mapping[str, str] | None = None,
    passwords: Mapping[str, str] | None = None,
    threads: int | None = None,
) -> Decoded:
    """Decode one segment's bytes and index records (see module doc).

    `crc_variants` maps MN → "hj212" | "modbus" (default HJ 212); `passwords` maps MN → PW for the
    MNs configured with one (pw_ok is null for the others, and a wrong PW quarantines the packet).
    `threads` caps the decoding threads (default: the CPU count; small inputs use one).
    """
    data, offsets, lengths = _spans(data, index)
    npk = len(index)
    modbus = _modbus_table(crc_variants)
    # Chunks decoded on separate threads (the compiled pass releases the GIL), then merged.
    workers = max(1, min(threads or os.cpu_count() or 1, npk // _MIN_CHUNK_PACKETS))
    bounds = np.linspace(0, npk, workers + 1).astype(np.int64)
    ranges = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    if workers == 1:
        parts = [_run_chunk(data, offsets, lengths, modbus)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(
                pool.map(lambda r: _run_chunk(data, offsets[r[0] : r[1]], lengths[r[0] : r[1]], modbus), ranges)
            )
    return _assemble(data, index, _merge(data, parts, [r[0] for r in ranges]), passwords)


def decode_segments(
    paths: Iterable[Path | str],
    *,
    crc_variants: Mapping[str, str] | None = None,
    passwords: Mapping[str, str] | None = None,
) -> Iterator[tuple[Path, Decoded]]:
    """Read and decode sealed segments in order, as a two-stage pipeline: while one segment's
    columns are assembled (Polars, driven from this thread), the next two segments are read and
    run through the compiled pass on worker threads (numba releases the GIL), so on two cores the
    stages overlap instead of taking turns. The results equal ``decode_segment`` of each path."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:  # nothing to overlap: the compiled pass may use every core
        for path in paths:
            yield path, decode_segment(path, crc_variants=crc_variants, passwords=passwords)
        return
    modbus = _modbus_table(crc_variants)

    def compiled(path: Path) -> tuple[np.ndarray, np.ndarray, _Merged]:
        data, index = read_segment(path)
        data, offsets, lengths = _spans(data, index)
        return data, index, _merge(data, [_run_chunk(data, offsets, lengths, modbus)], [0])

    with ThreadPoolExecutor(max_workers=_PIPELINE_DEPTH) as pool:
        ahead = [pool.submit(compiled, p) for p in paths[:_PIPELINE_DEPTH]]
        for k, path in enumerate(paths):
            data, index, merged = ahead.pop(0).result()
            if k + _PIPELINE_DEPTH < len(paths):
                ahead.append(pool.submit(compiled, paths[k + _PIPELINE_DEPTH]))
            yield path, _assemble(data, index, merged, passwords)


def _spans(data: np.ndarray | bytes, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segment's bytes as uint8 and its packets' offsets and lengths, checked against each other."""
    if isinstance(data, bytes | bytearray | memoryview):
        data = np.frombuffer(data, dtype=np.uint8)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise TypeError(f"segment data must be a 1-D uint8 array, got {data.dtype} with shape {data.shape}")
    if index.dtype != INDEX_DTYPE:
        raise TypeError(f"segment index must have segments.INDEX_DTYPE, got {index.dtype}")
    offsets = index["offset"].astype(np.int64)
    lengths = index["length"].astype(np.int64)
    if len(index) and (offsets.min() < 0 or (offsets + lengths).max() > len(data)):
        bad = int(np.argmax(offsets + lengths > len(data)))
        raise ValueError(
            f"index record {bad} (offset {offsets[bad]}, length {lengths[bad]}) lies outside the {len(data)} data bytes"
        )
    return data, offsets, lengths


def _run_chunk(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, modbus) -> _Arrays:
    npk = len(offsets)
    mb_buf, mb_off, mb_len = modbus
    # About one value row per 28 bytes of packets in minute data; the arrays grow if needed.
    nbytes = int(lengths.sum())
    a = _Arrays(npk, nbytes // 28 + 64, _MIN_STRINGS)
    crc = np.empty(npk, np.int64)
    _crc_pass(data, offsets, lengths, _CRC_TABLE, _CRC_HIGH, crc)
    start = 0
    while True:
        start = _decode_kernel(
            data,
            offsets,
            lengths,
            start,
            _CRC_TABLE,
            crc,
            _POW10,
            mb_buf,
            mb_off,
            mb_len,
            a.p_status,
            a.p_rule,
            a.p_detail,
            a.p_pos,
            a.p_crc_sent,
            a.p_crc_exp,
            a.p_variant,
            a.p_hdr,
            a.p_qn_s,
            a.p_qn_n,
            a.p_flag,
            a.p_pnum,
            a.p_pno,
            a.p_dt,
            a.r_pkt,
            a.r_code,
            a.r_field,
            a.r_value,
            a.r_flag,
            a.r_text,
            a.r_inexact,
            a.row_count,
            a.slots,
            a.u_start,
            a.u_len,
            a.u_hash,
            a.intern_count,
            a.variant_cache,
        )
        if start >= npk:
            return a
        a.grow(int(lengths[start]))


_PACKET_FIELDS = (
    "p_status",
    "p_rule",
    "p_detail",
    "p_pos",
    "p_crc_sent",
    "p_crc_exp",
    "p_variant",
    "p_hdr",
    "p_qn_s",
    "p_qn_n",
    "p_flag",
    "p_pnum",
    "p_pno",
    "p_dt",
)
_ROW_FIELDS = ("r_pkt", "r_code", "r_field", "r_value", "r_flag", "r_text", "r_inexact")
_ID_HEADER_KEYS = (_K_ST, _K_CN, _K_PW, _K_MN)  # the p_hdr columns that hold intern ids


class _Merged:
    """The chunks' arrays laid end to end, with one list of distinct strings for all ids."""

    strings: list[str]


def _merge(data: np.ndarray, parts: list[_Arrays], firsts: list[int]) -> _Merged:
    merged = _Merged()
    position: dict[str, int] = {}
    luts = []
    for a in parts:
        n = int(a.intern_count[0])
        texts = [
            bytes(data[s : s + k]).decode("ascii", errors="replace").replace("\ufffd", "?")
            for s, k in zip(a.u_start[:n].tolist(), a.u_len[:n].tolist(), strict=True)
        ]
        # Index -1 (no string) must stay -1: it reads the lut's last element.
        luts.append(np.array([position.setdefault(t, len(position)) for t in texts] + [-1], dtype=np.int32))
    merged.strings = list(position)
    for name in _PACKET_FIELDS:
        setattr(
            merged,
            name,
            np.concatenate([getattr(a, name) for a in parts]) if len(parts) > 1 else getattr(parts[0], name),
        )
    for name in _ROW_FIELDS:
        pieces = [getattr(a, name)[: int(a.row_count[0])] for a in parts]
        setattr(merged, name, np.concatenate(pieces) if len(pieces) > 1 else pieces[0])
    if len(parts) > 1 or len(luts[0]) - 1 != len(merged.strings):
        row0 = 0
        pk0 = 0
        for a, lut, first in zip(parts, luts, firsts, strict=True):
            nrows = int(a.row_count[0])
            rows = slice(row0, row0 + nrows)
            merged.r_pkt[rows] += first
            for name in ("r_code", "r_field", "r_flag", "r_text"):
                arr = getattr(merged, name)
                arr[rows] = lut[arr[rows]]
            npk = len(a.p_status)
            for k in _ID_HEADER_KEYS:
                merged.p_hdr[pk0 : pk0 + npk, k] = lut[merged.p_hdr[pk0 : pk0 + npk, k]]
            row0 += nrows
            pk0 += npk
    merged.row_count = row0 if len(parts) > 1 else int(parts[0].row_count[0])
    return merged


def _assemble(data: np.ndarray, index: np.ndarray, a: _Merged, passwords: Mapping[str, str] | None) -> Decoded:
    npk = len(index)
    nrows = a.row_count
    strings = a.strings
    nstr = len(strings)
    rule = a.p_rule.copy()
    pw_ok = pl.repeat(None, npk, dtype=pl.Boolean, eager=True).alias("pw_ok")
    mn_ids = a.p_hdr[:, _K_MN]
    if passwords:
        # Per distinct MN/PW id pair: the check is done on strings, then spread to packets.
        want = np.full(nstr + 1, -1, np.int64)  # id → index in pw strings, per MN id
        pw_of_id = {s: k for k, s in enumerate(strings)}
        for mn, pw in passwords.items():
            mid = pw_of_id.get(mn)
            if mid is not None:
                want[mid] = pw_of_id.get(pw, -2)
        pw_ids = a.p_hdr[:, _K_PW]
        expected = want[np.where(mn_ids >= 0, mn_ids, nstr)]
        checked = (expected != -1) & (a.p_status == 0)
        ok = checked & (pw_ids == expected)
        pw_ok = _nullable("pw_ok", ok, checked, int(npk - checked.sum()))
        wrong = checked & ~ok & (rule == RULE_NONE)
        rule[wrong] = RULE_BAD_PASSWORD

    # ---- values
    published = rule == RULE_NONE
    r_pkt = a.r_pkt[:nrows]
    keep = published[r_pkt] if nrows else np.zeros(0, bool)
    sel = np.flatnonzero(keep) if not keep.all() else slice(None)
    r_pkt = r_pkt[sel]
    r_code = a.r_code[:nrows][sel]
    r_text = a.r_text[:nrows][sel]
    r_value = a.r_value[:nrows][sel].copy()
    inexact = np.flatnonzero(a.r_inexact[:nrows][sel])
    if len(inexact):
        # Rare (over 15 significant digits or a huge exponent): Python's correctly rounded float().
        # Re-find each value's text from the packet: the row's order within its packet is known.
        r_value[inexact] = _reparse_inexact(data, index, r_pkt, inexact)
    mapping = code_map_2005()
    codes_2017 = [mapping.get(text, text) for text in strings]
    is_2005_id = np.array([text in mapping for text in strings] + [False], bool)
    uses_2005 = np.zeros(npk, bool)
    if len(r_pkt):
        uses_2005[r_pkt[is_2005_id[r_code]]] = True

    st_ids = a.p_hdr[:, _K_ST]
    cn_ids = a.p_hdr[:, _K_CN]
    received = index["received_us"].astype(np.int64)
    st_col = _enum_column("st", st_ids, strings)
    cn_col = _enum_column("cn", cn_ids, strings)
    mn_col = _enum_column("mn", mn_ids, strings)
    has_dt = a.p_dt != NO_TIME
    data_time = _nullable("data_time", a.p_dt, has_dt, int(npk - has_dt.sum())).cast(pl.Datetime("us"))
    received_at = pl.Series("received_at", received).cast(pl.Datetime("us", "UTC"))
    # A packet with values has a DataTime (the compiled pass quarantines one without): no nulls here.
    row_dt = a.p_dt[r_pkt]
    if (row_dt == NO_TIME).any():
        raise AssertionError("value rows of a packet without DataTime")

    values = pl.DataFrame(
        {
            "packet_no": pl.Series(r_pkt.astype(np.uint32)),
            "received_at": pl.Series(received[r_pkt]).cast(pl.Datetime("us", "UTC")),
            "mn": mn_col.gather(r_pkt),
            "st": st_col.gather(r_pkt),
            "cn": cn_col.gather(r_pkt),
            "data_time": pl.Series(row_dt).cast(pl.Datetime("us")),
            "pollutant_code": _enum_column("pollutant_code", r_code, strings, codes_2017),
            "pollutant_code_sent": _enum_column("pollutant_code_sent", r_code, strings),
            "field": _enum_column("field", a.r_field[:nrows][sel], strings),
            # EFlag rows carry text, not a number: their NaN placeholder becomes null.
            "value": pl.Series(r_value).fill_nan(None) if (r_text >= 0).any() else pl.Series(r_value),
            "value_text": _enum_column("value_text", r_text, strings),
            "flag": _enum_column("flag", a.r_flag[:nrows][sel], strings),
        }
    )

    # ---- packets
    qn = _strings_from_spans(data, a.p_qn_s, a.p_qn_n.astype(np.int64))
    no_qn = a.p_qn_n < 0
    framed = a.p_status <= 1

    def ints(name: str, arr: np.ndarray) -> pl.Series:
        given = arr >= 0
        return _nullable(name, arr.astype(np.int32), given, int(len(arr) - given.sum()))

    packets = pl.DataFrame(
        {
            "packet_no": pl.Series(np.arange(npk, dtype=np.uint32)),
            "received_at": received_at,
            "peer": _peer_column(index["peer_ip"], index["peer_port"]),
            "gateway_status": pl.Series(index["status"].astype(np.uint8)),
            "status": pl.Series(a.p_status),
            "qn": qn,
            "st": st_col,
            "cn": cn_col,
            "pw_ok": pw_ok,
            "mn": mn_col,
            "flag": ints("flag", a.p_flag),
            # Only a framed packet has a protocol version to speak of.
            "protocol": pl.Series(np.where(~framed, 255, np.where(no_qn | uses_2005, 0, 1)).astype(np.uint8)),
            "pnum": ints("pnum", a.p_pnum),
            "pno": ints("pno", a.p_pno),
            "data_time": data_time,
            "crc_variant": pl.Series(np.where(framed, a.p_variant, 255).astype(np.uint8)),
            "rule": pl.Series(rule),
        }
    )
    status_enum = pl.Enum(list(STATUS_NAMES))
    rule_enum = pl.Enum(list(RULE_NAMES.values()))
    packets = packets.with_columns(
        gateway_status=pl.col("gateway_status").replace_strict(
            list(range(4)), list(STATUS_NAMES), default=None, return_dtype=status_enum
        ),
        status=pl.col("status").replace_strict(list(range(4)), list(STATUS_NAMES), return_dtype=status_enum),
        protocol=pl.col("protocol").replace_strict(
            [0, 1], ["2005", "2017"], default=None, return_dtype=pl.Enum(["2005", "2017"])
        ),
        crc_variant=pl.col("crc_variant").replace_strict(
            [0, 1], list(VARIANT_NAMES), default=None, return_dtype=pl.Enum(list(VARIANT_NAMES))
        ),
        quarantine_rule=pl.col("rule").replace_strict(
            list(RULE_NAMES), list(RULE_NAMES.values()), default=None, return_dtype=rule_enum
        ),
    ).select(
        "packet_no",
        "received_at",
        "peer",
        "gateway_status",
        "status",
        "qn",
        "st",
        "cn",
        "pw_ok",
        "mn",
        "flag",
        "protocol",
        "pnum",
        "pno",
        "data_time",
        "crc_variant",
        "quarantine_rule",
    )

    # ---- quarantine (reasons are formatted column-wise; only the bad packets' bytes are copied)
    bad = np.flatnonzero(rule != RULE_NONE)
    raw_starts = index["offset"][bad].astype(np.int64)
    raw_lens = index["length"][bad].astype(np.int64)
    q = pl.DataFrame(
        {
            "packet_no": pl.Series(bad.astype(np.uint32)),
            "rule_code": pl.Series(rule[bad]),
            "detail": pl.Series(a.p_detail[bad]),
            "pos": pl.Series(a.p_pos[bad]),
            "crc_sent_hex": _hex4_series(a.p_crc_sent[bad]),
            "crc_expected_hex": _hex4_series(a.p_crc_exp[bad]),
            "variant": pl.Series(a.p_variant[bad]),
            "length": pl.Series(raw_lens),
            "raw_text": _strings_from_spans(data, raw_starts, raw_lens, sanitize=True),
            "raw": _binary_from_spans(data, raw_starts, raw_lens),
        }
    )
    quarantine = q.with_columns(
        rule=pl.col("rule_code").replace_strict(list(RULE_NAMES), list(RULE_NAMES.values()), return_dtype=rule_enum),
        reason=_reason_expr(),
    ).select("packet_no", "rule", "reason", "raw_text", "raw")
    return Decoded(packets, values, quarantine)


def _reason_expr() -> pl.Expr:
    rc, detail, pos = pl.col("rule_code"), pl.col("detail"), pl.col("pos")
    header_key = pos.replace_strict(list(range(8)), list(HEADER_KEY_NAMES), default="?", return_dtype=pl.String)
    crc_sent_hex = pl.col("crc_sent_hex")
    crc_exp_hex = pl.col("crc_expected_hex")
    variant = pl.col("variant").replace_strict([0, 1], list(VARIANT_NAMES), return_dtype=pl.String)
    return (
        pl.when(rc == RULE_FRAMING)
        .then(pl.lit("not a ##dddd… packet (garbage, or a broken start of packet)"))
        .when(rc == RULE_BAD_LENGTH)
        .then(
            pl.format(
                "declared data length {} but the record is {} bytes (expected {} + 12, at most {} data bytes)",
                detail,
                pl.col("length"),
                detail,
                pl.lit(MAX_DATA_LENGTH),
            )
        )
        .when(rc == RULE_BAD_CRC)
        .then(
            pl.format(
                "CRC sent {}, expected {} ({} variant)",
                crc_sent_hex.fill_null("(not 4 hex digits)"),
                crc_exp_hex,
                variant,
            )
        )
        .when(rc == RULE_NO_MN)
        .then(pl.lit("no MN (device id) in the header"))
        .when((rc == RULE_BAD_HEADER) & (detail == DETAIL_MISSING))
        .then(pl.format("header field {} missing", header_key))
        .when((rc == RULE_BAD_HEADER) & (detail == DETAIL_NOT_A_NUMBER))
        .then(pl.format("header field {} is not a number", header_key))
        .when(rc == RULE_BAD_HEADER)
        .then(pl.format("header item at data offset {} is not key=value", pos))
        .when(rc == RULE_NO_CP)
        .then(pl.lit("no CP=&&…&& at the end of the data segment"))
        .when((rc == RULE_BAD_DATA_TIME) & (detail == DETAIL_MISSING))
        .then(pl.lit("values without a DataTime"))
        .when((rc == RULE_BAD_DATA_TIME) & (detail == DETAIL_REPEATED))
        .then(pl.format("DataTime given twice (second at data offset {})", pos))
        .when(rc == RULE_BAD_DATA_TIME)
        .then(pl.format("DataTime at data offset {} is not a valid yyyyMMddHHmmss[SSS] time", pos))
        .when(rc == RULE_BAD_CP_ITEM)
        .then(pl.format("CP item at data offset {} is not code-field=value", pos))
        .when((rc == RULE_BAD_VALUE) & (detail == DETAIL_EMPTY))
        .then(pl.format("empty value in the CP item at data offset {}", pos))
        .when(rc == RULE_BAD_VALUE)
        .then(pl.format("value of the CP item at data offset {} is not a number", pos))
        .when(rc == RULE_BAD_PASSWORD)
        .then(pl.lit("PW does not match the password configured for this MN"))
        .otherwise(pl.lit("?"))
    )


def _reparse_inexact(data, index, r_pkt, inexact) -> np.ndarray:
    """Python float() of the values the fast path could not round exactly (rare)."""
    from pipelines.hj212.protocol import HEADER_LENGTH

    out = np.empty(len(inexact), np.float64)
    for k, r in enumerate(inexact.tolist()):
        pk = int(r_pkt[r])
        # The row's rank among its packet's rows (rows of a packet are contiguous and in order).
        first = int(np.searchsorted(r_pkt, pk))
        rank = r - first
        s, n = int(index["offset"][pk]), int(index["length"][pk])
        text = bytes(data[s + HEADER_LENGTH : s + n - 6]).decode("ascii")
        cp = text[text.index("CP=&&") + 5 : -2]
        numbers = []
        for item in cp.replace(",", ";").split(";"):
            key, sep, value = item.partition("=")
            code, dash, fld = key.partition("-")
            if sep and dash and fld != "Flag":
                numbers.append((fld, value))
        fld, value = numbers[rank]
        out[k] = float(value) if fld != "EFlag" else np.nan
    return out


def decode_segment(
    path: Path | str,
    *,
    crc_variants: Mapping[str, str] | None = None,
    passwords: Mapping[str, str] | None = None,
) -> Decoded:
    """Read a sealed segment (its .dat or .idx path) and decode it."""
    data, index = read_segment(path)
    return decode(data, index, crc_variants=crc_variants, passwords=passwords)
