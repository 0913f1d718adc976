"""The purchases table: one item per Checkout Session, with its indexes and what happened
after the sale (refunds, disputes, fraud warnings) kept as lists of map attributes."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.platform.tables.base import ON_DEMAND


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
    license_hash = UnicodeAttribute(null=True)  # SHA-256 of its license key, if it has one
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
    seller_notified_at = UTCDateTimeAttribute(null=True)  # the sale notice's claim (at most once)
    updated_at = UTCDateTimeAttribute(null=True)

    payment_intent_index = PaymentIntentIndex()
    email_index = EmailIndex()
    recent_index = RecentIndex()
