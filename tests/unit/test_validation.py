"""Bad input through ``Exchange.apply``: every rejection has the right reason and changes nothing.

The reasons and their order come from docs/PROTOCOL.md (Numbers; Command processing order; the
validation order of ``new`` and ``modify``). Each case starts from the same small exchange and
checks ``state_hash()`` before and after the rejected command.
"""

from __future__ import annotations

from typing import Any

import pytest

from hftbook.core.exchange import Exchange

TS = 1000
ALICE_ID = "ord-alice-1"  # alice's resting sell on XYZ
UNKNOWN_ID = "no-such-order-9"
DROP = object()  # marks a field to leave out of a command

SETUP: list[dict[str, Any]] = [
    {"cmd": "instrument", "ts": TS, "symbol": "XYZ", "tick_size": "0.01", "lot_size": "1"},
    {"cmd": "instrument", "ts": TS, "symbol": "ABC", "tick_size": "1", "lot_size": "1"},
    {"cmd": "instrument", "ts": TS, "symbol": "LOT", "tick_size": "1", "lot_size": "10"},
    {"cmd": "new", "ts": TS, "user": "alice", "id": ALICE_ID, "symbol": "XYZ", "side": "sell",
     "type": "limit", "qty": "5", "price": "100.05"},
    {"cmd": "new", "ts": TS, "user": "bob", "id": "b1", "symbol": "XYZ", "side": "buy",
     "type": "limit", "qty": "3", "price": "99.95"},
]


def make_exchange() -> Exchange:
    ex = Exchange()
    for cmd in SETUP:
        events = ex.apply(dict(cmd))
        assert all(e["type"] != "rejected" for e in events), events
    return ex


def _cmd(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    cmd = dict(base)
    for key, value in changes.items():
        if value is DROP:
            cmd.pop(key, None)
        else:
            cmd[key] = value
    return cmd


NEW = {"cmd": "new", "ts": TS, "user": "carol", "id": "c1", "symbol": "XYZ", "side": "buy",
       "type": "limit", "qty": "2", "price": "99.90"}
MARKET = {"cmd": "new", "ts": TS, "user": "carol", "id": "m1", "symbol": "XYZ", "side": "buy",
          "type": "market", "qty": "1"}
GTD = _cmd(NEW, tif="gtd", expire_ts=TS + 500)
CANCEL = {"cmd": "cancel", "ts": TS, "user": "alice", "id": ALICE_ID}
MODIFY = {"cmd": "modify", "ts": TS, "user": "alice", "id": ALICE_ID, "qty": "4"}
INSTRUMENT = {"cmd": "instrument", "ts": TS, "symbol": "NEW", "tick_size": "0.5", "lot_size": "1"}
BOOK = {"cmd": "book", "ts": TS, "symbol": "XYZ"}
METRICS = {"cmd": "metrics", "ts": TS, "symbol": "XYZ"}

# (case id, command, expected rejection reason)
CASES: list[tuple[str, dict[str, Any], str]] = [
    # --- the command itself and its ts (PROTOCOL command processing order) ---
    ("cmd-missing", _cmd(BOOK, cmd=DROP), "bad_command"),
    ("cmd-unknown", _cmd(BOOK, cmd="nope"), "bad_command"),
    ("cmd-not-string", _cmd(BOOK, cmd=5), "bad_command"),
    ("ts-bool", _cmd(NEW, ts=True), "bad_command"),
    ("ts-float", _cmd(NEW, ts=float(TS)), "bad_command"),
    ("ts-negative", _cmd(NEW, ts=-1), "bad_command"),
    ("ts-string", _cmd(NEW, ts=str(TS)), "bad_command"),
    ("ts-null", _cmd(NEW, ts=None), "bad_command"),
    ("ts-over-int64", _cmd(BOOK, ts=2**63), "bad_command"),
    # --- new: field types (step 1) ---
    ("user-missing", _cmd(NEW, user=DROP), "bad_command"),
    ("user-empty", _cmd(NEW, user=""), "bad_command"),
    ("user-int", _cmd(NEW, user=5), "bad_command"),
    ("user-null", _cmd(NEW, user=None), "bad_command"),
    ("id-missing", _cmd(NEW, id=DROP), "bad_command"),
    ("id-bool", _cmd(NEW, id=True), "bad_command"),
    ("id-null", _cmd(NEW, id=None), "bad_command"),
    ("id-float", _cmd(NEW, id=1.5), "bad_command"),
    ("id-list", _cmd(NEW, id=[1]), "bad_command"),
    ("symbol-missing", _cmd(NEW, symbol=DROP), "bad_command"),
    ("symbol-int", _cmd(NEW, symbol=5), "bad_command"),
    ("symbol-null", _cmd(NEW, symbol=None), "bad_command"),
    ("side-missing", _cmd(NEW, side=DROP), "bad_command"),
    ("side-upper", _cmd(NEW, side="BUY"), "bad_command"),
    ("side-null", _cmd(NEW, side=None), "bad_command"),
    ("type-missing", _cmd(NEW, type=DROP), "bad_command"),
    ("type-unknown", _cmd(NEW, type="iceberg"), "bad_command"),
    ("tif-unknown", _cmd(NEW, tif="gtx"), "bad_command"),
    ("tif-int", _cmd(NEW, tif=1), "bad_command"),
    ("stp-unknown", _cmd(NEW, stp="cancel_oldest"), "bad_command"),
    ("post_only-string", _cmd(NEW, post_only="yes"), "bad_command"),
    ("post_only-int", _cmd(NEW, post_only=1), "bad_command"),
    ("post_only-with-ioc", _cmd(NEW, post_only=True, tif="ioc"), "bad_command"),
    ("post_only-with-fok", _cmd(NEW, post_only=True, tif="fok"), "bad_command"),
    ("post_only-with-market", _cmd(MARKET, post_only=True), "bad_command"),
    ("qty-missing", _cmd(NEW, qty=DROP), "bad_command"),
    ("qty-bool", _cmd(NEW, qty=True), "bad_command"),
    ("qty-bool-false", _cmd(NEW, qty=False), "bad_command"),
    ("qty-null", _cmd(NEW, qty=None), "bad_command"),
    ("qty-list", _cmd(NEW, qty=[2]), "bad_command"),
    ("qty-dict", _cmd(NEW, qty={"v": 2}), "bad_command"),
    ("qty-word", _cmd(NEW, qty="abc"), "bad_command"),
    ("qty-NaN-string", _cmd(NEW, qty="NaN"), "bad_command"),
    ("qty-nan-string", _cmd(NEW, qty="nan"), "bad_command"),
    ("qty-Infinity-string", _cmd(NEW, qty="Infinity"), "bad_command"),
    ("qty-nan-float", _cmd(NEW, qty=float("nan")), "bad_command"),
    ("qty-underscore", _cmd(NEW, qty="1_000"), "bad_command"),
    ("qty-leading-space", _cmd(NEW, qty=" 2"), "bad_command"),
    ("qty-trailing-space", _cmd(NEW, qty="2 "), "bad_command"),
    ("qty-empty", _cmd(NEW, qty=""), "bad_command"),
    ("qty-fullwidth-digit", _cmd(NEW, qty="\uff12"), "bad_command"),
    ("price-arabic-indic-digits", _cmd(NEW, price="\u0669\u0669"), "bad_command"),
    ("price-missing-on-limit", _cmd(NEW, price=DROP), "bad_command"),
    ("price-null-on-limit", _cmd(NEW, price=None), "bad_command"),
    ("price-bool", _cmd(NEW, price=True), "bad_command"),
    ("price-list", _cmd(NEW, price=[100]), "bad_command"),
    ("price-word", _cmd(NEW, price="abc"), "bad_command"),
    ("price-NaN-string", _cmd(NEW, price="NaN"), "bad_command"),
    ("price-on-market", _cmd(MARKET, price="100"), "bad_command"),
    ("gtd-without-expire_ts", _cmd(GTD, expire_ts=DROP), "bad_command"),
    ("gtd-expire_ts-string", _cmd(GTD, expire_ts=str(TS + 500)), "bad_command"),
    ("gtd-expire_ts-float", _cmd(GTD, expire_ts=float(TS + 500)), "bad_command"),
    ("gtd-expire_ts-bool", _cmd(GTD, expire_ts=True), "bad_command"),
    ("gtd-expire_ts-null", _cmd(GTD, expire_ts=None), "bad_command"),
    ("gtd-expire_ts-over-int64", _cmd(GTD, expire_ts=2**63), "bad_command"),
    # --- new: later steps ---
    ("stop-without-trigger", _cmd(MARKET, type="stop"), "bad_command"),
    ("stop-with-price", _cmd(MARKET, type="stop", trigger_price="101", price="101"), "bad_command"),
    ("stop-trigger-malformed", _cmd(MARKET, type="stop", trigger_price="x"), "bad_command"),
    ("stop_limit-without-price", _cmd(MARKET, type="stop_limit", trigger_price="101"), "bad_command"),
    ("trailing-both-trails", _cmd(MARKET, type="trailing_stop", trail_amount="1", trail_pct="1"),
     "bad_command"),
    ("trailing-no-trail", _cmd(MARKET, type="trailing_stop"), "bad_command"),
    ("trailing_limit-no-offset", _cmd(MARKET, type="trailing_stop_limit", trail_amount="1"),
     "bad_command"),
    ("post_only-stop-market", _cmd(MARKET, type="stop", trigger_price="101", post_only=True),
     "bad_command"),
    # --- icebergs: display_qty / display_variance (PROTOCOL new steps 1 and 3; Icebergs) ---
    ("display_qty-word", _cmd(NEW, display_qty="abc"), "bad_command"),
    ("display_qty-bool", _cmd(NEW, display_qty=True), "bad_command"),
    ("display_qty-list", _cmd(NEW, display_qty=[1]), "bad_command"),
    ("display_qty-empty", _cmd(NEW, display_qty=""), "bad_command"),
    ("display_qty-NaN-string", _cmd(NEW, display_qty="NaN"), "bad_command"),
    ("display_qty-with-ioc", _cmd(NEW, display_qty="1", tif="ioc"), "bad_command"),
    ("display_qty-with-fok", _cmd(NEW, display_qty="1", tif="fok"), "bad_command"),
    ("display_qty-on-market", _cmd(MARKET, display_qty="1"), "bad_command"),
    ("display_qty-on-market-fok", _cmd(MARKET, display_qty="1", tif="fok"), "bad_command"),
    ("display_qty-on-stop", _cmd(MARKET, type="stop", trigger_price="101", display_qty="1"),
     "bad_command"),
    ("display_qty-on-stop_limit", _cmd(MARKET, type="stop_limit", trigger_price="101",
                                       price="101", display_qty="1"), "bad_command"),
    ("display_qty-on-trailing_stop", _cmd(MARKET, type="trailing_stop", trail_amount="1",
                                          display_qty="1"), "bad_command"),
    ("display_qty-on-trailing_stop_limit", _cmd(MARKET, type="trailing_stop_limit",
                                                trail_amount="1", limit_offset="0",
                                                display_qty="1"), "bad_command"),
    ("display_variance-without-display_qty", _cmd(NEW, display_variance="1"), "bad_command"),
    ("display_variance-zero-without-display_qty", _cmd(NEW, display_variance="0"), "bad_command"),
    ("display_variance-word", _cmd(NEW, display_qty="2", display_variance="x"), "bad_command"),
    ("display_variance-bool", _cmd(NEW, display_qty="2", display_variance=True), "bad_command"),
    ("display_qty-fields-before-unknown-symbol", _cmd(NEW, symbol="ZZZ", display_qty="abc"),
     "bad_command"),
    ("display_qty-ioc-before-unknown-symbol", _cmd(NEW, symbol="ZZZ", tif="ioc", display_qty="1"),
     "bad_command"),
    ("display_variance-alone-before-unknown-symbol", _cmd(NEW, symbol="ZZZ", display_variance="1"),
     "bad_command"),
    ("display_qty-malformed-before-bad-qty", _cmd(NEW, qty="0", display_qty="abc"), "bad_command"),
    ("unknown-symbol-before-display_qty-value", _cmd(NEW, symbol="ZZZ", display_qty="0"),
     "unknown_symbol"),
    ("unknown-symbol-before-display_variance-value", _cmd(NEW, symbol="ZZZ", display_qty="1",
                                                          display_variance="1"), "unknown_symbol"),
    ("unknown-symbol", _cmd(NEW, symbol="ZZZ"), "unknown_symbol"),
    ("qty-zero", _cmd(NEW, qty="0"), "bad_qty"),
    ("stop-trigger-off-tick", _cmd(MARKET, type="stop", trigger_price="101.001"), "bad_price"),
    ("stop-trigger-zero", _cmd(MARKET, type="stop", trigger_price="0"), "bad_price"),
    ("stop_limit-price-off-tick", _cmd(MARKET, type="stop_limit", trigger_price="101", price="1.001"),
     "bad_price"),
    ("trailing-amount-negative", _cmd(MARKET, type="trailing_stop", trail_amount="-1"), "bad_price"),
    ("trailing-pct-100", _cmd(MARKET, type="trailing_stop", trail_pct="100"), "bad_price"),
    ("trailing-pct-zero", _cmd(MARKET, type="trailing_stop", trail_pct="0"), "bad_price"),
    ("trailing-pct-7-places", _cmd(MARKET, type="trailing_stop", trail_pct="0.0000001"), "bad_price"),
    ("trailing-pct-tiny", _cmd(MARKET, type="trailing_stop", trail_pct="1e-999999999"), "bad_price"),
    ("trailing-offset-negative", _cmd(MARKET, type="trailing_stop_limit", trail_amount="1",
                                      limit_offset="-0.01"), "bad_price"),
    ("stop-qty-before-trigger", _cmd(MARKET, type="stop", trigger_price="0", qty="0"), "bad_qty"),
    ("qty-zero-number", _cmd(NEW, qty=0), "bad_qty"),
    ("qty-negative", _cmd(NEW, qty="-1"), "bad_qty"),
    ("qty-negative-number", _cmd(NEW, qty=-1), "bad_qty"),
    ("qty-off-lot", _cmd(NEW, qty="1.5"), "bad_qty"),
    ("qty-2**70", _cmd(NEW, qty=2**70), "bad_qty"),
    ("qty-1e400-string", _cmd(NEW, qty="1e400"), "bad_qty"),
    ("qty-2**63-string", _cmd(NEW, qty=str(2**63)), "bad_qty"),
    ("qty-2**63", _cmd(NEW, qty=2**63), "bad_qty"),
    ("qty-10**4300", _cmd(NEW, qty=10**4300), "bad_qty"),
    ("price-zero", _cmd(NEW, price="0"), "bad_price"),
    ("price-zero-number", _cmd(NEW, price=0), "bad_price"),
    ("price-negative", _cmd(NEW, price="-99.90"), "bad_price"),
    ("price-negative-number", _cmd(NEW, price=-100), "bad_price"),
    ("price-off-tick", _cmd(NEW, price="99.901"), "bad_price"),
    ("price-off-tick-float", _cmd(NEW, price=99.901), "bad_price"),
    ("price-2**70", _cmd(NEW, price=2**70), "bad_price"),
    ("price-1e400-string", _cmd(NEW, price="1e400"), "bad_price"),
    ("price-2**63-ticks", _cmd(NEW, price="92233720368547758.08"), "bad_price"),
    ("price-10**4300", _cmd(NEW, price=10**4300), "bad_price"),
    ("qty-before-price", _cmd(NEW, qty="0", price="0"), "bad_qty"),
    ("display_qty-zero", _cmd(NEW, display_qty="0"), "bad_qty"),
    ("display_qty-zero-number", _cmd(NEW, display_qty=0), "bad_qty"),
    ("display_qty-negative", _cmd(NEW, display_qty="-1"), "bad_qty"),
    ("display_qty-off-lot", _cmd(NEW, display_qty="0.5"), "bad_qty"),
    ("display_qty-above-qty", _cmd(NEW, display_qty="3"), "bad_qty"),
    ("display_qty-above-qty-number", _cmd(NEW, display_qty=3), "bad_qty"),
    ("display_qty-2**63", _cmd(NEW, display_qty=str(2**63)), "bad_qty"),
    ("display_qty-off-lot-lot-10", _cmd(NEW, symbol="LOT", qty="100", price="5",
                                        display_qty="15"), "bad_qty"),
    ("display_variance-equal-display", _cmd(NEW, display_qty="2", display_variance="2"), "bad_qty"),
    ("display_variance-above-display", _cmd(NEW, qty="5", display_qty="2", display_variance="3"),
     "bad_qty"),
    ("display_variance-negative", _cmd(NEW, display_qty="2", display_variance="-1"), "bad_qty"),
    ("display_variance-off-lot", _cmd(NEW, display_qty="2", display_variance="0.5"), "bad_qty"),
    ("display_variance-off-lot-lot-10", _cmd(NEW, symbol="LOT", qty="100", price="5",
                                             display_qty="50", display_variance="5"), "bad_qty"),
    ("qty-before-display_qty", _cmd(NEW, qty="0", display_qty="1"), "bad_qty"),
    ("display_qty-before-price", _cmd(NEW, display_qty="3", price="0"), "bad_qty"),
    ("display_variance-before-price", _cmd(NEW, display_qty="2", display_variance="2",
                                           price="99.901"), "bad_qty"),
    ("display_qty-before-duplicate-id", _cmd(NEW, user="alice", id=ALICE_ID, display_qty="3"),
     "bad_qty"),
    ("display_qty-before-expired", _cmd(GTD, expire_ts=0, display_qty="0"), "bad_qty"),
    ("iceberg-duplicate-id", _cmd(NEW, user="alice", id=ALICE_ID, display_qty="1"),
     "duplicate_id"),
    ("iceberg-gtd-expired", _cmd(GTD, expire_ts=TS, display_qty="1"), "expired"),
    ("iceberg-post_only-would-trade", _cmd(NEW, qty="10", price="100.05", post_only=True,
                                           display_qty="1"), "post_only"),
    ("duplicate-id", _cmd(NEW, user="alice", id=ALICE_ID), "duplicate_id"),
    ("duplicate-id-other-symbol", _cmd(NEW, user="alice", id=ALICE_ID, symbol="ABC",
                                       price="5"), "duplicate_id"),
    ("gtd-expire_ts-equal-ts", _cmd(GTD, expire_ts=TS), "expired"),
    ("gtd-expire_ts-past", _cmd(GTD, expire_ts=0), "expired"),
    ("market-empty-side", _cmd(MARKET, symbol="ABC"), "no_liquidity"),
    ("market-fok-empty-side", _cmd(MARKET, symbol="ABC", tif="fok"), "no_liquidity"),
    ("post_only-would-trade", _cmd(NEW, price="100.05", post_only=True), "post_only"),
    ("post_only-self-stp-none", _cmd(NEW, user="alice", id="a2", price="100.10",
                                     post_only=True), "post_only"),
    # --- cancel ---
    ("cancel-user-missing", _cmd(CANCEL, user=DROP), "bad_command"),
    ("cancel-id-missing", _cmd(CANCEL, id=DROP), "bad_command"),
    ("cancel-id-bool", _cmd(CANCEL, id=True), "bad_command"),
    ("cancel-unknown", _cmd(CANCEL, id=UNKNOWN_ID), "unknown_order"),
    ("cancel-other-users-order", _cmd(CANCEL, user="bob"), "unknown_order"),
    # --- modify (fields -> unknown_order -> bad_price, bad_qty -> halted -> post_only) ---
    ("modify-neither-price-nor-qty", _cmd(MODIFY, qty=DROP), "bad_command"),
    ("modify-qty-bool", _cmd(MODIFY, qty=True), "bad_command"),
    ("modify-price-word", _cmd(MODIFY, price="abc"), "bad_command"),
    ("modify-user-missing", _cmd(MODIFY, user=DROP), "bad_command"),
    ("modify-unknown", _cmd(MODIFY, id=UNKNOWN_ID), "unknown_order"),
    ("modify-other-users-order", _cmd(MODIFY, user="bob"), "unknown_order"),
    ("modify-unknown-before-bad-price", _cmd(MODIFY, id=UNKNOWN_ID, price="0"), "unknown_order"),
    ("modify-qty-zero", _cmd(MODIFY, qty="0"), "bad_qty"),
    ("modify-qty-negative", _cmd(MODIFY, qty="-4"), "bad_qty"),
    ("modify-qty-off-lot", _cmd(MODIFY, qty="4.5"), "bad_qty"),
    ("modify-price-off-tick", _cmd(MODIFY, price="100.055"), "bad_price"),
    ("modify-price-before-qty", _cmd(MODIFY, price="100.055", qty="0"), "bad_price"),
    # --- cancel_all ---
    ("cancel_all-user-missing", {"cmd": "cancel_all", "ts": TS}, "bad_command"),
    ("cancel_all-unknown-symbol", {"cmd": "cancel_all", "ts": TS, "user": "alice",
                                   "symbol": "ZZZ"}, "unknown_symbol"),
    # --- instrument ---
    ("instrument-tick-zero", _cmd(INSTRUMENT, tick_size="0"), "bad_price"),
    ("instrument-tick-negative", _cmd(INSTRUMENT, tick_size="-0.5"), "bad_price"),
    ("instrument-lot-zero", _cmd(INSTRUMENT, lot_size="0"), "bad_qty"),
    ("instrument-lot-negative", _cmd(INSTRUMENT, lot_size="-1"), "bad_qty"),
    ("instrument-tick-missing", _cmd(INSTRUMENT, tick_size=DROP), "bad_command"),
    ("instrument-tick-bool", _cmd(INSTRUMENT, tick_size=True), "bad_command"),
    ("instrument-symbol-empty", _cmd(INSTRUMENT, symbol=""), "bad_command"),
    ("instrument-busy", _cmd(INSTRUMENT, symbol="XYZ", tick_size="0.05"), "instrument_busy"),
    # --- halt / resume / book / metrics ---
    ("halt-unknown-symbol", {"cmd": "halt", "ts": TS, "symbol": "ZZZ"}, "unknown_symbol"),
    ("halt-symbol-missing", {"cmd": "halt", "ts": TS}, "bad_command"),
    ("resume-running", {"cmd": "resume", "ts": TS, "symbol": "XYZ"}, "bad_state"),
    ("book-unknown-symbol", _cmd(BOOK, symbol="ZZZ"), "unknown_symbol"),
    ("book-depth-zero", _cmd(BOOK, depth=0), "bad_command"),
    ("book-depth-bool", _cmd(BOOK, depth=True), "bad_command"),
    ("book-depth-float", _cmd(BOOK, depth=2.0), "bad_command"),
    ("metrics-levels-zero", _cmd(METRICS, levels=0), "bad_command"),
    ("metrics-levels-negative", _cmd(METRICS, levels=-2), "bad_command"),
    ("metrics-unknown-symbol", _cmd(METRICS, symbol="ZZZ"), "unknown_symbol"),
]


@pytest.mark.parametrize(("cmd", "reason"), [(c, r) for _, c, r in CASES],
                         ids=[name for name, _, _ in CASES])
def test_rejection_changes_nothing(cmd: dict[str, Any], reason: str) -> None:
    ex = make_exchange()
    before = ex.state_hash()
    events = ex.apply(dict(cmd))
    assert len(events) == 1, events
    (event,) = events
    assert event["type"] == "rejected", event
    assert event["reason"] == reason, event
    assert event["ts"] == TS, event
    assert ex.state_hash() == before, f"state changed by a rejected command: {event}"


def test_rejections_use_no_order_id() -> None:
    ex = make_exchange()
    not_rejected = []
    for name, cmd, _ in CASES:
        events = ex.apply(dict(cmd))
        if [e["type"] for e in events] != ["rejected"]:
            not_rejected.append(name)
    (accepted,) = ex.apply(_cmd(NEW, id="after-the-rejections"))
    assert accepted["type"] == "accepted", accepted
    # The setup accepted two orders; every case above must have been rejected.
    assert (accepted["order_id"], not_rejected) == (3, [])


def test_halted_new_and_modify_change_nothing() -> None:
    ex = make_exchange()
    (halted,) = ex.apply({"cmd": "halt", "ts": TS, "symbol": "XYZ"})
    assert halted["type"] == "halted"
    for cmd, reason in [
        (NEW, "halted"),
        (MODIFY, "halted"),
        (_cmd(MODIFY, id=UNKNOWN_ID), "unknown_order"),
        (_cmd(MODIFY, price="100.055"), "bad_price"),
        (_cmd(NEW, qty="0"), "bad_qty"),
        (_cmd(NEW, display_qty="1"), "halted"),
        (_cmd(NEW, display_qty="3"), "bad_qty"),
        (_cmd(NEW, display_qty="1", tif="ioc"), "bad_command"),
        (_cmd(NEW, user="alice", id=ALICE_ID), "duplicate_id"),
        ({"cmd": "halt", "ts": TS, "symbol": "XYZ"}, "bad_state"),
    ]:
        before = ex.state_hash()
        (event,) = ex.apply(dict(cmd))
        assert (event["type"], event["reason"]) == ("rejected", reason), event
        assert ex.state_hash() == before


ACCEPTED_KEY_ORDER = ("type", "ts", "user", "id", "symbol", "order_id", "side", "order_type",
                      "price", "qty", "tif", "post_only", "stp", "expire_ts", "display_qty",
                      "display_variance")

# (case id, command, accepted display_qty, accepted display_variance or None when absent,
#  visible quantity the book then shows at the order's price)
VALID_ICEBERGS: list[tuple[str, dict[str, Any], str, str | None, str]] = [
    ("display-below-qty", _cmd(NEW, qty="5", display_qty="2"), "2", None, "2"),
    ("display-equal-qty", _cmd(NEW, display_qty="2"), "2", None, "2"),
    ("display-number", _cmd(NEW, qty=7, display_qty=3), "3", None, "3"),
    ("variance", _cmd(NEW, qty="9", display_qty="3", display_variance="2"), "3", "2", "3"),
    ("variance-number", _cmd(NEW, qty="9", display_qty="3", display_variance=1), "3", "1", "3"),
    ("variance-zero-not-echoed", _cmd(NEW, qty="9", display_qty="3", display_variance="0"), "3",
     None, "3"),
    ("gtd-post_only", _cmd(GTD, qty="6", display_qty="1", post_only=True), "1", None, "1"),
    ("day-stp-decrement", _cmd(NEW, qty="4", display_qty="2", tif="day", stp="decrement"), "2",
     None, "2"),
    ("lot-10", _cmd(NEW, symbol="LOT", qty="100", price="5", display_qty="30",
                    display_variance="20"), "30", "20", "30"),
]


@pytest.mark.parametrize(("cmd", "display", "variance", "visible"),
                         [case[1:] for case in VALID_ICEBERGS],
                         ids=[case[0] for case in VALID_ICEBERGS])
def test_valid_icebergs_are_accepted(cmd: dict[str, Any], display: str, variance: str | None,
                                     visible: str) -> None:
    from hftbook.core.reference import ReferenceExchange

    reference = ReferenceExchange()
    for setup in SETUP:
        reference.apply(dict(setup))
    for ex in (make_exchange(), reference):
        events = ex.apply(dict(cmd))
        assert [e["type"] for e in events] == ["accepted"], events
        (accepted,) = events
        assert accepted["order_id"] == 3, accepted
        assert accepted["display_qty"] == display, accepted
        if variance is None:
            assert "display_variance" not in accepted, accepted
        else:
            assert accepted["display_variance"] == variance, accepted
        # PROTOCOL key order: the iceberg fields come after the order fields, in this order.
        documented = [k for k in ACCEPTED_KEY_ORDER if k in accepted]
        assert [k for k in accepted if k in ACCEPTED_KEY_ORDER] == documented, list(accepted)
        # Only the visible slice is in the book, and the iceberg is one order there.
        (book,) = ex.apply({"cmd": "book", "ts": TS, "symbol": cmd["symbol"]})
        price = accepted["price"]
        assert [lvl for lvl in book["bids"] if lvl[0] == price] == [[price, visible, 1]], book


def _reject_once(ex: Exchange, cmd: dict[str, Any]) -> dict[str, Any]:
    events = ex.apply(dict(cmd))
    assert len(events) == 1 and events[0]["type"] == "rejected", events
    return events[0]


@pytest.mark.parametrize("base", [CANCEL, MODIFY], ids=["cancel", "modify"])
def test_other_users_order_is_answered_like_an_unknown_one(base: dict[str, Any]) -> None:
    # The same command, bob acting on ALICE_ID: once while alice's order is live, once after
    # it is gone. The answers must be identical, key for key (no symbol, order_id or hint).
    live = make_exchange()
    gone = make_exchange()
    cancelled = gone.apply({"cmd": "cancel", "ts": TS, "user": "alice", "id": ALICE_ID})
    assert [e["type"] for e in cancelled] == ["cancelled"]

    cmd = _cmd(base, user="bob")
    on_live = _reject_once(live, cmd)
    on_gone = _reject_once(gone, cmd)
    assert on_live["reason"] == "unknown_order"
    assert list(on_live.items()) == list(on_gone.items())

    # On one exchange: another user's order vs an id nobody has, field by field.
    ex = make_exchange()
    other = _reject_once(ex, cmd)
    unknown = _reject_once(ex, _cmd(cmd, id=UNKNOWN_ID))
    assert list(other) == list(unknown), "the two rejections have different fields"
    for key in other:
        if key == "id":
            assert (other[key], unknown[key]) == (ALICE_ID, UNKNOWN_ID)
        elif key == "message":
            assert other[key].replace(ALICE_ID, UNKNOWN_ID) == unknown[key]
        else:
            assert other[key] == unknown[key], key


def test_int64_bounds_are_inclusive() -> None:
    """-2**63 and 2**63-1 fit a signed 64-bit field: accepted as ids; one past is refused."""
    from hftbook.core.reference import ReferenceExchange

    for ex in (Exchange(), ReferenceExchange()):
        ex.apply({"cmd": "instrument", "ts": 1, "symbol": "X", "tick_size": "0.01", "lot_size": "1"})
        for cid, expected in ((-(2**63), "accepted"), (2**63 - 1, "accepted"),
                              (-(2**63) - 1, "rejected"), (2**63, "rejected")):
            (ev,) = ex.apply({"cmd": "new", "ts": 2, "user": "a", "id": cid, "symbol": "X", "side": "buy",
                              "type": "limit", "qty": "1", "price": "99"})
            assert ev["type"] == expected, (cid, ev)


def test_query_field_errors_come_before_unknown_symbol() -> None:
    from hftbook.core.reference import ReferenceExchange

    for ex in (Exchange(), ReferenceExchange()):
        bad = ({"cmd": "book", "symbol": "Q", "depth": 0}, {"cmd": "metrics", "symbol": "Q", "levels": 0})
        for cmd in bad:
            (ev,) = ex.apply(dict(cmd, ts=1))
            assert ev["reason"] == "bad_command"
        (ev,) = ex.apply({"cmd": "book", "symbol": "Q", "ts": 1})
        assert ev["reason"] == "unknown_symbol"
