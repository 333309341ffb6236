"""Number parsing and canonical formatting for the reference exchange.

Input numbers (JSON ints, floats, Decimals or plain decimal strings) become exact
``Decimal`` values, then whole multiples of a tick or lot; integers become canonical
decimal strings again only when an event is written.

Invariants:

- Parsing is exact: no value is ever rounded on the way in. A float is read through its
  shortest ``repr``, and bools, NaN, infinities and anything else are malformed (``None``).
- ``to_units`` returns an integer in ``1 .. MAX_UNITS`` or ``None``; absurd exponents are
  refused by magnitude before any large integer is built.
- ``format_scaled`` writes no exponent, no trailing zeros and no trailing dot, so equal
  values always print the same way; ``round_half_even`` is the only place that rounds.

Only the standard library is used.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "MAX_UNITS",
    "decimal_parts",
    "decimal_places",
    "format_scaled",
    "parse_number",
    "round_half_even",
    "to_units",
]

MAX_UNITS = 2**63 - 1

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(value: object) -> Decimal | None:
    """A well-formed input number as an exact Decimal, or None if it is malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    if isinstance(value, str):
        if _PLAIN_DECIMAL.fullmatch(value) is None:
            return None
        return Decimal(value)
    return None


def to_units(value: Decimal, unit: Decimal) -> int | None:
    """``value / unit`` if it is an integer in 1 .. 2**63-1, else None."""
    if value <= 0:
        return None
    # Magnitude guards, so that absurd exponents never become huge integers.
    gap = value.adjusted() - unit.adjusted()
    if gap >= 20:  # value / unit > 10**19 > 2**63 - 1
        return None
    if gap <= -2:  # value / unit < 1/10
        return None
    ratio = Fraction(value) / Fraction(unit)
    if ratio.denominator != 1 or ratio > MAX_UNITS:
        return None
    return int(ratio)


def format_scaled(n: int, exp: int) -> str:
    """Canonical decimal string of ``n * 10**exp``: no exponent, no trailing zeros or dot."""
    if n == 0:
        return "0"
    while n % 10 == 0:
        n //= 10
        exp += 1
    sign = "-" if n < 0 else ""
    digits = str(abs(n))
    if exp >= 0:
        return sign + digits + "0" * exp
    places = -exp
    if len(digits) <= places:
        digits = "0" * (places - len(digits) + 1) + digits
    return sign + digits[:-places] + "." + digits[-places:]


def decimal_parts(d: Decimal) -> tuple[int, int]:
    """(coefficient, exponent) with ``d == coefficient * 10**exponent``."""
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    coef = 0
    for digit in digits:
        coef = coef * 10 + digit
    return (-coef if sign else coef), exponent


def decimal_places(d: Decimal) -> int:
    """Decimal places of ``d`` ignoring trailing zeros, read off its digit tuple (no context,
    no string: "1e-999999999" must not expand to a billion characters)."""
    t = d.as_tuple()
    digits = list(t.digits)
    exponent = int(t.exponent)
    while digits and digits[-1] == 0:
        digits.pop()
        exponent += 1
    return max(0, -exponent) if digits else 0


def round_half_even(value: Fraction, places: int) -> str:
    """``value`` rounded half-even to ``places`` decimals, as a canonical string."""
    scaled = value * (10**places)
    return format_scaled(round(scaled), -places)
