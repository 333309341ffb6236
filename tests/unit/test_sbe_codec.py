"""The SBE codec (hftbook.protocol): the Python layouts against the shipped XML, round trips of
every message with edge values, encode and decode errors, versioning by blockLength, framing
under every chunking, and the conversions between contract dicts and messages."""

from __future__ import annotations

import random
import re
import struct
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import hftbook.protocol as p
from hftbook.algo import Venue
from hftbook.marketdata import MarketDataFeed
from hftbook.protocol import schema as sc
from hftbook.protocol.wire import TEMPLATES, Template

INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
PX = 3_000_050_000_000  # 30000.5
SIG = bytes(range(32))

SAMPLES: list[p.Message] = [
    p.Logon("key-1", 1_700_000_000_000_000_000, SIG, 30_000),
    p.Logon("k" * 32, INT64_MIN, b"\xff" * 32, 2**32 - 1),
    p.Logon("", 0, bytes(32), 0),
    p.Logout("auth_failed", "bad signature"),
    p.Logout("other", "t" * 64),
    p.Logout("user_request"),
    p.Heartbeat(),
    p.Heartbeat(UINT64_MAX),
    p.TestRequest(7),
    p.NewOrder("a1", "BTC", "buy", "limit", 25_000_000, price=PX),
    p.NewOrder("a2", "BTC", "sell", "market", 1, tif="fok", stp="cancel_both"),
    p.NewOrder(INT64_MIN, "S" * 16, "sell", "trailing_stop_limit", INT64_MAX, trail_pct=150_000_000,
               limit_offset=0, tif="gtd", expire_ts=INT64_MIN + 1, post_only=True, stp="decrement"),
    p.NewOrder(INT64_MAX, "ETH-USD", "buy", "stop_limit", 5, price=100, trigger_price=INT64_MAX, tif="day"),
    p.NewOrder(0, "X", "buy", "trailing_stop", INT64_MIN, trail_amount=50_000_000, tif="ioc",
               stp="cancel_maker"),
    p.NewOrder("x" * 20, "BTC", "sell", "limit", 10**9, price=1, display_qty=10**8, display_variance=0,
               post_only=True, stp="cancel_taker", expire_ts=INT64_MAX),
    p.NewOrder(None, "", "buy", "stop", 1, trigger_price=-1),
    p.NewOrder("", "BTC", "buy", "limit", 1, price=-(2**63) + 1),
    p.CancelOrder("a1"),
    p.CancelOrder(-1),
    p.CancelOrder(None),
    p.ModifyOrder("a1", price=PX),
    p.ModifyOrder(123, qty=1),
    p.ModifyOrder("m", None, None),
    p.ModifyOrder("m", INT64_MAX, INT64_MAX),
    p.MassCancel(),
    p.MassCancel("BTC"),
    p.ExecutionReportNew(1, "a1", "BTC", 1, "buy", "limit", PX, 25_000_000),
    p.ExecutionReportNew(INT64_MAX, -7, "S" * 16, UINT64_MAX, "sell", "trailing_stop_limit", None, 3,
                         tif="gtd", expire_ts=99, post_only=True, stp="decrement", trail_amount=7,
                         limit_offset=0, display_qty=None),
    p.ExecutionReportNew(0, "b" * 20, "X", 0, "buy", "stop_limit", 5, 6, tif="day", trigger_price=4,
                         trail_pct=None),
    p.ExecutionReportNew(5, "ice", "X", 3, "sell", "limit", 5, 60, display_qty=10, display_variance=3),
    p.ExecutionReportFill(1, "a1", "BTC", 1, 1, PX, 10_000_000, "sell", "maker", refill_qty=5),
    p.ExecutionReportFill(INT64_MIN, 9, "BTC", UINT64_MAX, UINT64_MAX, INT64_MIN, INT64_MAX, "buy", "taker",
                          auction=True),
    p.ExecutionReportCancelled(3, "a1", "BTC", 1, "volatility", 0),
    p.ExecutionReportCancelled(3, 4, "BTC", 1, "user", INT64_MAX),
    p.ExecutionReportModified(4, "a1", "BTC", 1, PX, 5, reason="stp", refill_qty=2),
    p.ExecutionReportModified(4, "a1", "BTC", 1, None, 5, reason="stp", auction=True),
    p.ExecutionReportModified(4, 8, "BTC", 1, 1, 1),
    p.ExecutionReportTriggered(5, "s1", "BTC", 2, PX),
    p.ExecutionReportRejected(6, None, None, "other", "bad_command", "'qty' is required"),
    p.ExecutionReportRejected(6, "a1", "BTC", "new_order", "too_many_orders", "m" * 64),
    p.ExecutionReportRejected(6, INT64_MIN, "BTC", "cancel_all", "unknown_symbol"),
    p.BusinessReject(17, 99, "unknown_template", "unknown template id 99"),
    p.BusinessReject(UINT64_MAX, 0xFFFF, "other"),
    p.MarketDataL2Update(7, "BTC", 1, "buy", PX, 0, 0, last=False),
    p.MarketDataL2Update(7, "BTC", UINT64_MAX, "sell", INT64_MAX, INT64_MIN, 2**32 - 1),
    p.MarketDataTrade(8, "BTC", 2, 3, PX, 1, "sell"),
    p.MarketDataSnapshot(9, "BTC", 5),
    p.MarketDataSnapshot(9, "BTC", 5, ((PX, 1, 1), (PX - 1, INT64_MAX, 2**32 - 1)), ((INT64_MIN, 0, 0),)),
    p.MarketDataSnapshot(9, "ETH", 0, (), ((1, 2, 3),)),
    p.MarketDataStatus(10, "BTC", 3, "halted", "scheduled", until_ts=INT64_MAX),
    p.MarketDataStatus(10, "BTC", 4, "resumed", "volatility"),
]


def _ids(samples: list[Any]) -> list[str]:
    return [f"{i}-{type(m).__name__}" for i, m in enumerate(samples)]


# The schema XML against the Python layouts

_XML_NS = "{http://fixprotocol.io/2016/sbe}"
_PRIMITIVE = {"int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I",
              "int64": "q", "uint64": "Q"}


def _xml() -> ET.Element:
    return ET.fromstring(p.schema_xml())


def _type_codes(root: ET.Element) -> dict[str, list[str]]:
    """Every named type of the schema -> its struct codes (constants take no bytes)."""
    out: dict[str, list[str]] = {}
    types = root.find("types")
    assert types is not None
    for el in types:
        name = el.get("name", "")
        if el.tag == "type":
            out[name] = _codes_of_type(el)
        elif el.tag == "composite":
            out[name] = [c for t in el for c in _codes_of_type(t)]
        elif el.tag in ("enum", "set"):
            out[name] = [_PRIMITIVE[el.get("encodingType", "")]]
    return out


def _codes_of_type(el: ET.Element) -> list[str]:
    if el.get("presence") == "constant":
        return []
    prim = el.get("primitiveType", "")
    if prim == "char":
        return [f"{el.get('length', '1')}s"]
    return [_PRIMITIVE[prim]]


def _expand(fmt: str) -> list[str]:
    out: list[str] = []
    for count, code in re.findall(r"(\d*)([a-zA-Z])", fmt):
        if code == "s":
            out.append(f"{count}s")
        else:
            out.extend([code] * int(count or 1))
    return out


def test_the_schema_ships_with_the_package() -> None:
    with open(p.schema_path(), "rb") as f:
        assert f.read() == p.schema_xml()
    root = _xml()
    assert root.tag == _XML_NS + "messageSchema"
    assert int(root.get("id", "")) == p.SCHEMA_ID
    assert int(root.get("version", "")) == p.SCHEMA_VERSION
    assert root.get("byteOrder") == "littleEndian"


def test_every_template_matches_the_xml() -> None:
    root = _xml()
    codes = _type_codes(root)
    header = root.find("types/composite[@name='messageHeader']")
    assert header is not None
    assert [c for t in header for c in _codes_of_type(t)] == ["H", "H", "H", "H", "Q"]
    assert struct.calcsize("<HHHHQ") == p.HEADER_SIZE
    seen = set()
    for msg in root.iter(_XML_NS + "message"):
        tid = int(msg.get("id", ""))
        t = TEMPLATES[tid]
        seen.add(tid)
        assert t.name == msg.get("name")
        assert t.block_length == int(msg.get("blockLength", ""))
        fixed = [c for f in msg.findall("field") for c in codes[f.get("type", "")]]
        assert fixed == _expand(t.body_format), t.name
        assert struct.calcsize("<" + "".join(fixed)) == t.block_length
        groups = msg.findall("group")
        assert [g.get("name") for g in groups] == [name for name, _ in t.groups]
        for g, (_, entry_fmt) in zip(groups, t.groups, strict=True):
            entry = [c for f in g.findall("field") for c in codes[f.get("type", "")]]
            assert entry == _expand(entry_fmt)
            assert struct.calcsize("<" + entry_fmt) == int(g.get("blockLength", ""))
    assert seen == set(TEMPLATES)
    assert {t.cls for t in TEMPLATES.values()} == {type(m) for m in SAMPLES}


def test_enums_and_sets_match_the_xml() -> None:
    root = _xml()
    enums = {
        "ClOrdIdKind": sc.CL_ORD_ID_KINDS, "Side": sc.SIDES, "OrdType": sc.ORDER_TYPES,
        "TimeInForce": sc.TIFS, "SelfTradePrevention": sc.STPS, "RejectReason": sc.REJECT_REASONS,
        "CancelReason": sc.CANCEL_REASONS,
        "ModifyReason": sc.MODIFY_REASONS, "RejectedCommand": sc.REJECTED_COMMANDS, "Liquidity": sc.LIQUIDITY,
        "LogoutReason": sc.LOGOUT_REASONS, "BusinessRejectReason": sc.BUSINESS_REJECT_REASONS,
        "TradingStatus": sc.TRADING_STATUSES, "StatusReason": sc.STATUS_REASONS,
    }
    found = {}
    for el in root.iter("enum"):
        values = [(v.get("name"), int((v.text or "").strip())) for v in el.iter("validValue")]
        assert [code for _, code in values] == list(range(len(values)))
        found[el.get("name")] = tuple(name for name, _ in values)
    assert found == enums
    sets = {el.get("name"): [(c.get("name"), int((c.text or "").strip())) for c in el.iter("choice")]
            for el in root.iter("set")}
    assert sets == {"OrderFlags": [("postOnly", 0)], "ExecFlags": [("auction", 0)],
                    "BookFlags": [("lastInBatch", 0)]}


def test_every_reason_of_the_protocol_has_a_code() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Reasons"):]
    rejected, cancelled = section.split("Cancelled:", 1)
    assert set(re.findall(r"`([a-z_]+)`", rejected)) - {"algo", "oco"} == set(sc.REJECT_REASONS)
    assert set(re.findall(r"`([a-z_]+)`", cancelled)) | {"volatility"} == set(sc.CANCEL_REASONS)


# Round trips

@pytest.mark.parametrize("message", SAMPLES, ids=_ids(SAMPLES))
def test_round_trip(message: p.Message) -> None:
    for seq in (0, 1, 2**32, UINT64_MAX):
        data = p.encode(message, seq)
        got_seq, got = p.decode(data)
        assert (got_seq, got) == (seq, message)
        assert type(got) is type(message)
        assert p.encode_frame(message, seq) == struct.pack("<I", len(data)) + data
        assert p.frame(data) == p.encode_frame(message, seq)
        h = p.decode_header(data)
        t = p.template_of(message)
        assert h == (t.block_length, t.template_id, p.SCHEMA_ID, p.SCHEMA_VERSION, seq)
        assert p.encode(got, seq) == data


def test_every_enum_value_round_trips() -> None:
    for side in sc.SIDES:
        for otype in sc.ORDER_TYPES:
            for tif in sc.TIFS:
                for stp in sc.STPS:
                    m = p.NewOrder("c", "X", side, otype, 1, tif=tif, stp=stp)
                    assert p.decode(p.encode(m))[1] == m
                    r = p.ExecutionReportNew(1, 2, "X", 3, side, otype, None, 1, tif=tif, stp=stp)
                    assert p.decode(p.encode(r))[1] == r
    cases: list[p.Message] = [p.ExecutionReportCancelled(1, "c", "X", 1, r, 1) for r in sc.CANCEL_REASONS]
    cases += [p.ExecutionReportModified(1, "c", "X", 1, 1, 1, reason=r) for r in sc.MODIFY_REASONS]
    cases += [p.ExecutionReportRejected(1, "c", "X", c, r)
              for c in sc.REJECTED_COMMANDS for r in sc.REJECT_REASONS]
    cases += [p.ExecutionReportFill(1, "c", "X", 1, 1, 1, 1, s, liq)
              for s in sc.SIDES for liq in sc.LIQUIDITY]
    cases += [p.Logout(r) for r in sc.LOGOUT_REASONS]
    cases += [p.BusinessReject(1, 1, r) for r in sc.BUSINESS_REJECT_REASONS]
    cases += [p.MarketDataStatus(1, "X", 1, s, r) for s in sc.TRADING_STATUSES for r in sc.STATUS_REASONS]
    cases += [p.MarketDataTrade(1, "X", 1, 1, 1, 1, s) for s in sc.SIDES]
    for case in cases:
        assert p.decode(p.encode(case))[1] == case


def test_the_wire_layout_of_a_new_order() -> None:
    data = p.encode_frame(p.NewOrder(42, "BTC", "sell", "stop_limit", 7, price=5, trigger_price=6,
                                     tif="gtd", expire_ts=9, post_only=True, stp="decrement"), seq_num=3)
    n = sc.NULL_INT64
    assert data == struct.pack("<IHHHHQ9q20s16s6B", 130, 114, 10, p.SCHEMA_ID, p.SCHEMA_VERSION, 3,
                               7, 5, 6, n, n, n, n, n, 9, b"42", b"BTC", 0, 1, 3, 3, 4, 1)


# Encoding errors

@pytest.mark.parametrize("message", [
    p.NewOrder("x" * 21, "BTC", "buy", "limit", 1, price=1),
    p.NewOrder("é", "BTC", "buy", "limit", 1, price=1),
    p.NewOrder("a\0b", "BTC", "buy", "limit", 1, price=1),
    p.NewOrder(2**63, "BTC", "buy", "limit", 1, price=1),
    p.NewOrder(INT64_MIN - 1, "BTC", "buy", "limit", 1, price=1),
    p.NewOrder(True, "BTC", "buy", "limit", 1, price=1),
    p.NewOrder(1.5, "BTC", "buy", "limit", 1, price=1),  # type: ignore[arg-type]
    p.NewOrder("a", "S" * 17, "buy", "limit", 1, price=1),
    p.NewOrder("a", "BTC", "BUY", "limit", 1, price=1),
    p.NewOrder("a", "BTC", "buy", "iceberg", 1, price=1),
    p.NewOrder("a", "BTC", "buy", "limit", 1, price=1, tif="gtx"),
    p.NewOrder("a", "BTC", "buy", "limit", 1, price=1, stp="both"),
    p.NewOrder("a", "BTC", "buy", "limit", 2**63, price=1),
    p.NewOrder("a", "BTC", "buy", "limit", 1, price=1.5),  # type: ignore[arg-type]
    p.NewOrder("a", "BTC", "buy", "limit", 1, price=Decimal(1)),  # type: ignore[arg-type]
    p.Logon("k", 1, b"short", 1),
    p.Logon("k" * 33, 1, SIG, 1),
    p.Logon("k", 1, SIG, -1),
    p.Logout("bye"),
    p.Logout("other", "t" * 65),
    p.ExecutionReportFill(1, "a", "X", -1, 1, 1, 1, "buy", "maker"),
    p.ExecutionReportFill(1, "a", "X", 1, 1, 1, 1, "buy", "both"),
    p.ExecutionReportCancelled(1, "a", "X", 1, "gone", 1),
    p.ExecutionReportRejected(1, "a", "X", "new", "bad_command"),
    p.MarketDataL2Update(1, "X", 1, "buy", 1, 1, 2**32),
    p.MarketDataSnapshot(1, "X", 1, ((1, 2),)),  # type: ignore[arg-type]
    p.MarketDataSnapshot(1, "X", 1, ((1, 2, 3),) * 65536),
    p.MarketDataStatus(1, "X", 1, "open", "manual"),
], ids=lambda m: type(m).__name__)
def test_values_that_do_not_fit_are_encode_errors(message: p.Message) -> None:
    with pytest.raises(p.EncodeError):
        p.encode_frame(message, 1)


def test_encode_refuses_a_bad_sequence_number_or_a_non_message() -> None:
    with pytest.raises(p.EncodeError):
        p.encode(p.Heartbeat(), -1)
    with pytest.raises(p.EncodeError):
        p.encode(p.Heartbeat(), 2**64)
    with pytest.raises(p.EncodeError):
        p.encode(("not", "a", "message"), 1)  # type: ignore[arg-type]


# Decoding errors

def _patch(data: bytes, offset: int, fmt: str, *values: Any) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, *values)
    return bytes(buf)


NEW = p.NewOrder("a1", "BTC", "buy", "limit", 25_000_000, price=PX)
NEW_BYTES = p.encode(NEW, 5)
_CID = 16 + 72  # offset of NewOrder's clOrdId in the message
_KIND = 16 + 108  # clOrdIdKind, then side, ordType, timeInForce, selfTradePrevention, flags


def test_header_errors_are_distinct_and_carry_the_header() -> None:
    with pytest.raises(p.MalformedMessage):
        p.decode(NEW_BYTES[:15])
    with pytest.raises(p.WrongSchema) as wrong:
        p.decode(_patch(NEW_BYTES, 4, "<H", p.SCHEMA_ID + 1))
    assert (wrong.value.schema_id, wrong.value.seq_num, wrong.value.template_id) == (p.SCHEMA_ID + 1, 5, 10)
    with pytest.raises(p.UnsupportedVersion) as old:
        p.decode(_patch(NEW_BYTES, 6, "<H", 0))
    assert old.value.version == 0
    with pytest.raises(p.UnknownTemplate) as unknown:
        p.decode(_patch(NEW_BYTES, 2, "<H", 99))
    assert (unknown.value.template_id, unknown.value.seq_num) == (99, 5)
    with pytest.raises(p.MalformedMessage) as short:
        p.decode(NEW_BYTES[:-1])
    assert short.value.template_id == 10
    with pytest.raises(p.UnknownTemplate):
        p.template_by_id(99)
    for cls in (p.WrongSchema, p.UnsupportedVersion, p.UnknownTemplate, p.MalformedMessage):
        assert issubclass(cls, p.MessageError) and not issubclass(cls, p.FrameError)


@pytest.mark.parametrize("offset,fmt,value", [
    (_KIND + 1, "<B", 2),  # side
    (_KIND + 2, "<B", 6),  # ordType
    (_KIND + 3, "<B", 5),  # timeInForce
    (_KIND + 4, "<B", 200),  # selfTradePrevention
    (_KIND, "<B", 3),  # clOrdIdKind
    (_KIND, "<B", 0),  # "a1" read as an integer
    (_KIND, "<B", 2),  # absent, but the bytes hold an id
    (_CID, "<20s", b"a\0b"),  # NUL inside a text id
    (_CID, "<20s", b"\xe9t\xe9"),  # not ASCII
    (16 + 92, "<16s", b"B\0TC"),  # NUL inside the symbol
], ids=["side", "ordType", "tif", "stp", "kind", "text-as-int", "absent-with-id", "nul", "non-ascii",
        "symbol"])
def test_bad_values_are_malformed(offset: int, fmt: str, value: Any) -> None:
    with pytest.raises(p.MalformedMessage) as e:
        p.decode(_patch(NEW_BYTES, offset, fmt, value))
    assert (e.value.template_id, e.value.seq_num) == (10, 5)


@pytest.mark.parametrize("text", [b"007", b"+5", b" 5", b"1_0", b"-0", b"", b"99999999999999999999",
                                  b"-9223372036854775809"])
def test_integer_ids_are_read_only_in_canonical_form(text: bytes) -> None:
    data = _patch(_patch(NEW_BYTES, _KIND, "<B", 0), _CID, "<20s", text)
    with pytest.raises(p.MalformedMessage):
        p.decode(data)


def test_unknown_set_bits_are_ignored() -> None:
    data = _patch(NEW_BYTES, _KIND + 5, "<B", 0xFE)
    assert p.decode(data)[1] == NEW


def test_snapshot_group_errors() -> None:
    snap = p.encode(p.MarketDataSnapshot(1, "X", 2, ((1, 2, 3),), ((4, 5, 6),)))
    bids = 16 + 32
    with pytest.raises(p.MalformedMessage):
        p.decode(snap[:-1])  # the last entry cut short
    with pytest.raises(p.MalformedMessage):
        p.decode(snap[:bids + 2])  # a group header cut short
    with pytest.raises(p.MalformedMessage):
        p.decode(_patch(snap, bids, "<H", 19))  # entries shorter than their fields
    with pytest.raises(p.MalformedMessage):
        p.decode(_patch(snap, bids + 2, "<H", 3))  # more entries than bytes


# Versioning

def _newer(data: bytes, extra: bytes, entry_extra: bytes = b"") -> bytes:
    """`data` as a newer version would send it: `extra` appended to the fixed block (and
    `entry_extra` to every group entry), blockLengths raised accordingly."""
    bl, tid, sid, ver, seq = struct.unpack_from("<HHHHQ", data)
    out = struct.pack("<HHHHQ", bl + len(extra), tid, sid, ver + 1, seq) + data[16:16 + bl] + extra
    pos = 16 + bl
    for _ in TEMPLATES[tid].groups:
        entry, n = struct.unpack_from("<HH", data, pos)
        out += struct.pack("<HH", entry + len(entry_extra), n)
        pos += 4
        for _ in range(n):
            out += data[pos:pos + entry] + entry_extra
            pos += entry
    return out + data[pos:]


@pytest.mark.parametrize("message", SAMPLES, ids=_ids(SAMPLES))
def test_a_newer_version_with_appended_fields_is_read_by_blocklength(message: p.Message) -> None:
    newer = _newer(p.encode(message, 11), b"\x01\x02\x03\x04\x05\x06\x07\x08", b"\xaa\xbb\xcc\xdd")
    assert p.decode_header(newer).version == p.SCHEMA_VERSION + 1
    assert p.decode(newer) == (11, message)
    # A newer version may also append whole groups or data: bytes after what we know are ignored.
    assert p.decode(newer + b"\x00\x01\x02") == (11, message)


class _Probe(NamedTuple):
    a: int
    b: int | None = None


def test_an_older_version_block_is_completed_with_null_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # A template whose version 2 appended an optional int64 `b` to version 1's int64 `a`.
    body = struct.Struct("<qq")

    def dec(buf: Any, off: int, bl: int, end: int) -> _Probe:
        a, b = body.unpack_from(buf, off)
        return _Probe(a, None if b == sc.NULL_INT64 else b)

    def enc(m: _Probe, seq: int) -> bytes:
        return struct.pack("<IHHHHQqq", 32, 16, 250, p.SCHEMA_ID, 2, seq, m.a, m.b)

    probe = Template(250, _Probe, 16, "qq", enc, dec, min_block_length=8, fill=body.pack(0, sc.NULL_INT64))
    monkeypatch.setitem(TEMPLATES, 250, probe)
    old = struct.pack("<HHHHQq", 8, 250, p.SCHEMA_ID, 1, 4, 77)
    assert p.decode(old) == (4, _Probe(77, None))  # type: ignore[comparison-overlap]
    newer = struct.pack("<HHHHQqq", 16, 250, p.SCHEMA_ID, 2, 4, 77, 5)
    assert p.decode(newer) == (4, _Probe(77, 5))  # type: ignore[comparison-overlap]
    with pytest.raises(p.MalformedMessage):
        p.decode(struct.pack("<HHHHQI", 4, 250, p.SCHEMA_ID, 1, 4, 77))  # below version 1's block
    with pytest.raises(p.MalformedMessage):
        p.decode(_patch(NEW_BYTES, 0, "<H", 113))  # every NewOrder field is version 1


# Framing

STREAM = b"".join(p.encode_frame(m, i + 1) for i, m in enumerate(SAMPLES))
EXPECTED = [(i + 1, m) for i, m in enumerate(SAMPLES)]


def _drain(dec: p.FrameDecoder) -> list[tuple[int, p.Message]]:
    return list(dec.messages())


def test_framing_split_at_every_byte_offset() -> None:
    for cut in range(len(STREAM) + 1):
        dec = p.FrameDecoder()
        dec.feed(STREAM[:cut])
        got = _drain(dec)
        dec.feed(STREAM[cut:])
        got += _drain(dec)
        assert got == EXPECTED, cut
        assert dec.buffered == 0


def test_framing_one_byte_at_a_time_and_random_chunks() -> None:
    dec = p.FrameDecoder()
    got = []
    for i in range(len(STREAM)):
        dec.feed(STREAM[i:i + 1])
        got += _drain(dec)
    assert got == EXPECTED
    rng = random.Random(7)
    for _ in range(50):
        dec = p.FrameDecoder()
        got, pos = [], 0
        while pos < len(STREAM):
            n = rng.choice((1, 2, 3, 5, 17, 100, 1000, 5000))
            dec.feed(memoryview(STREAM)[pos:pos + n])
            pos += n
            got += _drain(dec)
        assert got == EXPECTED


def test_every_frame_split_inside_itself() -> None:
    for m in SAMPLES:
        data = p.encode_frame(m, 9)
        for cut in range(1, len(data)):
            dec = p.FrameDecoder()
            dec.feed(data[:cut])
            assert dec.next_message() is None
            assert dec.buffered == cut
            dec.feed(data[cut:])
            assert dec.next_message() == (9, m)
            assert dec.next_message() is None


def test_an_oversized_length_is_fatal_at_once() -> None:
    dec = p.FrameDecoder(max_size=1000)
    dec.feed(p.encode_frame(NEW, 1) + struct.pack("<I", 1001))
    assert dec.next_message() == (1, NEW)
    with pytest.raises(p.MessageTooLarge) as e:
        dec.next_message()  # refused before any of its body arrived
    assert (e.value.size, e.value.max_size) == (1001, 1000)
    assert dec.failed is e.value
    with pytest.raises(p.MessageTooLarge):
        dec.feed(b"more")
    with pytest.raises(p.MessageTooLarge):
        dec.next_message()
    big = p.MarketDataSnapshot(1, "X", 1, ((1, 2, 3),) * 4000)
    dec = p.FrameDecoder()
    dec.feed(p.encode_frame(big))
    with pytest.raises(p.MessageTooLarge):
        dec.next_message()
    dec = p.FrameDecoder(max_size=len(p.encode(big)))
    dec.feed(p.encode_frame(big))
    assert dec.next_message() == (0, big)


def test_a_length_below_the_header_is_fatal() -> None:
    dec = p.FrameDecoder()
    dec.feed(struct.pack("<I", 15) + bytes(15))
    with pytest.raises(p.BadFrameLength):
        dec.next_message()
    with pytest.raises(p.FrameError):
        dec.next_message()
    with pytest.raises(ValueError):
        p.FrameDecoder(max_size=15)


def test_an_undecodable_frame_is_consumed_and_the_stream_goes_on() -> None:
    unknown = p.frame(_patch(p.encode(NEW, 2), 2, "<H", 99))
    wrong = p.frame(_patch(p.encode(NEW, 3), 4, "<H", 1))
    old = p.frame(_patch(p.encode(NEW, 4), 6, "<H", 0))
    bad = p.frame(_patch(p.encode(NEW, 5), _KIND + 1, "<B", 9))
    dec = p.FrameDecoder()
    dec.feed(p.encode_frame(NEW, 1) + unknown + wrong + old + bad + p.encode_frame(NEW, 6))
    assert dec.next_message() == (1, NEW)
    for cls, seq in ((p.UnknownTemplate, 2), (p.WrongSchema, 3), (p.UnsupportedVersion, 4),
                     (p.MalformedMessage, 5)):
        with pytest.raises(cls) as e:
            dec.next_message()
        assert e.value.seq_num == seq
    assert dec.next_message() == (6, NEW)
    assert dec.next_message() is None and dec.failed is None


def test_the_buffer_is_compacted() -> None:
    dec = p.FrameDecoder()
    frame = p.encode_frame(NEW, 1)
    for _ in range(2000):
        dec.feed(frame + frame[:7])
        assert len(_drain(dec)) >= 1
        dec.feed(frame[7:])
        assert dec.next_message() == (1, NEW)
    assert dec.buffered == 0
    assert len(dec._buf) < 70_000


# Conversions

def test_mantissas_are_exact() -> None:
    assert p.mantissa("30000.5") == PX
    assert p.mantissa("0.00000001") == 1
    assert p.mantissa("1e2") == 10**10
    assert p.mantissa(3) == 3 * 10**8
    assert p.mantissa(Decimal("-2.5")) == -250_000_000
    assert p.mantissa("92233720368.54775807") == INT64_MAX
    for bad in ("0.000000001", "92233720368.54775808", "-92233720368.54775808", "abc", "1_0", " 1",
                "NaN", "1e999999999", True, None, [1]):
        with pytest.raises(p.ConversionError):
            p.mantissa(bad)
    assert p.decimal_str(PX) == "30000.5"
    assert p.decimal_str(1) == "0.00000001"
    assert p.decimal_str(-5) == "-0.00000005"
    assert p.decimal_str(0) == "0"
    assert p.decimal_str(10**10) == "100"
    assert p.decimal_str(INT64_MAX) == "92233720368.54775807"
    rng = random.Random(1)
    for _ in range(2000):
        m = rng.randint(-(10**12), 10**12) * 10 ** rng.randint(0, 6)
        assert p.mantissa(p.decimal_str(m)) == m


_NEW_COMMANDS: list[dict[str, Any]] = [
    {"cmd": "new", "ts": 5, "user": "u", "id": "a1", "symbol": "BTC", "side": "buy", "type": "limit",
     "qty": "0.25", "price": "30000.5", "tif": "gtc", "post_only": False, "stp": "none"},
    {"cmd": "new", "ts": 5, "user": "u", "id": 7, "symbol": "BTC", "side": "sell", "type": "market",
     "qty": "1", "tif": "fok", "post_only": False, "stp": "cancel_taker"},
    {"cmd": "new", "ts": 5, "user": "u", "id": "s", "symbol": "BTC", "side": "sell", "type": "stop",
     "qty": "1", "trigger_price": "29000", "tif": "gtd", "expire_ts": 10**18, "post_only": False,
     "stp": "cancel_maker"},
    {"cmd": "new", "ts": 5, "user": "u", "id": "sl", "symbol": "BTC", "side": "buy", "type": "stop_limit",
     "qty": "1", "price": "31000", "trigger_price": "30900", "tif": "day", "post_only": True,
     "stp": "cancel_both"},
    {"cmd": "new", "ts": 5, "user": "u", "id": "ts", "symbol": "BTC", "side": "sell", "type": "trailing_stop",
     "qty": "1", "trail_amount": "100", "tif": "gtc", "post_only": False, "stp": "decrement"},
    {"cmd": "new", "ts": 5, "user": "u", "id": "tsl", "symbol": "BTC", "side": "buy",
     "type": "trailing_stop_limit", "qty": "1", "trail_pct": "1.5", "limit_offset": "0", "tif": "gtc",
     "post_only": True, "stp": "none"},
    {"cmd": "new", "ts": 5, "user": "u", "id": "ice", "symbol": "BTC", "side": "sell", "type": "limit",
     "qty": "10", "price": "30001", "tif": "gtc", "post_only": False, "stp": "none", "display_qty": "1",
     "display_variance": "0.5"},
]


@pytest.mark.parametrize("cmd", _NEW_COMMANDS, ids=[c["id"] if isinstance(c["id"], str) else "int" for c in
                                                    _NEW_COMMANDS])
def test_new_order_commands_convert_both_ways(cmd: dict[str, Any]) -> None:
    msg = p.message_from_command(cmd)
    assert isinstance(msg, p.NewOrder)
    assert p.decode(p.encode(msg))[1] == msg
    assert p.command_from_message(msg, "u", 5) == cmd


def test_other_commands_convert_both_ways() -> None:
    for cmd in ({"cmd": "cancel", "ts": 1, "user": "u", "id": "a1"},
                {"cmd": "cancel", "ts": 1, "user": "u", "id": -3},
                {"cmd": "modify", "ts": 1, "user": "u", "id": "a1", "price": "30000.5"},
                {"cmd": "modify", "ts": 1, "user": "u", "id": "a1", "qty": "0.1"},
                {"cmd": "modify", "ts": 1, "user": "u", "id": "a1", "price": "1", "qty": "2"},
                {"cmd": "cancel_all", "ts": 1, "user": "u"},
                {"cmd": "cancel_all", "ts": 1, "user": "u", "symbol": "BTC"}):
        msg = p.message_from_command(cmd)
        assert p.command_from_message(p.decode(p.encode(msg))[1], "u", 1) == cmd
    # Defaults and the user/ts of the session, not of the command.
    assert p.message_from_command({"cmd": "new", "id": 1, "symbol": "X", "side": "buy", "type": "market",
                                   "qty": 2}) == p.NewOrder(1, "X", "buy", "market", 2 * 10**8)
    assert p.command_from_message(p.CancelOrder(None), "v", 9) == {"cmd": "cancel", "ts": 9, "user": "v"}
    for bad in ({"cmd": "halt", "symbol": "X"}, {"cmd": "new", "id": 1},
                {"cmd": "modify", "id": 1, "qty": "x"},
                {"cmd": "new", "id": 1, "symbol": "X", "side": "buy", "type": "limit", "qty": "1e-9"}):
        with pytest.raises(p.ConversionError):
            p.message_from_command(bad)
    with pytest.raises(p.ConversionError):
        p.command_from_message(p.Heartbeat(), "u", 1)


def _venue() -> Venue:
    v = Venue()
    v.apply({"cmd": "instrument", "ts": 0, "symbol": "BTC", "tick_size": "0.5", "lot_size": "0.001"})
    return v


def _binary(v: Venue, user: str, msg: p.Message, ts: int) -> list[dict[str, Any]]:
    """What a gateway does: the message over the wire, to a command, into the venue."""
    _, got = p.decode(p.encode(msg, 1))
    return v.apply(p.command_from_message(got, user, ts))


def _reports(events: list[dict[str, Any]]) -> list[tuple[str, p.Message]]:
    out = []
    for e in events:
        for user, report in p.reports_from_event(e):
            assert p.decode(p.encode(report, 3)) == (3, report)  # every report fits the wire
            out.append((user, report))
    return out


def test_engine_events_become_execution_reports() -> None:
    v = _venue()
    ev = _binary(v, "mm", p.NewOrder("a1", "BTC", "sell", "limit", 25_000_000, price=PX), 1)
    assert _reports(ev) == [("mm", p.ExecutionReportNew(1, "a1", "BTC", 1, "sell", "limit", PX, 25_000_000))]
    ev = _binary(v, "mm", p.NewOrder(77, "BTC", "sell", "limit", 3 * 10**8, price=PX + 50_000_000,
                                     display_qty=10**8, display_variance=50_000_000, post_only=True), 2)
    assert _reports(ev) == [("mm", p.ExecutionReportNew(2, 77, "BTC", 2, "sell", "limit", PX + 50_000_000,
                                                        3 * 10**8, post_only=True, display_qty=10**8,
                                                        display_variance=50_000_000))]
    # A taker sweeps the first order and the iceberg: the maker's fill carries the refill.
    ev = _binary(v, "tk", p.NewOrder("t1", "BTC", "buy", "limit", 130_000_000, price=PX + 50_000_000,
                                     tif="ioc"), 3)
    assert [r for _, r in _reports(ev) if not isinstance(r, p.ExecutionReportNew)] == [
        p.ExecutionReportFill(3, "a1", "BTC", 1, 1, PX, 25_000_000, "sell", "maker"),
        p.ExecutionReportFill(3, "t1", "BTC", 3, 1, PX, 25_000_000, "buy", "taker"),
        p.ExecutionReportFill(3, 77, "BTC", 2, 2, PX + 50_000_000, 10**8, "sell", "maker",
                              refill_qty=92_400_000),
        p.ExecutionReportFill(3, "t1", "BTC", 3, 2, PX + 50_000_000, 10**8, "buy", "taker"),
        p.ExecutionReportFill(3, 77, "BTC", 2, 3, PX + 50_000_000, 5_000_000, "sell", "maker"),
        p.ExecutionReportFill(3, "t1", "BTC", 3, 3, PX + 50_000_000, 5_000_000, "buy", "taker"),
    ]
    assert [u for u, _ in _reports(ev)] == ["tk", "mm", "tk", "mm", "tk", "mm", "tk"]
    # modify, cancel, a rejected cancel and new, a stop that triggers, a mass cancel
    ev = _binary(v, "mm", p.ModifyOrder(77, qty=10**8), 4)
    assert _reports(ev) == [("mm", p.ExecutionReportModified(4, 77, "BTC", 2, PX + 50_000_000, 10**8))]
    ev = _binary(v, "mm", p.CancelOrder(77), 5)
    assert _reports(ev) == [("mm", p.ExecutionReportCancelled(5, 77, "BTC", 2, "user", 10**8))]
    ev = _binary(v, "mm", p.CancelOrder(77), 6)
    assert _reports(ev) == [("mm", p.ExecutionReportRejected(6, 77, None, "cancel", "unknown_order",
                                                             "no live order 77"))]
    ev = _binary(v, "mm", p.NewOrder("x", "BTC", "buy", "limit", 1, price=PX), 7)
    assert _reports(ev) == [("mm", p.ExecutionReportRejected(
        7, "x", "BTC", "new_order", "bad_qty", "qty must be a positive multiple of the lot 0.001"))]
    _binary(v, "mm", p.NewOrder("s1", "BTC", "buy", "stop", 10**8, trigger_price=PX + 10**8), 8)
    _binary(v, "mm", p.NewOrder("b1", "BTC", "sell", "limit", 2 * 10**8, price=PX + 10**8), 9)
    ev = _binary(v, "tk", p.NewOrder("b2", "BTC", "buy", "limit", 10**8, price=PX + 10**8), 10)
    assert ("mm", p.ExecutionReportTriggered(10, "s1", "BTC", 4, PX + 10**8)) in _reports(ev)
    _binary(v, "mm", p.NewOrder("c1", "BTC", "sell", "limit", 10**8, price=PX + 10**9), 11)
    _binary(v, "mm", p.NewOrder("c2", "BTC", "sell", "stop", 10**8, trigger_price=PX), 12)
    ev = _binary(v, "mm", p.MassCancel("BTC"), 13)
    assert _reports(ev) == [("mm", p.ExecutionReportCancelled(13, "c1", "BTC", 7, "mass_cancel", 10**8)),
                            ("mm", p.ExecutionReportCancelled(13, "c2", "BTC", 8, "mass_cancel", 10**8))]
    ev = _binary(v, "mm", p.MassCancel("ETH"), 14)
    assert _reports(ev) == [("mm", p.ExecutionReportRejected(14, None, "ETH", "cancel_all", "unknown_symbol",
                                                             ev[0]["message"]))]


def test_triggered_and_stp_reports() -> None:
    v = _venue()
    _binary(v, "a", p.NewOrder("m", "BTC", "sell", "limit", 2 * 10**8, price=PX), 1)
    _binary(v, "b", p.NewOrder("s", "BTC", "buy", "stop", 10**8, trigger_price=PX), 2)
    ev = _binary(v, "c", p.NewOrder("t", "BTC", "buy", "market", 10**8), 3)
    reps = _reports(ev)
    assert ("b", p.ExecutionReportTriggered(3, "s", "BTC", 2, PX)) in reps
    # STP decrement: the maker survives with a modified, the taker is cancelled (stp).
    _binary(v, "d", p.NewOrder("d1", "BTC", "sell", "limit", 5 * 10**8, price=PX + 10**8), 4)
    ev = _binary(v, "d", p.NewOrder("d2", "BTC", "buy", "limit", 10**8, price=PX + 10**8, stp="decrement"), 5)
    assert [r for u, r in _reports(ev) if u == "d"] == [
        p.ExecutionReportNew(5, "d2", "BTC", 5, "buy", "limit", PX + 10**8, 10**8, stp="decrement"),
        p.ExecutionReportModified(5, "d1", "BTC", 4, PX + 10**8, 4 * 10**8, reason="stp"),
        p.ExecutionReportCancelled(5, "d2", "BTC", 5, "stp", 10**8),
    ]


def test_auction_fills_and_rare_event_fields() -> None:
    v = Venue()
    v.apply({"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1", "lot_size": "1",
             "halt_orders": "collect"})
    v.apply({"cmd": "halt", "ts": 1, "symbol": "X"})
    _binary(v, "a", p.NewOrder("s", "X", "sell", "limit", 2 * 10**8, price=10 * 10**8), 2)
    _binary(v, "b", p.NewOrder("b", "X", "buy", "limit", 10**8, price=11 * 10**8), 3)
    reps = _reports(v.apply({"cmd": "resume", "ts": 4, "symbol": "X"}))
    assert reps == [
        ("a", p.ExecutionReportFill(4, "s", "X", 1, 1, 10 * 10**8, 10**8, "sell", "maker", auction=True)),
        ("b", p.ExecutionReportFill(4, "b", "X", 2, 1, 10 * 10**8, 10**8, "buy", "taker", auction=True)),
    ]
    event = {"type": "modified", "ts": 1, "user": "u", "id": "i", "symbol": "X", "order_id": 1, "price": None,
             "qty": "3", "reason": "stp", "refill": "1", "auction": True}
    assert _reports([event]) == [("u", p.ExecutionReportModified(1, "i", "X", 1, None, 3 * 10**8, "stp",
                                                                 10**8, True))]
    event = {"type": "modified", "ts": 1, "user": "u", "id": "i", "symbol": "X", "order_id": 1, "price": "2",
             "qty": "3", "reason": "parent_fill"}
    assert _reports([event])[0][1].reason == "parent_fill"  # type: ignore[union-attr]


def test_rejections_and_events_without_reports() -> None:
    long_id = {"type": "rejected", "ts": 1, "user": "u", "id": "i" * 21, "symbol": "S" * 17, "cmd": "oco",
               "reason": "halted", "message": "héllo\0" + "x" * 100}
    assert _reports([long_id]) == [("u", p.ExecutionReportRejected(1, None, None, "other", "halted",
                                                                   "h?llo?" + "x" * 58))]
    assert _reports([{"type": "rejected", "ts": 1, "reason": "bad_command", "message": "m", "line": 3}]) == []
    for e in ({"type": "halted", "ts": 1, "symbol": "X", "reason": "manual"},
              {"type": "book", "ts": 1, "symbol": "X", "bids": [], "asks": []},
              {"type": "activated", "ts": 1, "user": "u", "id": "c", "symbol": "X", "order_id": 3,
               "qty": "1"}):
        assert p.reports_from_event(e) == []
    assert p.status_from_event({"type": "halted", "ts": 1, "symbol": "X", "reason": "scheduled",
                                "until_ts": 9}, 4) == p.MarketDataStatus(1, "X", 4, "halted", "scheduled", 9)
    assert p.status_from_event({"type": "trade"}, 1) is None


def test_market_data_from_the_feed() -> None:
    v = _venue()
    feed = MarketDataFeed(("l1", "l2", "trades"))
    feed.attach(v.exchange)
    scale = p.InstrumentScale("0.5", "0.001")
    v.apply({"cmd": "new", "ts": 1, "user": "a", "id": 1, "symbol": "BTC", "side": "sell", "type": "limit",
             "price": "30000.5", "qty": "0.25"})
    v.apply({"cmd": "new", "ts": 2, "user": "b", "id": 1, "symbol": "BTC", "side": "buy", "type": "limit",
             "price": "30000.5", "qty": "0.1"})
    v.apply({"cmd": "halt", "ts": 3, "symbol": "BTC"})
    got = []
    for md in feed.take():
        m = p.market_data_message(md, scale)
        if m is not None:
            assert p.decode(p.encode(m, 1)) == (1, m)
            got.append(m)
    assert got == [
        p.MarketDataL2Update(1, "BTC", 1, "sell", PX, 25_000_000, 1, True),
        p.MarketDataTrade(2, "BTC", 1, 1, PX, 10_000_000, "buy"),
        p.MarketDataL2Update(2, "BTC", 2, "sell", PX, 15_000_000, 1, True),
        p.MarketDataStatus(3, "BTC", 2, "halted", "manual"),
    ]
    snap = p.market_data_message(feed.snapshot("BTC", "l2"), scale)
    assert snap == p.MarketDataSnapshot(3, "BTC", 2, (), ((PX, 15_000_000, 1),))
    assert p.market_data_message(feed.snapshot("BTC", "l1"), scale) is None
    assert (scale.price(3), scale.qty(2), scale.ticks(PX), scale.lots(15_000_000)) == (150_000_000, 200_000,
                                                                                       60001, 150)
    assert scale.ticks(PX + 1) is None and scale.lots(1) is None
    with pytest.raises(p.ConversionError):
        p.InstrumentScale("0.000000001", "1")
    with pytest.raises(p.ConversionError):
        p.InstrumentScale("0", "1")


def test_logon_signatures() -> None:
    secret = b"s3cret"
    logon = p.signed_logon(secret, "key-1", 1_000_000_000_000, 30_000)
    assert len(logon.signature) == 32
    assert p.decode(p.encode(logon))[1] == logon
    assert p.verify_logon(secret, logon, now_ns=1_000_000_000_000)
    assert p.verify_logon(secret, logon, now_ns=1_000_000_000_000 + 5_000_000_000)
    assert not p.verify_logon(secret, logon, now_ns=1_000_000_000_000 + 5_000_000_001)
    assert not p.verify_logon(b"other", logon, now_ns=1_000_000_000_000)
    assert not p.verify_logon(secret, logon._replace(heartbeat_interval_ms=1), now_ns=1_000_000_000_000)
    assert not p.verify_logon(secret, logon._replace(api_key="key-2"), now_ns=1_000_000_000_000)
    assert p.logon_payload("k", 5, 30) == b"hftbook-logon\n5\nk\n30"
