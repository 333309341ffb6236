"""A tradable symbol: its tick and lot, and the conversions between wire decimals and the
engine's integer ticks and lots.

Invariants: `tick` and `lot` are positive finite Decimals; the caches map an input string to
its unit count (or None when invalid) and a unit count to its canonical output string; both
are pure functions of (tick, lot), so caching never changes an answer.
"""

from __future__ import annotations

from decimal import Decimal

from hftbook.core.numbers import canonical, parse_decimal, to_units

_CACHE_LIMIT = 1 << 16


class Instrument:
    __slots__ = ("_price_in", "_price_out", "_qty_in", "_qty_out", "lot", "symbol", "tick")

    def __init__(self, symbol: str, tick: Decimal, lot: Decimal) -> None:
        self.symbol = symbol
        self.tick = tick
        self.lot = lot
        self._price_in: dict[str, int | None] = {}
        self._qty_in: dict[str, int | None] = {}
        self._price_out: dict[int, str] = {}
        self._qty_out: dict[int, str] = {}

    @property
    def tick_places(self) -> int:
        """Decimal places the tick has (0 for a whole-number tick)."""
        exp = self.tick.normalize().as_tuple().exponent
        assert isinstance(exp, int)
        return max(0, -exp)

    def price_ticks(self, value: Decimal) -> int | None:
        return to_units(value, self.tick)

    def qty_lots(self, value: Decimal) -> int | None:
        return to_units(value, self.lot)

    def price_from_wire(self, raw: object) -> int | bool | None:
        """Ticks for a wire price; None if well-formed but invalid; False if malformed."""
        return _from_wire(raw, self.tick, self._price_in)

    def qty_from_wire(self, raw: object) -> int | bool | None:
        return _from_wire(raw, self.lot, self._qty_in)

    def price_str(self, ticks: int) -> str:
        s = self._price_out.get(ticks)
        return s if s is not None else _to_wire(ticks, self.tick, self._price_out)

    def qty_str(self, lots: int) -> str:
        s = self._qty_out.get(lots)
        return s if s is not None else _to_wire(lots, self.lot, self._qty_out)


def _to_wire(units: int, step: Decimal, cache: dict[int, str]) -> str:
    s = canonical(step * units)
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[units] = s
    return s


def _from_wire(raw: object, step: Decimal, cache: dict[str, int | None]) -> int | bool | None:
    if type(raw) is str:
        hit = cache.get(raw, False)
        if hit is not False:
            return hit
    d = parse_decimal(raw)
    if d is None:
        return False
    units = to_units(d, step)
    if type(raw) is str:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[raw] = units
    return units
