"""Market-data templates (server -> client): MarketDataL2Update, MarketDataTrade,
MarketDataSnapshot (two repeating groups: bids, asks) and MarketDataStatus.

Invariants: each body format is the XML's field order and types (checked by the tests); a
snapshot's groups follow its fixed block as the header's blockLength says, each with a
groupSizeEncoding (entry blockLength, numInGroup); a decoder steps over an entry by the
entry blockLength it reads (a newer version may have appended fields to entries) and never
reads past the message's end.
"""

from __future__ import annotations

from struct import Struct

from hftbook.protocol.errors import EncodeError
from hftbook.protocol.messages import (
    Level,
    MarketDataL2Update,
    MarketDataSnapshot,
    MarketDataStatus,
    MarketDataTrade,
)
from hftbook.protocol.orders import SIDE
from hftbook.protocol.schema import (
    HEADER_SIZE,
    LAST_IN_BATCH_BIT,
    LENGTH_PREFIX_SIZE,
    MD_L2_UPDATE,
    MD_SNAPSHOT,
    MD_STATUS,
    MD_TRADE,
    NULL_INT64,
    SCHEMA_ID,
    SCHEMA_VERSION,
    SIDES,
    STATUS_REASONS,
    TRADING_STATUSES,
    codes,
)
from hftbook.protocol.wire import (
    GROUP_HEADER,
    SYMBOL_IN,
    SYMBOL_OUT,
    Buffer,
    Template,
    frame_length,
    frame_struct,
    new_tuple,
    register,
    symbol_in,
    symbol_out,
)

N = NULL_INT64
_STATUS = codes(TRADING_STATUSES)
_STATUS_REASON = codes(STATUS_REASONS)

# MarketDataL2Update: transactTime, mdSeq, price, qty, orderCount uint32, symbol, side, flags
_L2_FMT = "qQqqI16s2B"
_L2_BLOCK = 54
_L2_LEN = frame_length(_L2_BLOCK)
_L2_FRAME = frame_struct(_L2_FMT)
_L2_BODY = Struct("<" + _L2_FMT)


def _enc_l2(m: MarketDataL2Update, seq: int) -> bytes:
    ts, symbol, md_seq, side, price, qty, orders, last = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _L2_FRAME.pack(_L2_LEN, _L2_BLOCK, MD_L2_UPDATE, SCHEMA_ID, SCHEMA_VERSION, seq,
                          ts, md_seq, price, qty, orders, sym, SIDE[side], 1 if last else 0)


def _dec_l2(buf: Buffer, off: int, bl: int, end: int) -> MarketDataL2Update:
    ts, md_seq, price, qty, orders, symbol, side, flags = _L2_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(MarketDataL2Update, (ts, sym, md_seq, SIDES[side], price, qty, orders,
                                          (flags & LAST_IN_BATCH_BIT) != 0))


# MarketDataTrade: transactTime, mdSeq, tradeId, price, qty, symbol, aggressorSide
_TRADE_FMT = "qQQqq16sB"
_TRADE_BLOCK = 57
_TRADE_LEN = frame_length(_TRADE_BLOCK)
_TRADE_FRAME = frame_struct(_TRADE_FMT)
_TRADE_BODY = Struct("<" + _TRADE_FMT)


def _enc_trade(m: MarketDataTrade, seq: int) -> bytes:
    ts, symbol, md_seq, trade_id, price, qty, side = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _TRADE_FRAME.pack(_TRADE_LEN, _TRADE_BLOCK, MD_TRADE, SCHEMA_ID, SCHEMA_VERSION, seq,
                             ts, md_seq, trade_id, price, qty, sym, SIDE[side])


def _dec_trade(buf: Buffer, off: int, bl: int, end: int) -> MarketDataTrade:
    ts, md_seq, trade_id, price, qty, symbol, side = _TRADE_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(MarketDataTrade, (ts, sym, md_seq, trade_id, price, qty, SIDES[side]))


# MarketDataSnapshot: transactTime, mdSeq, symbol; groups bids, asks of (price, qty, orderCount)
_SNAP_FMT = "qQ16s"
_SNAP_BLOCK = 32
_SNAP_HEAD = frame_struct(_SNAP_FMT)
_SNAP_BODY = Struct("<" + _SNAP_FMT)
_LEVEL_FMT = "qqI"
_LEVEL = Struct("<" + _LEVEL_FMT)
_LEVEL_SIZE = _LEVEL.size  # 20
_GROUP_MAX = 0xFFFF


def _enc_snapshot(m: MarketDataSnapshot, seq: int) -> bytes:
    ts, symbol, md_seq, bids, asks = m
    nb, na = len(bids), len(asks)
    if nb > _GROUP_MAX or na > _GROUP_MAX:
        raise EncodeError(f"a snapshot side holds at most {_GROUP_MAX} levels")
    size = HEADER_SIZE + _SNAP_BLOCK + 2 * GROUP_HEADER.size + (nb + na) * _LEVEL_SIZE
    out = bytearray(LENGTH_PREFIX_SIZE + size)
    _SNAP_HEAD.pack_into(out, 0, size, _SNAP_BLOCK, MD_SNAPSHOT, SCHEMA_ID, SCHEMA_VERSION, seq,
                         ts, md_seq, symbol_in(symbol))
    pos = _SNAP_HEAD.size
    pack_level = _LEVEL.pack_into
    for levels, n in ((bids, nb), (asks, na)):
        GROUP_HEADER.pack_into(out, pos, _LEVEL_SIZE, n)
        pos += GROUP_HEADER.size
        for price, qty, orders in levels:
            pack_level(out, pos, price, qty, orders)
            pos += _LEVEL_SIZE
    return bytes(out)


def _levels(buf: Buffer, pos: int, end: int) -> tuple[tuple[Level, ...], int]:
    if pos + GROUP_HEADER.size > end:
        raise ValueError("a group header runs past the end of the message")
    entry, n = GROUP_HEADER.unpack_from(buf, pos)
    pos += GROUP_HEADER.size
    stop = pos + entry * n
    if entry < _LEVEL_SIZE or stop > end:
        raise ValueError(f"bad group: {n} entries of {entry} bytes at {pos} in a message ending at {end}")
    if entry == _LEVEL_SIZE:
        return tuple(_LEVEL.iter_unpack(buf[pos:stop])), stop
    unpack = _LEVEL.unpack_from
    return tuple(unpack(buf, pos + i * entry) for i in range(n)), stop


def _dec_snapshot(buf: Buffer, off: int, bl: int, end: int) -> MarketDataSnapshot:
    ts, md_seq, symbol = _SNAP_BODY.unpack_from(buf, off)
    bids, pos = _levels(buf, off + bl, end)
    asks, pos = _levels(buf, pos, end)
    return new_tuple(MarketDataSnapshot, (ts, symbol_out(symbol), md_seq, bids, asks))


# MarketDataStatus: transactTime, mdSeq, untilTs (optional), symbol, status, reason
_STATUS_FMT = "qQq16s2B"
_STATUS_BLOCK = 42
_STATUS_LEN = frame_length(_STATUS_BLOCK)
_STATUS_FRAME = frame_struct(_STATUS_FMT)
_STATUS_BODY = Struct("<" + _STATUS_FMT)


def _enc_status(m: MarketDataStatus, seq: int) -> bytes:
    ts, symbol, md_seq, status, reason, until = m
    return _STATUS_FRAME.pack(_STATUS_LEN, _STATUS_BLOCK, MD_STATUS, SCHEMA_ID, SCHEMA_VERSION, seq,
                              ts, md_seq, N if until is None else until, symbol_in(symbol),
                              _STATUS[status], _STATUS_REASON[reason])


def _dec_status(buf: Buffer, off: int, bl: int, end: int) -> MarketDataStatus:
    ts, md_seq, until, symbol, status, reason = _STATUS_BODY.unpack_from(buf, off)
    return new_tuple(MarketDataStatus, (ts, symbol_out(symbol), md_seq, TRADING_STATUSES[status],
                                        STATUS_REASONS[reason], None if until == N else until))


register(Template(MD_L2_UPDATE, MarketDataL2Update, _L2_BLOCK, _L2_FMT, _enc_l2, _dec_l2))
register(Template(MD_TRADE, MarketDataTrade, _TRADE_BLOCK, _TRADE_FMT, _enc_trade, _dec_trade))
register(Template(MD_SNAPSHOT, MarketDataSnapshot, _SNAP_BLOCK, _SNAP_FMT, _enc_snapshot, _dec_snapshot,
                  groups=(("bids", _LEVEL_FMT), ("asks", _LEVEL_FMT))))
register(Template(MD_STATUS, MarketDataStatus, _STATUS_BLOCK, _STATUS_FMT, _enc_status, _dec_status))
