"""Money as integer minor units, and how to show it."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
# Stripe's largest charge: eight digits of minor units, whatever the currency ($999,999.99 in a
# two-decimal currency, ¥99,999,999 in a zero-decimal one).
MAX_CHARGE = 99_999_999
# What a person types as an amount: digits, then optionally a point and more digits. No sign,
# exponent, grouping separator, "NaN" or "Infinity".
PLAIN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def _exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def decimals(currency: str) -> int:
    """How many decimals the currency's amounts have: 2 for USD, 0 for JPY."""
    return _exponent(currency)


def parse_amount(text: str | int | Decimal, currency: str = "usd", *, plain: bool = False) -> int:
    """Parse an operator's amount such as ``"19.99"`` into minor units (``1999``). With `plain`
    (what a buyer or seller typed), only digits with an optional point are taken: ``"1e3"``,
    ``"-5"``, ``"1.500,00"`` and ``" NaN"`` are refused.

    Raises:
        ValueError: not a (plain) number, negative, or finer than the currency's minor unit.
    """
    if plain and not (isinstance(text, str) and PLAIN.fullmatch(text)):
        raise ValueError(f"not a plain amount: {text!r}")
    if plain and len(str(text).partition(".")[2]) > _exponent(currency):
        raise ValueError(f"{text!r} has more decimals than {currency.upper()} allows")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a valid amount: {text!r}")
    minor = value.scaleb(_exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{text!r} has more decimals than {currency.upper()} allows")
    return int(minor)


def format_amount(cents: int, currency: str, *, whole: bool = False) -> str:
    """Show minor units as a price a buyer reads: ``1999, "usd"`` gives ``$19.99``, ``1500,
    "jpy"`` gives ``¥1,500``. With `whole`, a round amount drops its zero minor digits (``$20``,
    as on a chart's axis)."""
    exponent = _exponent(currency)
    value = Decimal(int(cents)).scaleb(-exponent)
    if whole and value == value.to_integral_value():
        exponent = 0
    sign = "-" if value < 0 else ""
    number = f"{abs(value):,.{exponent}f}"
    symbol = SYMBOLS.get(currency.lower())
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


def plain_amount(cents: int, currency: str) -> str:
    """Minor units as a buyer types them, the inverse of ``parse_amount``: ``1999, "usd"``
    gives ``19.99``, ``1500, "jpy"`` gives ``1500`` (no symbol, no grouping)."""
    exponent = _exponent(currency)
    return f"{Decimal(int(cents)).scaleb(-exponent):.{exponent}f}"


def displayed(fields: dict[str, Any], currency: str) -> dict[str, str]:
    """Every whole ``*_cents`` amount in `fields` as text in `currency` under the name without
    ``_cents``: ``{"gross_cents": 1500}`` in JPY gives ``{"gross": "¥1,500"}``."""
    return {
        name.removesuffix("_cents"): format_amount(value, currency)
        for name, value in fields.items()
        if name.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool)
    }
