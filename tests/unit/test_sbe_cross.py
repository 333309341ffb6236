"""Our codec against an independent SBE implementation: the `sbe` package from PyPI, reading
the schema XML we ship. For every message type: the bytes we encode decode with `sbe` to the
same field values, `sbe`'s encoding decodes with ours to the same message, and both
encoders produce identical bytes.

The `sbe` package (0.4) reads char fields as stripped ASCII text, gives a composite as a dict
({"mantissa": ...}), a set as a list of choice names and an enum as its value name; it cannot
encode a null composite member or a null enum, so those are given as raw null values.
"""

from __future__ import annotations

from typing import Any

import pytest
import sbe  # type: ignore[import-untyped]  # the dev extra installs it (with bitstring<5)

import hftbook.protocol as p

INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
NULL = INT64_MIN
PX = 3_000_050_000_000

# Python attribute -> XML field, per message: (xml name, python attribute, kind).
# kinds: int (a plain integer), dec / decnull (a Price8 / *NULL composite), tsnull (an optional
# int64), str / optstr (char text; None is ""), enum, cid (clOrdId + clOrdIdKind), flag:<choice>
# (a one-choice set from a bool), raw (32 raw bytes), levels (a repeating group).
_EXEC_ID = [("clOrdId", "cl_ord_id", "cid"), ("symbol", "symbol", "str")]
LAYOUT: dict[type, list[tuple[str, str, str]]] = {
    p.Logon: [("timestampNs", "timestamp_ns", "int"), ("heartbeatIntervalMs", "heartbeat_interval_ms", "int"),
              ("apiKey", "api_key", "str"), ("signature", "signature", "raw")],
    p.Logout: [("reason", "reason", "enum"), ("text", "text", "str")],
    p.Heartbeat: [("testReqId", "test_req_id", "int")],
    p.TestRequest: [("testReqId", "test_req_id", "int")],
    p.NewOrder: [
        ("qty", "qty", "dec"), ("price", "price", "decnull"), ("triggerPrice", "trigger_price", "decnull"),
        ("trailAmount", "trail_amount", "decnull"), ("trailPct", "trail_pct", "decnull"),
        ("limitOffset", "limit_offset", "decnull"), ("displayQty", "display_qty", "decnull"),
        ("displayVariance", "display_variance", "decnull"), ("expireTs", "expire_ts", "tsnull"),
        ("clOrdId", "cl_ord_id", "cid"), ("symbol", "symbol", "str"), ("side", "side", "enum"),
        ("ordType", "order_type", "enum"), ("timeInForce", "tif", "enum"),
        ("selfTradePrevention", "stp", "enum"), ("flags", "post_only", "flag:postOnly")],
    p.CancelOrder: [("clOrdId", "cl_ord_id", "cid")],
    p.ModifyOrder: [("price", "price", "decnull"), ("qty", "qty", "decnull"),
                    ("clOrdId", "cl_ord_id", "cid")],
    p.MassCancel: [("symbol", "symbol", "optstr")],
    p.ExecutionReportNew: [
        ("transactTime", "ts", "int"), ("orderId", "order_id", "int"), ("qty", "qty", "dec"),
        ("price", "price", "decnull"), ("triggerPrice", "trigger_price", "decnull"),
        ("trailAmount", "trail_amount", "decnull"), ("trailPct", "trail_pct", "decnull"),
        ("limitOffset", "limit_offset", "decnull"), ("displayQty", "display_qty", "decnull"),
        ("displayVariance", "display_variance", "decnull"), ("expireTs", "expire_ts", "tsnull"), *_EXEC_ID,
        ("side", "side", "enum"), ("ordType", "order_type", "enum"), ("timeInForce", "tif", "enum"),
        ("selfTradePrevention", "stp", "enum"), ("flags", "post_only", "flag:postOnly")],
    p.ExecutionReportFill: [
        ("transactTime", "ts", "int"), ("orderId", "order_id", "int"), ("tradeId", "trade_id", "int"),
        ("lastPx", "price", "dec"), ("lastQty", "qty", "dec"), ("refillQty", "refill_qty", "decnull"),
        *_EXEC_ID, ("side", "side", "enum"), ("liquidity", "liquidity", "enum"),
        ("flags", "auction", "flag:auction")],
    p.ExecutionReportCancelled: [
        ("transactTime", "ts", "int"), ("orderId", "order_id", "int"), ("remaining", "remaining", "dec"),
        *_EXEC_ID, ("reason", "reason", "enum")],
    p.ExecutionReportModified: [
        ("transactTime", "ts", "int"), ("orderId", "order_id", "int"), ("price", "price", "decnull"),
        ("qty", "qty", "dec"), ("refillQty", "refill_qty", "decnull"), *_EXEC_ID,
        ("reason", "reason", "enum"), ("flags", "auction", "flag:auction")],
    p.ExecutionReportTriggered: [
        ("transactTime", "ts", "int"), ("orderId", "order_id", "int"),
        ("triggerPrice", "trigger_price", "dec"), *_EXEC_ID],
    p.ExecutionReportRejected: [
        ("transactTime", "ts", "int"), ("clOrdId", "cl_ord_id", "cid"), ("symbol", "symbol", "optstr"),
        ("text", "text", "str"), ("command", "command", "enum"), ("reason", "reason", "enum")],
    p.BusinessReject: [("refSeqNum", "ref_seq_num", "int"), ("refTemplateId", "ref_template_id", "int"),
                       ("reason", "reason", "enum"), ("text", "text", "str")],
    p.MarketDataL2Update: [
        ("transactTime", "ts", "int"), ("mdSeq", "md_seq", "int"), ("price", "price", "dec"),
        ("qty", "qty", "dec"), ("orderCount", "order_count", "int"), ("symbol", "symbol", "str"),
        ("side", "side", "enum"), ("flags", "last", "flag:lastInBatch")],
    p.MarketDataTrade: [
        ("transactTime", "ts", "int"), ("mdSeq", "md_seq", "int"), ("tradeId", "trade_id", "int"),
        ("price", "price", "dec"), ("qty", "qty", "dec"), ("symbol", "symbol", "str"),
        ("aggressorSide", "aggressor_side", "enum")],
    p.MarketDataSnapshot: [
        ("transactTime", "ts", "int"), ("mdSeq", "md_seq", "int"), ("symbol", "symbol", "str"),
        ("bids", "bids", "levels"), ("asks", "asks", "levels")],
    p.MarketDataStatus: [
        ("transactTime", "ts", "int"), ("mdSeq", "md_seq", "int"), ("untilTs", "until_ts", "tsnull"),
        ("symbol", "symbol", "str"), ("status", "status", "enum"), ("reason", "reason", "enum")],
}

SAMPLES: list[p.Message] = [
    p.Logon("key-1", 1_700_000_000_000_000_000, bytes(range(32)), 30_000),
    p.Logon("k" * 32, INT64_MIN, b"\xff\x00" * 16, 2**32 - 1),
    p.Logout("auth_failed", "bad signature"),
    p.Logout("user_request"),
    p.Heartbeat(),
    p.Heartbeat(UINT64_MAX),
    p.TestRequest(12345),
    p.NewOrder("a1", "BTC", "buy", "limit", 25_000_000, price=PX),
    p.NewOrder(INT64_MIN, "S" * 16, "sell", "trailing_stop_limit", INT64_MAX, trail_pct=150_000_000,
               limit_offset=0, tif="gtd", expire_ts=INT64_MIN + 1, post_only=True, stp="decrement"),
    p.NewOrder(INT64_MAX, "ETH-USD", "buy", "stop_limit", 5, price=100, trigger_price=-1, tif="day"),
    p.NewOrder("x" * 20, "BTC", "sell", "limit", 10**9, price=1, display_qty=10**8, display_variance=0,
               stp="cancel_taker"),
    p.NewOrder(None, "X", "buy", "trailing_stop", 1, trail_amount=5, tif="ioc", stp="cancel_both"),
    p.NewOrder(0, "X", "sell", "market", 1, tif="fok", stp="cancel_maker"),
    p.CancelOrder("a1"),
    p.CancelOrder(-42),
    p.ModifyOrder("a1", price=PX),
    p.ModifyOrder(7, qty=INT64_MAX),
    p.MassCancel(),
    p.MassCancel("BTC"),
    p.ExecutionReportNew(1, "a1", "BTC", 1, "buy", "limit", PX, 25_000_000),
    p.ExecutionReportNew(INT64_MAX, -7, "S" * 16, UINT64_MAX, "sell", "trailing_stop_limit", None, 3,
                         tif="gtd", expire_ts=99, post_only=True, stp="decrement", trail_amount=7,
                         limit_offset=0),
    p.ExecutionReportNew(0, "ice", "X", 3, "sell", "stop_limit", 5, 60, tif="day", trigger_price=4,
                         trail_pct=1, display_qty=10, display_variance=3),
    p.ExecutionReportFill(1, "a1", "BTC", 1, 1, PX, 10_000_000, "sell", "maker", refill_qty=5),
    p.ExecutionReportFill(INT64_MIN, 9, "BTC", UINT64_MAX, UINT64_MAX, INT64_MIN, INT64_MAX, "buy", "taker",
                          auction=True),
    p.ExecutionReportCancelled(3, "a1", "BTC", 1, "market_protection", 0),
    p.ExecutionReportModified(4, "a1", "BTC", 1, PX, 5, reason="stp", refill_qty=2),
    p.ExecutionReportModified(4, 8, "BTC", 1, None, 5, reason="parent_fill", auction=True),
    p.ExecutionReportTriggered(5, "s1", "BTC", 2, PX),
    p.ExecutionReportRejected(6, None, None, "other", "bad_command", "'qty' is required"),
    p.ExecutionReportRejected(6, "a1", "BTC", "new_order", "too_many_orders", "m" * 64),
    p.BusinessReject(17, 99, "unknown_template", "unknown template id 99"),
    p.MarketDataL2Update(7, "BTC", 1, "buy", PX, 0, 0, last=False),
    p.MarketDataL2Update(7, "BTC", UINT64_MAX, "sell", INT64_MAX, INT64_MIN, 2**32 - 1),
    p.MarketDataTrade(8, "BTC", 2, 3, PX, 1, "sell"),
    p.MarketDataSnapshot(9, "BTC", 5),
    p.MarketDataSnapshot(9, "BTC", 5, ((PX, 1, 1), (PX - 1, INT64_MAX, 2**32 - 1)), ((INT64_MIN, 0, 0),)),
    p.MarketDataStatus(10, "BTC", 3, "halted", "scheduled", until_ts=INT64_MAX),
    p.MarketDataStatus(10, "BTC", 4, "resumed", "volatility"),
]


@pytest.fixture(scope="module")
def schema() -> Any:
    with open(p.schema_path()) as f:
        return sbe.Schema.parse(f)


def _cid(value: object) -> tuple[str, str]:
    if value is None:
        return "", "absent"
    if isinstance(value, int):
        return str(value), "integer"
    assert isinstance(value, str)
    return value, "text"


def to_xml(message: p.Message, for_encoding: bool) -> dict[str, Any]:
    """The `sbe` package's view of `message`: what its decoder returns, or (for_encoding)
    what its encoder takes."""
    out: dict[str, Any] = {}
    for xml, attr, kind in LAYOUT[type(message)]:
        v = getattr(message, attr)
        if kind == "int" or kind == "tsnull":
            out[xml] = v
        elif kind == "dec":
            out[xml] = {"mantissa": v}
        elif kind == "decnull":
            out[xml] = {"mantissa": NULL if v is None and for_encoding else v}
        elif kind == "str" or kind == "enum":
            out[xml] = v
        elif kind == "optstr":
            out[xml] = v or ""
        elif kind == "cid":
            out["clOrdId"], out["clOrdIdKind"] = _cid(v)
        elif kind.startswith("flag:"):
            out[xml] = [kind[5:]] if v else []
        elif kind == "raw":
            if for_encoding:
                out[xml] = v
        elif kind == "levels":
            out[xml] = [{"price": {"mantissa": px}, "qty": {"mantissa": q}, "orderCount": n}
                        for px, q, n in v]
        else:
            raise AssertionError(kind)
    return out


def test_every_template_has_a_layout_and_a_sample(schema: Any) -> None:
    assert {t.cls for t in p.TEMPLATES.values()} == set(LAYOUT) == {type(m) for m in SAMPLES}
    for t in p.TEMPLATES.values():
        m = schema.messages[t.template_id]
        assert m.name == t.name and m.blockLength == t.block_length
        names = []
        for xml, _, kind in LAYOUT[t.cls]:
            names += ["clOrdId", "clOrdIdKind"] if kind == "cid" else [xml]
        assert sorted(f.name for f in m.fields) == sorted(names)
    assert int(schema.id) == p.SCHEMA_ID and int(schema.version) == p.SCHEMA_VERSION


@pytest.mark.parametrize("message", SAMPLES, ids=[f"{i}-{type(m).__name__}" for i, m in enumerate(SAMPLES)])
def test_ours_to_sbe(schema: Any, message: p.Message) -> None:
    data = p.encode(message, 77)
    decoded = schema.decode(data)
    t = p.template_of(message)
    assert decoded.message_name == t.name
    assert decoded.header == {"blockLength": t.block_length, "templateId": t.template_id,
                              "schemaId": p.SCHEMA_ID, "version": p.SCHEMA_VERSION, "seqNum": 77}
    value = dict(decoded.value)
    if isinstance(message, p.Logon):  # raw bytes: sbe's decode reads chars as text; its view reads bytes
        value.pop("signature")
    assert value == to_xml(message, for_encoding=False)
    if isinstance(message, p.Logon):
        view = schema.wrap(data)
        assert view.header["templateId"] == p.template_of(message).template_id
        assert view.body.get_raw_pointer("signature").unpack(memoryview(data)) == message.signature


@pytest.mark.parametrize("message", SAMPLES, ids=[f"{i}-{type(m).__name__}" for i, m in enumerate(SAMPLES)])
def test_sbe_to_ours(schema: Any, message: p.Message) -> None:
    t = p.template_of(message)
    data = schema.encode(schema.messages[t.template_id], to_xml(message, for_encoding=True),
                         header={"seqNum": 5})
    assert p.decode(data) == (5, message)
    assert data == p.encode(message, 5)  # byte for byte
    dec = p.FrameDecoder()
    dec.feed(p.frame(data))
    assert dec.next_message() == (5, message)


def test_sbe_reads_a_stream_of_our_frames(schema: Any) -> None:
    stream = b"".join(p.encode_frame(m, i) for i, m in enumerate(SAMPLES))
    pos, got = 0, []
    while pos < len(stream):
        n = int.from_bytes(stream[pos:pos + 4], "little")
        got.append(schema.decode(stream[pos + 4:pos + 4 + n]).message_name)
        pos += 4 + n
    assert got == [p.template_of(m).name for m in SAMPLES]
