"""Decimal parsing and formatting at the edge (core/numbers.py, core/instrument.py)."""

from decimal import Decimal

import pytest

from hftbook.core.instrument import Instrument
from hftbook.core.numbers import canonical, fraction_str, parse_decimal, to_units


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("100.05", Decimal("100.05")),
        ("3", Decimal(3)),
        ("-1", Decimal(-1)),
        ("1e2", Decimal(100)),
        (".5", Decimal("0.5")),
        (7, Decimal(7)),
        (Decimal("1.25"), Decimal("1.25")),
        (0.1, Decimal("0.1")),
    ],
)
def test_parse_accepts_plain_decimals(raw: object, expected: Decimal) -> None:
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize(
    "raw", ["abc", "", " 1", "1 ", "1_000", "NaN", "inf", "0x10", True, False, None, [1], {"a": 1},
            Decimal("NaN"), float("inf")],
)
def test_parse_refuses_malformed(raw: object) -> None:
    assert parse_decimal(raw) is None


@pytest.mark.parametrize(
    "value, step, units",
    [
        ("100.05", "0.01", 10005),
        ("100", "0.01", 10000),
        ("1.5", "0.5", 3),
        ("0.03", "0.01", 3),
        ("9", "3", 3),
        ("100.001", "0.01", None),  # off the tick
        ("0", "0.01", None),
        ("-0.01", "0.01", None),
        ("1e400", "0.01", None),  # far too large
        ("1e-400", "0.01", None),
        (str(2**63 - 1), "1", 2**63 - 1),
        (str(2**63), "1", None),
        ("0.1", "0.03", None),  # non-terminating quotient
    ],
)
def test_to_units(value: str, step: str, units: int | None) -> None:
    assert to_units(Decimal(value), Decimal(step)) == units


@pytest.mark.parametrize(
    "d, s",
    [("100.50", "100.5"), ("100.00", "100"), ("1E+2", "100"), ("0.010", "0.01"), ("-0", "0"),
     ("5", "5"), ("0.000001", "0.000001")],
)
def test_canonical(d: str, s: str) -> None:
    assert canonical(Decimal(d)) == s


def test_fraction_str_rounds_half_even() -> None:
    from fractions import Fraction

    assert fraction_str(Fraction(1, 3), 4) == "0.3333"
    assert fraction_str(Fraction(2, 3), 4) == "0.6667"
    assert fraction_str(Fraction(5, 100000), 4) == "0"  # 0.00005 -> even 0.0000
    assert fraction_str(Fraction(15, 100000), 4) == "0.0002"  # 0.00015 -> even 0.0002
    assert fraction_str(Fraction(201, 2), 4) == "100.5"


def test_instrument_wire_conversions_and_caches() -> None:
    inst = Instrument("X", Decimal("0.05"), Decimal("0.001"))
    assert inst.price_from_wire("10.05") == 201
    assert inst.price_from_wire("10.05") == 201  # cached answer is the same
    assert inst.price_from_wire("10.01") is None  # well-formed, off the tick
    assert inst.price_from_wire("ten") is False  # malformed
    assert inst.qty_from_wire("1.5") == 1500
    assert inst.price_str(201) == "10.05"
    assert inst.qty_str(1500) == "1.5"
    assert inst.tick_places == 2
    assert Instrument("Y", Decimal("5"), Decimal("1")).tick_places == 0
