"""A product as callers see it: what the store shows buyers and what the seller's desk shows,
read from the products table and never carrying its internal keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.catalog.files import file_key_for
from chalicelib.catalog.rules import DEFAULT_ACTIVATION_LIMIT
from chalicelib.platform.tables import Product


@dataclass(frozen=True)
class ProductView:
    """A product as callers see it (no internal keys)."""

    id: str
    name: str
    description: str
    price_cents: int
    currency: str
    filename: str
    file_key: str
    file_version: int
    active: bool
    pending_filename: str | None = None
    pending_version: int | None = None
    # Who created it and has not finished it yet (`bull product add`); None once on sale.
    unfinished: str | None = None
    # Pay what you want: the least a buyer may pay (`price_cents` is then the suggestion).
    min_price_cents: int | None = None
    tax_code: str | None = None
    # Software: each paid purchase gets a license key for at most `activation_limit` instances.
    license_keys: bool = False
    activation_limit: int = DEFAULT_ACTIVATION_LIMIT

    @property
    def pending_file_key(self) -> str | None:
        if not self.pending_filename or not self.pending_version:
            return None
        return file_key_for(self.id, self.pending_version, self.pending_filename)

    @classmethod
    def of(cls, item: Product) -> ProductView:
        return cls(
            id=item.product_id,
            name=item.name,
            description=item.description or "",
            price_cents=int(item.price_cents),
            currency=item.currency,
            filename=item.filename,
            file_key=item.file_key,
            file_version=int(item.file_version or 1),
            active=bool(item.active),
            pending_filename=item.pending_filename,
            pending_version=int(item.pending_version) if item.pending_version else None,
            unfinished=item.unfinished,
            min_price_cents=(
                int(item.min_price_cents) if item.min_price_cents is not None else None
            ),
            tax_code=item.tax_code,
            license_keys=bool(item.license_keys),
            activation_limit=int(item.activation_limit or DEFAULT_ACTIVATION_LIMIT),
        )

    def public(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "price_cents": self.price_cents,
            "currency": self.currency,
        }
        if self.min_price_cents is not None:
            view["min_price_cents"] = self.min_price_cents
        return view

    def admin(self) -> dict[str, Any]:
        return {
            **self.public(),
            "min_price_cents": self.min_price_cents,
            "tax_code": self.tax_code,
            "filename": self.filename,
            "file_version": self.file_version,
            "active": self.active,
            "pending_filename": self.pending_filename,
            "license_keys": self.license_keys,
            "activation_limit": self.activation_limit,
        }
