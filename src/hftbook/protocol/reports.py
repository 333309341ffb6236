"""Execution-report templates (server -> client): one per contract order event of the
session's user. ExecutionReportNew (accepted), Fill (one side of a trade), Cancelled,
Modified, Triggered, Rejected.

Invariants: each body format is the XML's field order and types (checked by the tests);
optional int64 fields carry `NULL_INT64` for None; encoders return a whole frame in one
`Struct.pack`; decoders read the fixed block at `off` and ignore what follows it.
"""

from __future__ import annotations

from struct import Struct

from hftbook.protocol.messages import (
    ExecutionReportCancelled,
    ExecutionReportFill,
    ExecutionReportModified,
    ExecutionReportNew,
    ExecutionReportRejected,
    ExecutionReportTriggered,
)
from hftbook.protocol.orders import ORDER_TYPE, SIDE, STP, TIF
from hftbook.protocol.schema import (
    AUCTION_BIT,
    CANCEL_REASONS,
    EXEC_CANCELLED,
    EXEC_FILL,
    EXEC_MODIFIED,
    EXEC_NEW,
    EXEC_REJECTED,
    EXEC_TRIGGERED,
    LIQUIDITY,
    MODIFY_REASONS,
    NULL_INT64,
    ORDER_TYPES,
    POST_ONLY_BIT,
    REJECT_REASONS,
    REJECTED_COMMANDS,
    SCHEMA_ID,
    SCHEMA_VERSION,
    SIDES,
    STPS,
    TEXT_LENGTH,
    TIFS,
    codes,
)
from hftbook.protocol.wire import (
    SYMBOL_IN,
    SYMBOL_OUT,
    Buffer,
    Template,
    cid_in,
    cid_kind,
    cid_out,
    frame_length,
    frame_struct,
    new_tuple,
    opt_symbol_out,
    register,
    symbol_in,
    symbol_out,
    text_in,
    text_out,
)

N = NULL_INT64
_LIQUIDITY = codes(LIQUIDITY)
_CANCEL_REASON = codes(CANCEL_REASONS)
_MODIFY_REASON = codes(MODIFY_REASONS)
_REJECT_REASON = codes(REJECT_REASONS)
_COMMAND = codes(REJECTED_COMMANDS)

# ExecutionReportNew: transactTime int64, orderId uint64, qty, price, triggerPrice, trailAmount,
# trailPct, limitOffset, displayQty, displayVariance, expireTs (int64 each), clOrdId char[20],
# symbol char[16], clOrdIdKind, side, ordType, timeInForce, selfTradePrevention, flags (uint8)
_NEW_FMT = "qQ9q20s16s6B"
_NEW_BLOCK = 130
_NEW_LEN = frame_length(_NEW_BLOCK)
_NEW_FRAME = frame_struct(_NEW_FMT)
_NEW_BODY = Struct("<" + _NEW_FMT)


def _enc_new(m: ExecutionReportNew, seq: int) -> bytes:
    ts, cid, symbol, oid, side, otype, price, qty, tif, expire, post_only, stp, trigger, t_amt, t_pct, \
        offset, dqty, dvar = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _NEW_FRAME.pack(
        _NEW_LEN, _NEW_BLOCK, EXEC_NEW, SCHEMA_ID, SCHEMA_VERSION, seq,
        ts, oid, qty, N if price is None else price, N if trigger is None else trigger,
        N if t_amt is None else t_amt, N if t_pct is None else t_pct, N if offset is None else offset,
        N if dqty is None else dqty, N if dvar is None else dvar, N if expire is None else expire,
        cid_in(cid), sym, cid_kind(cid), SIDE[side], ORDER_TYPE[otype], TIF[tif], STP[stp],
        1 if post_only else 0,
    )


def _dec_new(buf: Buffer, off: int, bl: int, end: int) -> ExecutionReportNew:
    ts, oid, qty, price, trigger, t_amt, t_pct, offset, dqty, dvar, expire, cid, symbol, kind, side, \
        otype, tif, stp, flags = _NEW_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(ExecutionReportNew, (
        ts, cid_out(kind, cid), sym, oid, SIDES[side], ORDER_TYPES[otype],
        None if price == N else price, qty, TIFS[tif], None if expire == N else expire,
        (flags & POST_ONLY_BIT) != 0, STPS[stp], None if trigger == N else trigger,
        None if t_amt == N else t_amt, None if t_pct == N else t_pct, None if offset == N else offset,
        None if dqty == N else dqty, None if dvar == N else dvar,
    ))


# ExecutionReportFill: transactTime, orderId, tradeId, lastPx, lastQty, refillQty (8 bytes
# each), clOrdId, symbol, clOrdIdKind, side, liquidity, flags
_FILL_FMT = "qQQ3q20s16s4B"
_FILL_BLOCK = 88
_FILL_LEN = frame_length(_FILL_BLOCK)
_FILL_FRAME = frame_struct(_FILL_FMT)
_FILL_BODY = Struct("<" + _FILL_FMT)


def _enc_fill(m: ExecutionReportFill, seq: int) -> bytes:
    ts, cid, symbol, oid, trade_id, price, qty, side, liquidity, refill, auction = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _FILL_FRAME.pack(
        _FILL_LEN, _FILL_BLOCK, EXEC_FILL, SCHEMA_ID, SCHEMA_VERSION, seq,
        ts, oid, trade_id, price, qty, N if refill is None else refill, cid_in(cid), sym, cid_kind(cid),
        SIDE[side], _LIQUIDITY[liquidity], 1 if auction else 0,
    )


def _dec_fill(buf: Buffer, off: int, bl: int, end: int) -> ExecutionReportFill:
    ts, oid, trade_id, price, qty, refill, cid, symbol, kind, side, liquidity, flags = \
        _FILL_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(ExecutionReportFill, (
        ts, cid_out(kind, cid), sym, oid, trade_id, price, qty, SIDES[side],
        LIQUIDITY[liquidity], None if refill == N else refill, (flags & AUCTION_BIT) != 0,
    ))


# ExecutionReportCancelled: transactTime, orderId, remaining, clOrdId, symbol, clOrdIdKind, reason
_CXL_FMT = "qQq20s16s2B"
_CXL_BLOCK = 62
_CXL_LEN = frame_length(_CXL_BLOCK)
_CXL_FRAME = frame_struct(_CXL_FMT)
_CXL_BODY = Struct("<" + _CXL_FMT)


def _enc_cancelled(m: ExecutionReportCancelled, seq: int) -> bytes:
    ts, cid, symbol, oid, reason, remaining = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _CXL_FRAME.pack(_CXL_LEN, _CXL_BLOCK, EXEC_CANCELLED, SCHEMA_ID, SCHEMA_VERSION, seq,
                           ts, oid, remaining, cid_in(cid), sym, cid_kind(cid), _CANCEL_REASON[reason])


def _dec_cancelled(buf: Buffer, off: int, bl: int, end: int) -> ExecutionReportCancelled:
    ts, oid, remaining, cid, symbol, kind, reason = _CXL_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(ExecutionReportCancelled, (ts, cid_out(kind, cid), sym, oid, CANCEL_REASONS[reason],
                                                remaining))


# ExecutionReportModified: transactTime, orderId, price, qty, refillQty, clOrdId, symbol,
# clOrdIdKind, reason, flags
_MOD_FMT = "qQ3q20s16s3B"
_MOD_BLOCK = 79
_MOD_LEN = frame_length(_MOD_BLOCK)
_MOD_FRAME = frame_struct(_MOD_FMT)
_MOD_BODY = Struct("<" + _MOD_FMT)


def _enc_modified(m: ExecutionReportModified, seq: int) -> bytes:
    ts, cid, symbol, oid, price, qty, reason, refill, auction = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _MOD_FRAME.pack(_MOD_LEN, _MOD_BLOCK, EXEC_MODIFIED, SCHEMA_ID, SCHEMA_VERSION, seq,
                           ts, oid, N if price is None else price, qty, N if refill is None else refill,
                           cid_in(cid), sym, cid_kind(cid), _MODIFY_REASON[reason], 1 if auction else 0)


def _dec_modified(buf: Buffer, off: int, bl: int, end: int) -> ExecutionReportModified:
    ts, oid, price, qty, refill, cid, symbol, kind, reason, flags = _MOD_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(ExecutionReportModified, (
        ts, cid_out(kind, cid), sym, oid, None if price == N else price, qty,
        MODIFY_REASONS[reason], None if refill == N else refill, (flags & AUCTION_BIT) != 0,
    ))


# ExecutionReportTriggered: transactTime, orderId, triggerPrice, clOrdId, symbol, clOrdIdKind
_TRIG_FMT = "qQq20s16sB"
_TRIG_BLOCK = 61
_TRIG_LEN = frame_length(_TRIG_BLOCK)
_TRIG_FRAME = frame_struct(_TRIG_FMT)
_TRIG_BODY = Struct("<" + _TRIG_FMT)


def _enc_triggered(m: ExecutionReportTriggered, seq: int) -> bytes:
    ts, cid, symbol, oid, trigger = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _TRIG_FRAME.pack(_TRIG_LEN, _TRIG_BLOCK, EXEC_TRIGGERED, SCHEMA_ID, SCHEMA_VERSION, seq,
                            ts, oid, trigger, cid_in(cid), sym, cid_kind(cid))


def _dec_triggered(buf: Buffer, off: int, bl: int, end: int) -> ExecutionReportTriggered:
    ts, oid, trigger, cid, symbol, kind = _TRIG_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(ExecutionReportTriggered, (ts, cid_out(kind, cid), sym, oid, trigger))


# ExecutionReportRejected: transactTime, clOrdId, symbol, text char[64], clOrdIdKind, command, reason
_REJ_FMT = "q20s16s64s3B"
_REJ_BLOCK = 111
_REJ_LEN = frame_length(_REJ_BLOCK)
_REJ_FRAME = frame_struct(_REJ_FMT)
_REJ_BODY = Struct("<" + _REJ_FMT)


def _enc_rejected(m: ExecutionReportRejected, seq: int) -> bytes:
    ts, cid, symbol, command, reason, text = m
    return _REJ_FRAME.pack(_REJ_LEN, _REJ_BLOCK, EXEC_REJECTED, SCHEMA_ID, SCHEMA_VERSION, seq,
                           ts, cid_in(cid), symbol_in(symbol), text_in(text, TEXT_LENGTH, "text"),
                           cid_kind(cid), _COMMAND[command], _REJECT_REASON[reason])


def _dec_rejected(buf: Buffer, off: int, bl: int, end: int) -> ExecutionReportRejected:
    ts, cid, symbol, text, kind, command, reason = _REJ_BODY.unpack_from(buf, off)
    return new_tuple(ExecutionReportRejected, (ts, cid_out(kind, cid), opt_symbol_out(symbol),
                                               REJECTED_COMMANDS[command], REJECT_REASONS[reason],
                                               text_out(text)))


register(Template(EXEC_NEW, ExecutionReportNew, _NEW_BLOCK, _NEW_FMT, _enc_new, _dec_new))
register(Template(EXEC_FILL, ExecutionReportFill, _FILL_BLOCK, _FILL_FMT, _enc_fill, _dec_fill))
register(Template(EXEC_CANCELLED, ExecutionReportCancelled, _CXL_BLOCK, _CXL_FMT, _enc_cancelled,
                  _dec_cancelled))
register(Template(EXEC_MODIFIED, ExecutionReportModified, _MOD_BLOCK, _MOD_FMT, _enc_modified,
                  _dec_modified))
register(Template(EXEC_TRIGGERED, ExecutionReportTriggered, _TRIG_BLOCK, _TRIG_FMT, _enc_triggered,
                  _dec_triggered))
register(Template(EXEC_REJECTED, ExecutionReportRejected, _REJ_BLOCK, _REJ_FMT, _enc_rejected,
                  _dec_rejected))
