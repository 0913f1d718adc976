"""The rules of a product's fields: one place for creating a product and for changing it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalicelib.catalog.files import validate_filename
from chalicelib.errors import BadRequest
from chalicelib.money import MAX_CHARGE


def text(label: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{label} must be text")
    return value


def name(value: Any) -> str:
    name = text("name", value).strip()
    if not 1 <= len(name) <= 200:
        raise BadRequest("name must be 1 to 200 characters")
    return name


def description(value: Any) -> str:
    if len(text("description", value)) > 2000:
        raise BadRequest("description must be at most 2000 characters")
    return value


def price_cents(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("price_cents must be a whole number of cents")
    if not 50 <= value <= 100_000_000:
        raise BadRequest("price_cents must be between 50 and 100000000")
    return value


def min_price_cents(value: Any) -> int | None:
    """Pay what you want: the least a buyer may pay, or None (null) for a fixed price."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("min_price_cents must be a whole number of cents, or null")
    if not 50 <= value <= MAX_CHARGE:
        raise BadRequest(f"min_price_cents must be between 50 and {MAX_CHARGE}")
    return value


# Stripe's product tax codes: "txcd_" and eight digits (https://docs.stripe.com/tax/tax-codes).
TAX_CODE = re.compile(r"txcd_[0-9]{8}")


def tax_code(value: Any) -> str | None:
    """A Stripe Tax product tax code such as txcd_10000000, or None (null) for the default."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not TAX_CODE.fullmatch(value.strip()):
        raise BadRequest("tax_code must be a Stripe tax code such as txcd_10000000")
    return value.strip()


def suggested_at_least_minimum(price: int, minimum: int | None) -> None:
    """A pay-what-you-want product suggests at least its minimum."""
    if minimum is not None and price < minimum:
        raise BadRequest(
            "price_cents (the suggested price) must be at least min_price_cents",
            code="bad_min_price",
        )


DEFAULT_ACTIVATION_LIMIT = 3
MAX_ACTIVATION_LIMIT = 1000


def activation_limit(value: Any) -> int:
    """How many instances one license key may be active on at once: 1 to 1000."""
    if value is None:
        return DEFAULT_ACTIVATION_LIMIT
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("activation_limit must be a whole number", code="bad_activation_limit")
    if not 1 <= value <= MAX_ACTIVATION_LIMIT:
        message = f"activation_limit must be between 1 and {MAX_ACTIVATION_LIMIT}"
        raise BadRequest(message, code="bad_activation_limit")
    return value


def flag(label: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise BadRequest(f"{label} must be true or false")
        return value

    return check


# What a seller may change on a product, each with its rule.
EDITABLE: dict[str, Callable[[Any], Any]] = {
    "price_cents": price_cents,
    "min_price_cents": min_price_cents,
    "tax_code": tax_code,
    "name": name,
    "description": description,
    "active": flag("active"),
    "filename": lambda value: validate_filename(text("filename", value)),
    "publish_file": flag("publish_file"),
    "license_keys": flag("license_keys"),
    "activation_limit": activation_limit,
}
