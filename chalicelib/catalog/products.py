"""The products a store sells: listing, lookup, and the seller's changes.

A product is on sale only while its current file is in the bucket: it is created off sale and
goes on sale once its upload has landed. A new file version waits as *pending* (buyers keep the
current file) until its upload has landed and it is published.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.catalog import rules
from chalicelib.catalog.files import file_key_for, validate_filename
from chalicelib.catalog.view import ProductView
from chalicelib.errors import BadRequest, Conflict, NotFound, Unavailable
from chalicelib.platform.tables import Product
from chalicelib.platform.transactions import condition_failed

PRODUCT_ID = re.compile(r"^prod_[A-Za-z0-9]{6,40}$")
CACHE_SECONDS = 30.0
# The fields an update sets as given (None removes them).
SET_AS_GIVEN = (
    "price_cents",
    "name",
    "description",
    "min_price_cents",
    "tax_code",
    "license_keys",
    "activation_limit",
)


class Catalog:
    """Reads and changes products. Lookups are cached briefly per container, because the
    checkout and the webhook both need the product and it changes rarely."""

    def __init__(
        self,
        model: type[Product] = Product,
        clock=time.monotonic,
        currency: str | None = None,
        file_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self._model = model
        self._clock = clock
        self._currency = currency  # the store's one currency, so reports add like with like
        self._file_exists = file_exists
        self._cache: dict[str, tuple[float, ProductView | None]] = {}

    def get(self, product_id: str, *, fresh: bool = False) -> ProductView:
        """Return the product.

        Raises:
            NotFound: no such product (or the id is malformed).
            Unavailable: DynamoDB failed.
        """
        if not PRODUCT_ID.match(product_id or ""):
            raise NotFound("No such product.")
        cached = self._cache.get(product_id)
        if cached and not fresh and self._clock() - cached[0] < CACHE_SECONDS and cached[1]:
            return cached[1]
        try:
            view = ProductView.of(self._model.get(product_id, consistent_read=fresh))
        except DoesNotExist:
            raise NotFound("No such product.") from None
        except PynamoDBException as exc:
            raise Unavailable("The store could not read its products. Try again.") from exc
        self._cache[product_id] = (self._clock(), view)
        return view

    def get_active(self, product_id: str) -> ProductView:
        """Return the product if it is on sale, read fresh: a checkout must never use a price
        or a listing the seller has just changed. Raises NotFound otherwise."""
        product = self.get(product_id, fresh=True)
        if not product.active:
            raise NotFound("This product is not on sale.")
        return product

    def list_active(self) -> list[ProductView]:
        """Every product on sale, oldest first (a query of the sparse `listed` index)."""
        try:
            items = self._model.listed_index.query("1")
            return [ProductView.of(item) for item in items]
        except PynamoDBException as exc:
            raise Unavailable("The store could not read its products. Try again.") from exc

    def list_all(self) -> list[ProductView]:
        """Every product, active or not, for the seller (a catalogue is small)."""
        try:
            return sorted(
                (ProductView.of(item) for item in self._model.scan()), key=lambda p: p.name
            )
        except PynamoDBException as exc:
            raise Unavailable("The store could not read its products. Try again.") from exc

    def create(
        self,
        *,
        name: str,
        description: str,
        price_cents: int,
        currency: str,
        filename: str,
        product_id: str | None = None,
        unfinished: str | None = None,
        min_price_cents: int | None = None,
        tax_code: str | None = None,
        license_keys: bool = False,
        activation_limit: int | None = None,
    ) -> ProductView:
        """Create a product, off sale until its file is uploaded to `file_key` and it is
        put on sale with `update(id, {"active": True})`. `unfinished` marks it as its
        creator's to finish (`bull product add`) until it first goes on sale.

        Raises:
            BadRequest: a field is malformed, the currency is not the store's, or the id is
                taken.
            Unavailable: DynamoDB failed.
        """
        name, description = rules.name(name), rules.description(description or "")
        price_cents, filename = rules.price_cents(price_cents), validate_filename(filename)
        min_price_cents = rules.min_price_cents(min_price_cents)
        rules.suggested_at_least_minimum(price_cents, min_price_cents)
        tax_code = rules.tax_code(tax_code)
        license_keys = rules.flag("license_keys")(license_keys)
        activation_limit = rules.activation_limit(activation_limit)
        if not re.fullmatch(r"[a-z]{3}", (currency or "").lower()):
            raise BadRequest("currency must be a three-letter ISO code such as 'usd'")
        if self._currency and currency.lower() != self._currency:
            raise BadRequest(f"this store sells in {self._currency.upper()}", code="bad_currency")
        product_id = product_id or f"prod_{secrets.token_hex(8)}"
        if not PRODUCT_ID.match(product_id):
            raise BadRequest("product id must look like prod_ followed by letters and digits")
        now = datetime.now(UTC)
        item = self._model(
            product_id,
            name=name,
            description=description,
            price_cents=price_cents,
            min_price_cents=min_price_cents,
            tax_code=tax_code,
            license_keys=license_keys or None,
            activation_limit=activation_limit,
            currency=currency.lower(),
            filename=filename,
            file_key=file_key_for(product_id, 1, filename),
            file_version=1,
            active=False,
            unfinished=unfinished,
            created_at=now,
            updated_at=now,
        )
        try:
            item.save(condition=self._model.product_id.does_not_exist())
        except PynamoDBException as exc:
            if condition_failed(exc):
                raise BadRequest("a product with this id exists already") from None
            raise Unavailable("The product could not be saved. Try again.") from exc
        return self._remember(item)

    def update(self, product_id: str, changes: Mapping[str, Any]) -> ProductView:
        """Apply the seller's `changes` (any of `rules.EDITABLE`): price, pay-what-you-want minimum
        (null: a fixed price again), tax code, license keys and their activation limit (for
        purchases made after the change), name, description, being
        on sale (`active`), a new file version (`filename`, which waits as pending) or
        publishing the pending one once it is uploaded (`publish_file`).

        Raises:
            BadRequest: an unknown or malformed field.
            NotFound: no such product.
            Conflict: `active` or `publish_file` while the file it needs is not uploaded, or
                the product changed meanwhile (retry).
            Unavailable: DynamoDB or S3 failed.
        """
        unknown = set(changes) - set(rules.EDITABLE)
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        wanted = {field: rules.EDITABLE[field](value) for field, value in changes.items()}
        if "filename" in wanted and wanted.get("publish_file"):
            raise BadRequest("upload the new file before publishing it")
        current = self.get(product_id, fresh=True)
        rules.suggested_at_least_minimum(
            wanted.get("price_cents", current.price_cents),
            wanted.get("min_price_cents", current.min_price_cents),
        )
        model = self._model
        actions = [model.updated_at.set(datetime.now(UTC))]
        # Whatever was checked (a file's presence) must still hold when the write lands.
        condition = model.product_id.exists() & (model.file_key == current.file_key)
        for field in SET_AS_GIVEN:
            if field in wanted:
                attribute = getattr(model, field)
                none = wanted[field] is None
                actions.append(attribute.remove() if none else attribute.set(wanted[field]))
        if "filename" in wanted:
            version = max(current.file_version, current.pending_version or 0) + 1
            actions += [
                model.pending_filename.set(wanted["filename"]),
                model.pending_version.set(version),
            ]
        live_key = current.file_key
        if wanted.get("publish_file"):
            live_key = self._publishable(current)
            actions += [
                model.filename.set(current.pending_filename),
                model.file_version.set(current.pending_version),
                model.file_key.set(live_key),
                model.pending_filename.remove(),
                model.pending_version.remove(),
            ]
            condition &= model.pending_version == current.pending_version
        if "active" in wanted:
            if wanted["active"]:
                self._require_file(live_key)
            actions.append(model.active.set(wanted["active"]))
            actions.append(model.listed.set("1") if wanted["active"] else model.listed.remove())
            if wanted["active"]:
                actions.append(model.unfinished.remove())  # on sale once: finished for good
        item = model(product_id)
        try:
            item.update(actions=actions, condition=condition)
        except PynamoDBException as exc:
            if condition_failed(exc):
                raise Conflict("The product changed meanwhile; try again.") from None
            raise Unavailable("The product could not be saved. Try again.") from exc
        return self._remember(item)

    def _publishable(self, current: ProductView) -> str:
        """The pending file's key, once it is uploaded."""
        pending_key = current.pending_file_key
        if pending_key is None:
            raise Conflict("There is no new file to publish.", code="no_pending_file")
        self._require_file(pending_key)
        return pending_key

    def _remember(self, item: Product) -> ProductView:
        view = ProductView.of(item)
        self._cache[view.id] = (self._clock(), view)
        return view

    def _require_file(self, key: str) -> None:
        if self._file_exists is None:
            return
        try:
            present = self._file_exists(key)
        except Exception as exc:  # botocore raises many kinds; all mean "could not check"
            raise Unavailable("The store could not check the product's file. Try again.") from exc
        if not present:
            message = "That file has not been uploaded yet; upload it, then try again."
            raise Conflict(message, code="file_missing")
