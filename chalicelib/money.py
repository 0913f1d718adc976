"""Money as integer minor units, and how to show it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

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
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def _exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def parse_amount(text: str | int | Decimal, currency: str = "usd") -> int:
    """Parse an operator's amount such as ``"19.99"`` into minor units (``1999``).

    Raises:
        ValueError: not a number, negative, or finer than the currency's minor unit.
    """
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


def format_amount(cents: int, currency: str) -> str:
    """Show minor units as a price a buyer reads: ``1999, "usd"`` gives ``$19.99``."""
    exponent = _exponent(currency)
    value = Decimal(int(cents)).scaleb(-exponent)
    number = f"{value:,.{exponent}f}"
    symbol = SYMBOLS.get(currency.lower())
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
