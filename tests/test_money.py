"""Money is integer minor units: parsing an operator's input and showing a price."""

from __future__ import annotations

import pytest

from chalicelib.money import displayed, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "cents"),
    [("19.99", 1999), ("5", 500), ("5.00", 500), ("0.10", 10), ("1234.5", 123450), ("0.29", 29)],
)
def test_operator_amounts_become_exact_cents(text, cents):
    assert parse_amount(text) == cents


def test_every_two_decimal_price_parses_without_float_drift():
    # 0.29 * 100 == 28.999999999999996 in floats; Decimal gets every one right.
    assert all(parse_amount(f"{n // 100}.{n % 100:02d}") == n for n in range(0, 20000))


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.999", "NaN", "Infinity", "1e400x"])
def test_nonsense_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_zero_decimal_currencies_take_whole_units():
    assert parse_amount("500", "jpy") == 500
    with pytest.raises(ValueError):
        parse_amount("500.5", "jpy")


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (1999, "usd", "$19.99"),
        (500, "eur", "€5.00"),
        (123456, "usd", "$1,234.56"),
        (500, "jpy", "¥500"),
        (1999, "chf", "19.99 CHF"),
    ],
)
def test_prices_are_shown_the_way_buyers_read_them(cents, currency, shown):
    assert format_amount(cents, currency) == shown


@pytest.mark.parametrize(
    ("cents", "currency", "whole", "shown"),
    [
        (2000, "usd", True, "$20"),
        (2050, "usd", True, "$20.50"),
        (2000, "usd", False, "$20.00"),
        (-500, "usd", False, "-$5.00"),
        (-1500, "jpy", False, "-¥1,500"),
        (-500, "chf", False, "-5.00 CHF"),
    ],
)
def test_format_amount_whole_and_negative(cents, currency, whole, shown):
    assert format_amount(cents, currency, whole=whole) == shown


def test_displayed_names_each_amount_without_cents():
    fields = {"gross_cents": 1500, "orders": 3, "date": "2026-01-01", "flag_cents": True}
    assert displayed(fields, "jpy") == {"gross": "¥1,500"}
