"""The products table: what the store sells, and its sparse index of what is listed."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.platform.tables.base import ON_DEMAND


class ListedProductsIndex(GlobalSecondaryIndex):
    """Sparse index of the products shown in the store (only active ones carry `listed`)."""

    class Meta:
        index_name = "listed-index"
        projection = AllProjection()
        billing_mode = ON_DEMAND

    listed = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Product(Model):
    """Something the store sells: a price in cents and a file in the products bucket."""

    class Meta:
        table_name = "products"
        billing_mode = ON_DEMAND

    product_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    price_cents = NumberAttribute()
    # Pay what you want: the least a buyer may pay; `price_cents` is then the suggested price.
    min_price_cents = NumberAttribute(null=True)
    # Stripe Tax's product tax code; None means the store's default (DEFAULT_TAX_CODE).
    tax_code = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(default="usd")
    # Software: each paid purchase gets a license key, activated on at most this many instances.
    license_keys = BooleanAttribute(null=True)
    activation_limit = NumberAttribute(null=True)
    filename = UnicodeAttribute()
    file_key = UnicodeAttribute()
    file_version = NumberAttribute(default=1)
    # A new file version being uploaded; buyers keep getting `file_key` until it is published.
    pending_filename = UnicodeAttribute(null=True)
    pending_version = NumberAttribute(null=True)
    active = BooleanAttribute(default=True)
    listed = UnicodeAttribute(null=True)
    # Set when `bull product add` creates the product and removed when it first goes on sale:
    # only a product still carrying it may be finished (its file uploaded) by a later run.
    unfinished = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    listed_index = ListedProductsIndex()
