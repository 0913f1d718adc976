"""The sales table: each product's figures per store-timezone day, partitioned by month."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.platform.tables.base import ON_DEMAND


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
