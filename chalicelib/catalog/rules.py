"""The rules of a product's fields: one place for creating a product and for changing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.catalog.files import validate_filename
from chalicelib.errors import BadRequest


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


def flag(label: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise BadRequest(f"{label} must be true or false")
        return value

    return check


# What a seller may change on a product, each with its rule.
EDITABLE: dict[str, Callable[[Any], Any]] = {
    "price_cents": price_cents,
    "name": name,
    "description": description,
    "active": flag("active"),
    "filename": lambda value: validate_filename(text("filename", value)),
    "publish_file": flag("publish_file"),
}
