"""The typed embedding API (hftbook.api.Engine) over the contract door."""

from decimal import Decimal

import pytest

from hftbook.api import (
    STP,
    TIF,
    Accepted,
    Activated,
    AlgoEvent,
    Cancelled,
    Engine,
    Indicative,
    KillSwitch,
    LimitsSet,
    Modified,
    OrderType,
    Rejected,
    Side,
    StateChange,
    Trade,
    Triggered,
)


@pytest.fixture
def engine() -> Engine:
    e = Engine()
    assert e.add_instrument("BTC", "0.5", "0.001", ts=1) == []
    return e


def test_submit_rest_and_trade(engine: Engine) -> None:
    (acc,) = engine.submit("mm", "a1", "BTC", Side.SELL, "0.010", price="100.5", ts=10)
    assert isinstance(acc, Accepted)
    assert acc.price == Decimal("100.5") and acc.qty == Decimal("0.01") and acc.order_id == 1
    events = engine.submit("t", 7, "BTC", "buy", "0.004", ts=11)
    assert [type(e) for e in events] == [Accepted, Trade]
    trade = events[1]
    assert isinstance(trade, Trade)
    assert trade.price == Decimal("100.5") and trade.qty == Decimal("0.004")
    assert trade.maker.id == "a1" and trade.taker.id == 7 and trade.side is Side.BUY
    assert trade.ts == 11


def test_book_metrics_modify_cancel(engine: Engine) -> None:
    engine.submit("a", "b1", "BTC", "buy", "1", price="99", ts=1)
    engine.submit("b", "s1", "BTC", "sell", "3", price="101", ts=1)
    book = engine.book("BTC")
    assert [(lv.price, lv.qty, lv.orders) for lv in book.bids] == [(Decimal(99), Decimal(1), 1)]
    m = engine.metrics("BTC")
    assert m.mid == Decimal(100)
    assert m.microprice == Decimal("99.5")  # (99*3 + 101*1) / 4
    assert m.imbalance == -0.5
    (mod,) = engine.modify("a", "b1", qty="0.5")
    assert isinstance(mod, Modified) and mod.qty == Decimal("0.5")
    (can,) = engine.cancel("a", "b1")
    assert isinstance(can, Cancelled) and can.reason == "user" and can.remaining == Decimal("0.5")
    (rej,) = engine.cancel("a", "b1")
    assert isinstance(rej, Rejected) and rej.reason == "unknown_order"


def test_enums_and_options(engine: Engine) -> None:
    engine.submit("a", 1, "BTC", "sell", "1", price="100")
    events = engine.submit("a", 2, "BTC", "buy", "1", price="100", stp=STP.CANCEL_MAKER, tif=TIF.IOC)
    assert [type(e) for e in events] == [Accepted, Cancelled, Cancelled]
    assert [e.reason for e in events if isinstance(e, Cancelled)] == ["stp", "ioc"]


def test_halt_resume_and_end_of_day(engine: Engine) -> None:
    (h,) = engine.halt("BTC")
    assert isinstance(h, StateChange) and h.halted and h.reason == "manual"
    (rej,) = engine.submit("a", 1, "BTC", "buy", "1", price="100")
    assert isinstance(rej, Rejected) and rej.reason == "halted"
    (r,) = engine.resume("BTC")
    assert isinstance(r, StateChange) and not r.halted
    engine.submit("a", 1, "BTC", "buy", "1", price="100", tif="day")
    (exp,) = engine.end_of_day()
    assert isinstance(exp, Cancelled) and exp.reason == "expired"


def test_query_refusal_raises(engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown_symbol"):
        engine.book("NOPE")


def test_stop_order_triggers(engine: Engine) -> None:
    engine.submit("a", "r1", "BTC", "sell", "1", price="100", ts=1)
    engine.submit("a", "r2", "BTC", "sell", "1", price="101", ts=1)
    (acc,) = engine.submit("s", "st", "BTC", "buy", "1", order_type=OrderType.STOP, trigger_price="100",
                           ts=2)
    assert isinstance(acc, Accepted) and acc.order_type is OrderType.STOP
    assert acc.trigger_price == Decimal(100) and acc.price is None
    events = engine.submit("t", "x", "BTC", "buy", "1", price="100", ts=3)
    kinds = [type(e) for e in events]
    assert kinds == [Accepted, Trade, Triggered, Trade]
    trig = events[2]
    assert isinstance(trig, Triggered) and trig.trigger_price == Decimal(100) and trig.id == "st"
    last = events[3]
    assert isinstance(last, Trade) and last.price == Decimal("101") and last.taker.id == "st"


def test_iceberg_refill_fields(engine: Engine) -> None:
    (acc,) = engine.submit("i", "ice", "BTC", "sell", "0.010", price="100", display_qty="0.004", ts=1)
    assert isinstance(acc, Accepted) and acc.display_qty == Decimal("0.004")
    assert acc.display_variance is None
    assert engine.book("BTC").asks[0].qty == Decimal("0.004")
    events = engine.submit("t", "x", "BTC", "buy", "0.005", price="100", ts=2)
    trades = [e for e in events if isinstance(e, Trade)]
    assert [(t.qty, t.maker_refill) for t in trades] == [
        (Decimal("0.004"), Decimal("0.004")), (Decimal("0.001"), None)]
    (cancel,) = engine.cancel("i", "ice", ts=3)
    assert isinstance(cancel, Cancelled) and cancel.remaining == Decimal("0.005")


def test_oco_and_bracket(engine: Engine) -> None:
    events = engine.oco("u", "BTC", Side.SELL, {"id": "tp", "type": "limit", "qty": Decimal("0.002"),
                                                 "price": 110},
                        {"id": "sl", "type": "stop", "qty": "0.002", "trigger_price": Decimal("90")}, ts=1)
    assert [(type(e), getattr(e, "oco", None)) for e in events] == [(Accepted, "sl"), (Accepted, "tp")]
    engine.submit("mm", "a", "BTC", "sell", "0.003", price="100", ts=2)
    events = engine.bracket("v", "BTC", "buy", {"id": "e", "type": "limit", "qty": "0.003", "price": 100},
                            take_profit={"id": "t", "price": "120"},
                            stop_loss={"id": "s", "trigger_price": "80"}, ts=3)
    kinds = [type(e) for e in events]
    assert kinds == [Accepted, Accepted, Accepted, Trade, Activated, Activated]
    entry, tp = events[0], events[1]
    assert isinstance(entry, Accepted) and entry.take_profit == "t" and entry.activation == "full"
    assert isinstance(tp, Accepted) and tp.parent == "e" and tp.oco == "s"
    act = events[4]
    assert isinstance(act, Activated) and act.id == "s" and act.qty == Decimal("0.003")


def test_risk_settings_limits_and_kill_switch() -> None:
    engine = Engine()
    engine.add_instrument("ETH", "0.1", "0.01", ts=0, min_qty="0.02", max_qty="5", max_notional="10000",
                          price_collar_pct="5", reference_price="2000", market_protection_ticks=10)
    (r,) = engine.submit("u", "a", "ETH", Side.BUY, "0.01", price="2000", ts=1)
    assert isinstance(r, Rejected) and r.reason == "qty_too_small"
    (r,) = engine.submit("u", "b", "ETH", Side.BUY, "1", price="2101", ts=1)
    assert isinstance(r, Rejected) and r.reason == "price_out_of_collar"
    (r,) = engine.submit("u", "c", "ETH", Side.BUY, "5", price="2100", ts=1)
    assert isinstance(r, Rejected) and r.reason == "notional_too_large"
    (limits,) = engine.set_limits("u", max_open_orders=1, ts=2)
    assert limits == LimitsSet(2, "u", 1, None, None)
    (acc,) = engine.submit("u", "d", "ETH", Side.BUY, "1", price="1990", ts=3)
    assert isinstance(acc, Accepted)
    (r,) = engine.submit("u", "e", "ETH", Side.BUY, "1", price="1990", ts=3)
    assert isinstance(r, Rejected) and r.reason == "too_many_orders"
    switch, cancel = engine.kill_switch("u", True, ts=4)
    assert switch == KillSwitch(4, "u", True)
    assert isinstance(cancel, Cancelled) and cancel.reason == "killed" and cancel.id == "d"
    (r,) = engine.submit("u", "f", "ETH", Side.BUY, "1", price="1990", ts=5)
    assert isinstance(r, Rejected) and r.reason == "user_killed"
    assert engine.kill_switch("u", False, ts=6) == [KillSwitch(6, "u", False)]


def test_scheduled_call_auction() -> None:
    """An opening auction through the typed calls: a halt with an end, orders collected,
    the indicative price, then the uncross at the scheduled resume."""
    e = Engine()
    e.add_instrument("ETH", "0.1", "1", ts=0, halt_orders="collect", breaker_pct="5", breaker_window_ns=100,
                     breaker_halt_ns=50)
    [halted] = e.halt("ETH", ts=1, until_ts=10)
    assert halted == StateChange(1, "ETH", True, "manual", 10)
    e.submit("a", 1, "ETH", Side.BUY, 3, "100.2", ts=2)
    events = e.submit("b", 1, "ETH", Side.SELL, 2, order_type=OrderType.MARKET, ts=3)
    assert events[-1] == Indicative(3, "ETH", Decimal("100.2"), Decimal("2"), Decimal("1"))
    resumed, trade = e.tick(10)
    assert resumed == StateChange(10, "ETH", False, "scheduled")
    assert isinstance(trade, Trade) and trade.auction and trade.price == Decimal("100.2")
    assert (trade.maker.user, trade.taker.user, trade.qty) == ("a", "b", Decimal("2"))



def test_execution_algorithm_through_the_typed_calls() -> None:
    """A TWAP parent: started, one IOC child per slice, done when filled."""
    e = Engine()
    e.add_instrument("ETH", "0.1", "1", ts=0)
    e.submit("m", 1, "ETH", Side.SELL, 100, "50.1", ts=0)
    [started] = e.algo("a", "p", "ETH", Side.BUY, "twap", 4, start_ts=10, end_ts=30, ts=1, interval_ns=10)
    assert isinstance(started, AlgoEvent) and started.kind == "algo_started"
    events = e.tick(20) + e.tick(30)
    kinds = [ev.kind for ev in events if isinstance(ev, AlgoEvent)]
    assert kinds == ["algo_child", "algo_progress", "algo_child", "algo_progress", "algo_done"]
    done = events[-1]
    assert isinstance(done, AlgoEvent)
    assert (done.fields["executed"], done.fields["reason"]) == ("4", "filled")
    assert e.algo_control("cancel", "a", "p", ts=31)[0] == Rejected(31, "unknown_order", "no live algo 'p'",
                                                                     "a", "p", None)
