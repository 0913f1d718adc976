"""The purchase a Checkout Session records: its amounts, in the currency it was paid in or in
the store's own when Stripe converted them, and the figures series it counts in.

`sale.fulfilment` writes it (paid, pending or failed); nothing here touches DynamoDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.catalog.view import ProductView
from chalicelib.payments.events import CheckoutFacts
from chalicelib.platform.tables import Purchase, month_partition
from chalicelib.sale.figures import figures_series
from chalicelib.sale.purchases import buyer_address
from chalicelib.sale.standing import pro_rata


@dataclass(frozen=True)
class RecordedSale:
    """A sale as the store records it: in the currency it was paid in, or in the store's own
    when Stripe converted it from the store's currency (`currency_conversion`, legacy Adaptive
    Pricing); then `charged_cents` / `charged_currency` are what the charge is in."""

    amount_cents: int
    currency: str
    subtotal_cents: int | None
    tax_cents: int
    discount_cents: int
    charged_cents: int | None
    charged_currency: str | None
    series: str  # the figures it counts in (see `figures_series`)


def recorded_sale(facts: CheckoutFacts, product_id: str, store_currency: str) -> RecordedSale:
    """How a session's sale is recorded in a store that sells in `store_currency`."""
    total = facts.source_total_cents
    if facts.source_currency == store_currency != facts.currency and total is not None:

        def converted(value: int | None) -> int | None:
            return None if value is None else pro_rata(value, total, facts.amount_cents)

        return RecordedSale(
            amount_cents=total,
            currency=store_currency,
            subtotal_cents=(
                facts.source_subtotal_cents
                if facts.source_subtotal_cents is not None
                else converted(facts.subtotal_cents)
            ),
            tax_cents=converted(facts.tax_cents) or 0,
            discount_cents=converted(facts.discount_cents) or 0,
            charged_cents=facts.amount_cents,
            charged_currency=facts.currency,
            series=product_id,
        )
    return RecordedSale(
        amount_cents=facts.amount_cents,
        currency=facts.currency,
        subtotal_cents=facts.subtotal_cents,
        tax_cents=facts.tax_cents,
        discount_cents=facts.discount_cents,
        charged_cents=None,
        charged_currency=None,
        series=figures_series(product_id, facts.currency, store_currency),
    )


def new_purchase(
    facts: CheckoutFacts, product: ProductView, status: str, store_currency: str, now: datetime
) -> Purchase:
    """The purchase item a session records with `status`, not yet written."""
    sale = recorded_sale(facts, product.id, store_currency)
    return Purchase(
        facts.session_id,
        product_id=product.id,
        product_name=product.name,
        amount_cents=sale.amount_cents,
        currency=sale.currency,
        subtotal_cents=sale.subtotal_cents,
        tax_cents=sale.tax_cents,
        discount_cents=sale.discount_cents,
        charged_cents=sale.charged_cents,
        charged_currency=sale.charged_currency,
        figures_key=sale.series,
        email=buyer_address(facts.email) or None,
        payment_intent=facts.payment_intent,
        status=status,
        created_at=facts.sold_at,
        sale_month=month_partition(facts.sold_at),
        updated_at=now,
    )
