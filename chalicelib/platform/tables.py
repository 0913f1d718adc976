"""The store's DynamoDB tables, defined once as PynamoDB models.

These classes are the single definition of every table: the app reads and writes through them,
the local stack creates its tables from them, and a test checks `infra/stack.yaml` against them.
Table names, region and endpoint are bound from the stage settings by `bind_models()` on first
use, never at import time.

Money is integer minor units; times are UTC.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.platform.config import Settings

ON_DEMAND = "PAY_PER_REQUEST"


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


class PaymentIntentIndex(GlobalSecondaryIndex):
    """Finds the purchase a refund or dispute belongs to."""

    class Meta:
        index_name = "payment-intent-index"
        projection = KeysOnlyProjection()
        billing_mode = ON_DEMAND

    payment_intent = UnicodeAttribute(hash_key=True)


class EmailIndex(GlobalSecondaryIndex):
    """Finds a buyer's purchases for support."""

    class Meta:
        index_name = "email-index"
        projection = AllProjection()
        billing_mode = ON_DEMAND

    email = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RecentIndex(GlobalSecondaryIndex):
    """Purchases by month of sale, newest first, for the dashboard."""

    class Meta:
        index_name = "recent-index"
        projection = AllProjection()
        billing_mode = ON_DEMAND

    sale_month = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RefundRecord(MapAttribute):
    """One Stripe refund of a purchase as last reported: `amount_cents` in the charge's
    currency, `status` (pending, succeeded, failed, canceled, ...), `created` (the refund's own
    epoch second, if Stripe said) and `failed_at` (the earliest event that reported it failed or
    canceled)."""

    refund_id = UnicodeAttribute()
    amount_cents = NumberAttribute(default=0)
    status = UnicodeAttribute(default="succeeded")
    created = NumberAttribute(null=True)
    failed_at = NumberAttribute(null=True)


class DisputeRecord(MapAttribute):
    """One Stripe dispute (or inquiry) of a purchase: `open` until it closes `won`, `lost`,
    `warning_closed` or `prevented`; `closed_at` is the closing event's epoch second."""

    dispute_id = UnicodeAttribute()
    amount_cents = NumberAttribute(default=0)
    status = UnicodeAttribute(default="open")
    reason = UnicodeAttribute(null=True)
    closed_at = NumberAttribute(null=True)


class FraudWarning(MapAttribute):
    """A Radar early fraud warning of the purchase's charge, and the refund it led to (if the
    store refunds on warnings): `refund_id` once Stripe made it."""

    warning_id = UnicodeAttribute()
    fraud_type = UnicodeAttribute(null=True)
    actionable = BooleanAttribute(default=False)
    warned_at = UTCDateTimeAttribute()
    refund_id = UnicodeAttribute(null=True)


class Purchase(Model):
    """One Checkout Session: what was paid, by whom, and the state of its download link.

    `status` is the payment's state: pending, paid, failed. What happened after the sale is kept
    as its causes: every refund by id (`refunds`, and `charge_refunded_cents`, the charge's
    `amount_refunded` from the latest `charge.refunded` that did not list its refunds), every
    dispute by id (`disputes`), the seller's revoke (`revoked_at`). `link_state`,
    `refunded_cents`, `disputed_cents` and `dispute_status` are derived from them on every
    change (`sale.standing`). The raw download token is never stored, only `token_hash`.

    `amount_cents` and `currency` are the sale as recorded (in the store's currency when Stripe
    converted it); `charged_cents` and `charged_currency` what the charge is in, when that
    differs (refunds and disputes arrive in it).
    """

    class Meta:
        table_name = "purchases"
        billing_mode = ON_DEMAND

    session_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute()
    product_name = UnicodeAttribute(default="")
    amount_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="usd")
    subtotal_cents = NumberAttribute(null=True)
    tax_cents = NumberAttribute(default=0)
    discount_cents = NumberAttribute(default=0)
    charged_cents = NumberAttribute(null=True)
    charged_currency = UnicodeAttribute(null=True)
    # The sort-key suffix of the figures this sale counts in (`prod_x`, or `prod_x#eur` for a
    # sale outside the store's currency); refunds and disputes count in the same series.
    figures_key = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    payment_intent = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    sale_month = UnicodeAttribute(null=True)
    paid_at = UTCDateTimeAttribute(null=True)
    sale_day = UnicodeAttribute(null=True)
    link_version = NumberAttribute(default=0)
    token_hash = UnicodeAttribute(null=True)
    link_state = UnicodeAttribute(null=True)
    refunded_cents = NumberAttribute(default=0)
    disputed_cents = NumberAttribute(default=0)
    refunds = ListAttribute(of=RefundRecord, null=True)
    charge_refunded_cents = NumberAttribute(null=True)
    charge_refunded_at = NumberAttribute(null=True)  # that charge event's epoch second
    disputes = ListAttribute(of=DisputeRecord, null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    fraud_warnings = ListAttribute(of=FraudWarning, null=True)
    dispute_id = UnicodeAttribute(null=True)  # before disputes were kept one by one
    dispute_status = UnicodeAttribute(null=True)
    receipt_claimed_at = UTCDateTimeAttribute(null=True)
    receipt_sent_at = UTCDateTimeAttribute(null=True)
    receipt_error = UnicodeAttribute(null=True)  # SES refused the address for good
    updated_at = UTCDateTimeAttribute(null=True)

    payment_intent_index = PaymentIntentIndex()
    email_index = EmailIndex()
    recent_index = RecentIndex()


class DownloadLink(Model):
    """A buyer's private link, keyed by the SHA-256 of its token.

    Everything a download needs sits on this one item, so taking a download is one
    conditional update: `downloads_left > 0`, not expired, `state = active`.
    """

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_name = UnicodeAttribute(default="")
    file_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    downloads_left = NumberAttribute()
    expires_at = NumberAttribute()  # epoch seconds, UTC
    state = UnicodeAttribute(default="active")
    # The download log, one JSON string per download (see `delivery.DownloadEntry`). A string
    # set grows with one `ADD` inside the take's conditional update and keeps the item small,
    # which every download's write is billed by and returns.
    log = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class DailySales(Model):
    """Sales of one product on one store-timezone day, kept up to date with every purchase.

    Partitioned by month (`2026-11`) with `2026-11-24#<product_id>` as the sort key, so a report
    reads one partition per month it covers and its cost grows with days, not purchases. Sales in
    a currency other than the store's count apart, under `2026-11-24#<product_id>#<currency>`.
    `refunded_cents` and `disputed_cents` count on the day of the refund or the lost dispute.
    """

    class Meta:
        table_name = "sales"
        billing_mode = ON_DEMAND

    month = UnicodeAttribute(hash_key=True)
    day_product = UnicodeAttribute(range_key=True)
    orders = NumberAttribute(default=0)
    gross_cents = NumberAttribute(default=0)
    refunded_cents = NumberAttribute(default=0)
    disputed_cents = NumberAttribute(default=0)
    tax_cents = NumberAttribute(default=0)
    discount_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="usd")


class LibraryToken(Model):
    """A buyer's sign-in link to their library (`/library/{token}`), an item of the links
    table keyed `library#<SHA-256 of the token>` (never the token itself; no download token's
    hash starts so). `expires_at` ends it (410 after); DynamoDB deletes it at `purge_at`."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds, UTC
    created_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()


class MailAllowance(Model):
    """How often the library mailed an address, or was asked by a client, in the last hour:
    an item of the links table keyed `allowance#<kind>#<SHA-256 of the address or IP>`, with
    the epoch seconds of each use in the window. `version` makes every change conditional on
    the read it started from, so Lambda containers racing each other never exceed the limit;
    DynamoDB deletes it at `purge_at`."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    uses = ListAttribute(of=NumberAttribute, default=list)
    version = VersionAttribute()
    purge_at = TTLAttribute()


ALL_MODELS: tuple[type[Model], ...] = (Product, Purchase, DownloadLink, DailySales)
# Item types kept in another model's table (with its key schema): the links table also holds
# the library's sign-in tokens and mail allowances, which its TTL (`purge_at`) removes.
SHARED_MODELS: dict[type[Model], type[Model]] = {
    LibraryToken: DownloadLink,
    MailAllowance: DownloadLink,
}


def month_partition(when: date | datetime) -> str:
    """The partition key of a month (`2026-11`): purchases by month, sales figures by month."""
    return when.strftime("%Y-%m")


@dataclass(frozen=True)
class Tables:
    """The models, bound to one stage's tables."""

    products: type[Product]
    purchases: type[Purchase]
    links: type[DownloadLink]
    sales: type[DailySales]
    library_tokens: type[LibraryToken]
    allowances: type[MailAllowance]


def bind_tables(settings: Settings, connection: Connection | None = None) -> Tables:
    """Bind every model to the stage's tables (see `bind_models`); the bound models."""
    bind_models(settings, connection)
    return Tables(
        products=Product,
        purchases=Purchase,
        links=DownloadLink,
        sales=DailySales,
        library_tokens=LibraryToken,
        allowances=MailAllowance,
    )


def bind_models(settings: Settings, connection: Connection | None = None) -> None:
    """Point every model at the stage's table names, region and endpoint.

    With `connection`, every model talks through it (one botocore client for all tables)
    instead of building a connection of its own on first use.
    """
    names = {
        Product: settings.products_table,
        Purchase: settings.purchases_table,
        DownloadLink: settings.links_table,
        DailySales: settings.sales_table,
        LibraryToken: settings.links_table,
        MailAllowance: settings.links_table,
    }
    for model, table_name in names.items():
        model.Meta.table_name = table_name
        model.Meta.region = settings.region
        model.Meta.host = settings.aws_endpoint_url
        model._connection = None
        if connection is not None:
            table = model._get_connection()  # builds the table's metadata; no request
            with contextlib.suppress(ValueError):  # this connection knows the table already
                connection.add_meta_table(table.get_meta_table())
            table.connection = connection
