"""HJ 212 framing: CRC variants, packet encoding, the incremental FrameScanner.

Expected values come from the public test vectors (STANDARDS.md) and from the CRC-16/MODBUS
catalogue check value, never from the code under test.
"""

from __future__ import annotations

import pytest

from pipelines.hj212 import protocol
from pipelines.hj212.protocol import FrameScanner, crc16_hj212, crc16_modbus, encode_packet
from tests.helpers import HJ212_VECTORS, VECTOR_2005, VECTOR_2017, VECTOR_EMPTY_CP, crc_reference


@pytest.mark.parametrize(("packet", "crc"), HJ212_VECTORS)
def test_crc_of_public_vectors(packet, crc):
    data = packet[6:-6]
    assert len(data) == int(packet[2:6])
    assert crc16_hj212(data) == crc
    assert int(packet[-6:-2], 16) == crc


def test_crc_table_form_equals_bitwise_loop():
    for data in (b"", b"a", b"QN=1;ST=32", bytes(range(256)) * 3):
        assert crc16_hj212(data) == crc_reference(data)


def test_modbus_variant_is_the_catalogue_crc():
    # CRC-16/MODBUS check value of "123456789" is 0x4B37.
    assert crc16_modbus(b"123456789") == 0x4B37
    assert crc16_hj212(b"123456789") != 0x4B37


def test_encode_reproduces_the_vectors():
    assert (
        encode_packet(
            qn="20160801085857223",
            st=32,
            cn=1062,
            pw="100000",
            mn="010000A8900016F000169DC0",
            flag=5,
            cp="RtdInterval=30",
        )
        == VECTOR_2017
    )
    cp = "DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N"
    assert encode_packet(qn=None, st="32", cn="2011", pw="123456", mn="LD130133000015", flag=None, cp=cp) == VECTOR_2005
    assert (
        encode_packet(qn="20240601085857223", st=32, cn=1011, pw="123456", mn="010000A8900016F000169DC0", flag=9, cp="")
        == VECTOR_EMPTY_CP
    )


def test_format_cp():
    text = protocol.format_cp("20160824003817000", {"011": {"Rtd": "231.0", "Flag": "N"}, "060": {"Rtd": 1.803}})
    assert text == "DataTime=20160824003817000;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803"


def test_encode_rejects_oversized_segment():
    with pytest.raises(ValueError, match="at most 1024"):
        encode_packet(qn=None, st=32, cn=2011, pw="1", mn="M", flag=4, cp="x" * 1100)


def test_scanner_byte_by_byte_with_garbage_and_broken_frames():
    bad_crc = VECTOR_2017[:-6] + b"1C81\r\n"
    short = b"##0050QN=1;ST=32;CN=2011;CP=&&&&ABCD\r\n"  # declares 50, carries 22
    stream = b"HELLO\r\n" + VECTOR_2017 + bad_crc + b"x#" + VECTOR_2005 + short + VECTOR_EMPTY_CP + b"##01"
    scanner = FrameScanner()
    frames = []
    for i in range(len(stream)):
        frames += scanner.feed(stream[i : i + 1])
    frames += scanner.flush()
    assert b"".join(f.raw for f in frames) == stream
    statuses = [f.status for f in frames if f.status != "garbage"]
    assert statuses == ["ok", "bad_crc", "ok", "bad_length", "ok"]
    good = [f for f in frames if f.status == "ok"]
    assert [f.raw for f in good] == [VECTOR_2017, VECTOR_2005, VECTOR_EMPTY_CP]
    first, legacy, empty = good
    assert (first.qn, first.st, first.cn, first.pw, first.mn, first.flag) == (
        "20160801085857223",
        "32",
        "1062",
        "100000",
        "010000A8900016F000169DC0",
        5,
    )
    assert first.wants_reply and empty.wants_reply and not legacy.wants_reply  # Flags 5 and 9 have bit 0 set
    assert legacy.qn is None and legacy.flag is None and legacy.mn == "LD130133000015"
    broken = frames[[f.status for f in frames].index("bad_crc")]
    assert broken.crc_sent == 0x1C81 and broken.crc_expected == 0x1C80 and not broken.wants_reply
    assert frames[0] == protocol.Frame(b"HELLO\r\n", "garbage", b"")


def test_flag_nine_wants_reply():
    # 9 = 0b1001: bit 0 (A) is set, so the third vector asks for a reply.
    (frame,) = FrameScanner().feed(VECTOR_EMPTY_CP)
    assert frame.flag == 9 and frame.wants_reply


def test_scanner_lower_case_crc_and_modbus_per_mn():
    lower = VECTOR_2017[:-6] + b"1c80\r\n"
    assert [f.status for f in FrameScanner().feed(lower)] == ["ok"]
    data = VECTOR_2005[6:-6]
    modbus_packet = b"##%04d%s%04X\r\n" % (len(data), data, crc16_modbus(data))
    assert FrameScanner().feed(modbus_packet)[0].status == "bad_crc"
    frame = FrameScanner({"LD130133000015": "modbus"}).feed(modbus_packet)[0]
    assert frame.status == "ok" and frame.crc_variant == "modbus"
    frame = FrameScanner(lambda mn: "modbus" if mn == "LD130133000015" else None).feed(modbus_packet)[0]
    assert frame.status == "ok"


def test_scanner_waits_for_incomplete_frame_and_bounds_its_buffer():
    scanner = FrameScanner()
    assert scanner.feed(VECTOR_2017[:50]) == []
    assert scanner.buffered == 50
    assert [f.raw for f in scanner.feed(VECTOR_2017[50:])] == [VECTOR_2017]
    junk = bytes(range(1, 35)) * 100_000  # 3.4 MB without `##` or CRLF
    frames = scanner.feed(junk)
    assert scanner.buffered < protocol.GARBAGE_FLUSH
    frames += scanner.flush()
    assert b"".join(f.raw for f in frames) == junk and {f.status for f in frames} == {"garbage"}
    # A header declaring 9999 bytes with no terminator is given up after MAX_SCAN_LENGTH bytes.
    scanner = FrameScanner()
    frames = scanner.feed(b"##9999" + b"a" * 20_000)
    assert frames[0].status == "bad_length" and scanner.buffered < protocol.MAX_SCAN_LENGTH


def test_split_packet_header():
    packet = encode_packet(qn="20240601085857223", st=31, cn=2051, pw="p", mn="M1", flag=7, cp="", pnum=3, pno=2)
    (frame,) = FrameScanner().feed(packet)
    assert (frame.status, frame.pnum, frame.pno, frame.flag) == ("ok", 3, 2, 7)


def test_reply():
    reply = protocol.encode_reply(qn="20160801085857223", pw="100000", mn="010000A8900016F000169DC0")
    (frame,) = FrameScanner().feed(reply)
    assert frame.status == "ok"
    assert frame.data == b"QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
