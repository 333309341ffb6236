"""Decimal at the edge, integers inside: parsing input numbers and formatting output ones.

Invariants: parsing is strict (a string must be a plain decimal; bools, nulls, NaN and
infinities are refused); a value becomes ticks or lots only if it is a positive exact multiple
of the step and at most MAX_UNITS; formatting is canonical (no exponent, no trailing zeros), so
the same number always prints the same bytes.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation
from fractions import Fraction

from hftbook.core.types import MAX_UNITS

_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
# Wide enough that dividing any accepted value by any accepted step is exact when the
# quotient is an integer; Inexact is trapped so a non-multiple is detected, not rounded.
_EXACT = Context(prec=120, traps=[Inexact, InvalidOperation])
# Values whose magnitude is outside this band can never be a valid count of steps.
_MAX_ADJUSTED = 40


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a JSON string or number, or None when malformed."""
    if isinstance(value, str):
        if not _DECIMAL_RE.match(value):
            return None
        d = Decimal(value)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, float):
        d = Decimal(repr(value))
    else:
        return None
    if not d.is_finite():
        return None
    return d


def to_units(value: Decimal, step: Decimal) -> int | None:
    """`value / step` as a positive int, or None if not a positive exact multiple in range."""
    if value <= 0 or value.adjusted() > _MAX_ADJUSTED:
        return None
    try:
        q = _EXACT.divide(value, step)
    except (Inexact, InvalidOperation):
        return None
    if q != q.to_integral_value():
        return None
    n = int(q)
    return n if n <= MAX_UNITS else None


def decimal_places(d: Decimal) -> int:
    """How many decimal places `d` needs (trailing zeros do not count); exact, no context."""
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    return max(0, -(exponent + zeros)) if any(digits) else 0


def canonical(d: Decimal) -> str:
    """Plain decimal string without exponent or trailing zeros: 100.50 -> '100.5'."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s


def fraction_str(x: Fraction, places: int) -> str:
    """A rational as a canonical decimal, rounded half-even to `places` decimals."""
    scale = 10**places
    n = x * scale
    q, r = divmod(n.numerator, n.denominator)
    twice = 2 * r
    if twice > n.denominator or (twice == n.denominator and q % 2 == 1):
        q += 1
    return canonical(Decimal(q).scaleb(-places))
