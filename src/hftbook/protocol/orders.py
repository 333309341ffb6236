"""Order-entry templates (client -> server): NewOrder, CancelOrder, ModifyOrder, MassCancel.

Invariants: each body format is the XML's field order and types (checked by the tests);
optional int64 fields carry `NULL_INT64` on the wire for None and only for None; encoders
return a whole frame in one `Struct.pack`; decoders read the fixed block at `off` and ignore
what follows it (fields a newer version appended).
"""

from __future__ import annotations

from struct import Struct

from hftbook.protocol.messages import CancelOrder, MassCancel, ModifyOrder, NewOrder
from hftbook.protocol.schema import (
    CANCEL_ORDER,
    MASS_CANCEL,
    MODIFY_ORDER,
    NEW_ORDER,
    NULL_INT64,
    ORDER_TYPES,
    POST_ONLY_BIT,
    SCHEMA_ID,
    SCHEMA_VERSION,
    SIDES,
    STPS,
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
)

N = NULL_INT64
SIDE = codes(SIDES)
ORDER_TYPE = codes(ORDER_TYPES)
TIF = codes(TIFS)
STP = codes(STPS)

# NewOrder: qty, price, triggerPrice, trailAmount, trailPct, limitOffset, displayQty,
# displayVariance, expireTs (int64 each), clOrdId char[20], symbol char[16], clOrdIdKind, side,
# ordType, timeInForce, selfTradePrevention, flags (uint8 each)
_NEW_FMT = "9q20s16s6B"
_NEW_BLOCK = 114
_NEW_LEN = frame_length(_NEW_BLOCK)
_NEW_FRAME = frame_struct(_NEW_FMT)
_NEW_BODY = Struct("<" + _NEW_FMT)


def _enc_new_order(m: NewOrder, seq: int) -> bytes:
    cid, symbol, side, otype, qty, price, trigger, t_amt, t_pct, offset, tif, expire, post_only, stp, \
        dqty, dvar = m
    sym = SYMBOL_IN.get(symbol) or symbol_in(symbol)
    return _NEW_FRAME.pack(
        _NEW_LEN, _NEW_BLOCK, NEW_ORDER, SCHEMA_ID, SCHEMA_VERSION, seq,
        qty, N if price is None else price, N if trigger is None else trigger,
        N if t_amt is None else t_amt, N if t_pct is None else t_pct, N if offset is None else offset,
        N if dqty is None else dqty, N if dvar is None else dvar, N if expire is None else expire,
        cid_in(cid), sym, cid_kind(cid), SIDE[side], ORDER_TYPE[otype], TIF[tif], STP[stp],
        1 if post_only else 0,
    )


def _dec_new_order(buf: Buffer, off: int, bl: int, end: int) -> NewOrder:
    qty, price, trigger, t_amt, t_pct, offset, dqty, dvar, expire, cid, symbol, kind, side, otype, tif, \
        stp, flags = _NEW_BODY.unpack_from(buf, off)
    sym = SYMBOL_OUT.get(symbol) or symbol_out(symbol)
    return new_tuple(NewOrder, (
        cid_out(kind, cid), sym, SIDES[side], ORDER_TYPES[otype], qty,
        None if price == N else price, None if trigger == N else trigger, None if t_amt == N else t_amt,
        None if t_pct == N else t_pct, None if offset == N else offset, TIFS[tif],
        None if expire == N else expire, (flags & POST_ONLY_BIT) != 0, STPS[stp],
        None if dqty == N else dqty, None if dvar == N else dvar,
    ))


# CancelOrder: clOrdId char[20], clOrdIdKind uint8
_CANCEL_FMT = "20sB"
_CANCEL_BLOCK = 21
_CANCEL_LEN = frame_length(_CANCEL_BLOCK)
_CANCEL_FRAME = frame_struct(_CANCEL_FMT)
_CANCEL_BODY = Struct("<" + _CANCEL_FMT)


def _enc_cancel(m: CancelOrder, seq: int) -> bytes:
    cid = m.cl_ord_id
    return _CANCEL_FRAME.pack(_CANCEL_LEN, _CANCEL_BLOCK, CANCEL_ORDER, SCHEMA_ID, SCHEMA_VERSION, seq,
                              cid_in(cid), cid_kind(cid))


def _dec_cancel(buf: Buffer, off: int, bl: int, end: int) -> CancelOrder:
    cid, kind = _CANCEL_BODY.unpack_from(buf, off)
    return new_tuple(CancelOrder, (cid_out(kind, cid),))


# ModifyOrder: price Price8NULL, qty Qty8NULL, clOrdId char[20], clOrdIdKind uint8
_MODIFY_FMT = "2q20sB"
_MODIFY_BLOCK = 37
_MODIFY_LEN = frame_length(_MODIFY_BLOCK)
_MODIFY_FRAME = frame_struct(_MODIFY_FMT)
_MODIFY_BODY = Struct("<" + _MODIFY_FMT)


def _enc_modify(m: ModifyOrder, seq: int) -> bytes:
    cid, price, qty = m
    return _MODIFY_FRAME.pack(_MODIFY_LEN, _MODIFY_BLOCK, MODIFY_ORDER, SCHEMA_ID, SCHEMA_VERSION, seq,
                              N if price is None else price, N if qty is None else qty,
                              cid_in(cid), cid_kind(cid))


def _dec_modify(buf: Buffer, off: int, bl: int, end: int) -> ModifyOrder:
    price, qty, cid, kind = _MODIFY_BODY.unpack_from(buf, off)
    return new_tuple(ModifyOrder, (cid_out(kind, cid), None if price == N else price,
                                   None if qty == N else qty))


# MassCancel: symbol char[16] (all NUL: every symbol)
_MASS_FMT = "16s"
_MASS_BLOCK = 16
_MASS_LEN = frame_length(_MASS_BLOCK)
_MASS_FRAME = frame_struct(_MASS_FMT)
_MASS_BODY = Struct("<" + _MASS_FMT)


def _enc_mass_cancel(m: MassCancel, seq: int) -> bytes:
    return _MASS_FRAME.pack(_MASS_LEN, _MASS_BLOCK, MASS_CANCEL, SCHEMA_ID, SCHEMA_VERSION, seq,
                            symbol_in(m.symbol))


def _dec_mass_cancel(buf: Buffer, off: int, bl: int, end: int) -> MassCancel:
    (symbol,) = _MASS_BODY.unpack_from(buf, off)
    return new_tuple(MassCancel, (opt_symbol_out(symbol),))


register(Template(NEW_ORDER, NewOrder, _NEW_BLOCK, _NEW_FMT, _enc_new_order, _dec_new_order))
register(Template(CANCEL_ORDER, CancelOrder, _CANCEL_BLOCK, _CANCEL_FMT, _enc_cancel, _dec_cancel))
register(Template(MODIFY_ORDER, ModifyOrder, _MODIFY_BLOCK, _MODIFY_FMT, _enc_modify, _dec_modify))
register(Template(MASS_CANCEL, MassCancel, _MASS_BLOCK, _MASS_FMT, _enc_mass_cancel, _dec_mass_cancel))
