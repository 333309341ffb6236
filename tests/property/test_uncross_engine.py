"""The engine's uncross against the pure auction (`core/auction.py`) on random calls.

Random orders (limit and market, both sides, prices around 100, a `reference_price` or
none) are collected in a halted symbol, then `resume` uncrosses them. Without STP the
engine's auction trades must be exactly `auction.uncross`'s fills, in order, at its price
(which `test_auction_brute_force` checks against a brute force); and after the resume the
book is not crossed, no market order is held, and every market remainder was cancelled
`no_liquidity`. With every order of one user and random STP modes, the rounds still end
with an uncrossed book and every trade within both orders' limits.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hftbook.core.auction import uncross
from hftbook.core.exchange import Exchange

_order = st.tuples(
    st.sampled_from(["buy", "sell"]),
    st.one_of(st.none(), st.integers(95, 105), st.integers(95, 105)),  # None: market
    st.integers(1, 9),
    st.sampled_from(["none", "cancel_taker", "cancel_maker", "cancel_both", "decrement"]),
)


def _call(orders: list[tuple[str, int | None, int, str]], reference: int | None, one_user: bool) -> tuple[
        Exchange, list[dict[str, Any]]]:
    ex = Exchange()
    instrument: dict[str, Any] = {"cmd": "instrument", "ts": 0, "symbol": "X", "tick_size": "1",
                                  "lot_size": "1", "halt_orders": "collect"}
    if reference is not None:
        instrument["reference_price"] = str(reference)
    ex.apply(instrument)
    ex.apply({"cmd": "halt", "ts": 1, "symbol": "X"})
    for i, (side, price, qty, stp) in enumerate(orders, start=1):
        cmd: dict[str, Any] = {"cmd": "new", "ts": 2, "user": "u" if one_user else f"u{i}", "id": i,
                               "symbol": "X", "side": side, "qty": str(qty), "stp": stp}
        cmd.update(type="market") if price is None else cmd.update(type="limit", price=str(price))
        assert ex.apply(cmd)[0]["type"] == "accepted"
    return ex, ex.apply({"cmd": "resume", "ts": 3, "symbol": "X"})


def _uncrossed(ex: Exchange) -> None:
    book = ex.books["X"]
    bb, ba = book.best_bid(), book.best_ask()
    assert bb is None or ba is None or bb < ba, (bb, ba)
    assert not book.held


@given(st.lists(_order, min_size=1, max_size=14), st.one_of(st.none(), st.integers(93, 107)))
def test_engine_uncross_equals_the_pure_auction(orders: list[tuple[str, int | None, int, str]],
                                                reference: int | None) -> None:
    ex, events = _call(orders, reference, one_user=False)
    # Order ids are 1, 2, ... in submission order, and so is time priority in the call.
    bids = [(i, p, q, i) for i, (side, p, q, _) in enumerate(orders, start=1) if side == "buy"]
    asks = [(i, p, q, i) for i, (side, p, q, _) in enumerate(orders, start=1) if side == "sell"]
    want = uncross(bids, asks, reference)
    trades = [e for e in events if e["type"] == "trade"]
    assert all(e.get("auction") is True for e in trades)
    got = []
    for e in trades:
        buy, sell = (e["taker"], e["maker"]) if e["side"] == "buy" else (e["maker"], e["taker"])
        assert e["maker"]["order_id"] < e["taker"]["order_id"]  # the earlier accepted is the maker
        got.append((buy["order_id"], sell["order_id"], int(e["qty"])))
    if want is None:
        assert got == []
    else:
        assert got == [(f.buy, f.sell, f.qty) for f in want.fills]
        assert {e["price"] for e in trades} == {str(want.price)}
    filled = {}
    for b, s, q in got:
        filled[b] = filled.get(b, 0) + q
        filled[s] = filled.get(s, 0) + q
    markets = {i: q for i, (_, p, q, _) in enumerate(orders, start=1) if p is None}
    left = sorted((e["order_id"], int(e["remaining"])) for e in events
                  if e["type"] == "cancelled" and e["reason"] == "no_liquidity")
    assert left == sorted((i, q - filled.get(i, 0)) for i, q in markets.items() if q > filled.get(i, 0))
    _uncrossed(ex)


@given(st.lists(_order, min_size=1, max_size=14), st.one_of(st.none(), st.integers(93, 107)))
def test_stp_rounds_end_uncrossed(orders: list[tuple[str, int | None, int, str]],
                                  reference: int | None) -> None:
    ex, events = _call(orders, reference, one_user=True)
    limits = {i: p for i, (_, p, _, _) in enumerate(orders, start=1)}
    for e in events:
        if e["type"] != "trade":
            continue
        price = int(e["price"])
        buy, sell = (e["taker"], e["maker"]) if e["side"] == "buy" else (e["maker"], e["taker"])
        bl, sl = limits[buy["order_id"]], limits[sell["order_id"]]
        assert (bl is None or bl >= price) and (sl is None or sl <= price), e
        # One user on both sides: only stp none lets the later order trade with the earlier.
        assert orders[e["taker"]["order_id"] - 1][3] == "none", e
    _uncrossed(ex)
