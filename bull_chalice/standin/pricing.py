"""The stand-in's prices: demo promotion codes and its one fixed (not real) tax rate."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Demo promotion codes, as a seller would make them in Stripe's dashboard: percent off.
PROMOTION_CODES = {"LAUNCH20": 20, "FREE100": 100}
# THE STAND-IN'S TAX: one fixed rate, wherever the buyer is. Not any jurisdiction's rate; Stripe
# Tax computes the real one from the buyer's address and the seller's registrations.
STANDIN_TAX_RATE = Decimal("0.10")


def priced(session: dict[str, Any]) -> None:
    """Set the session's amounts from its unit amount, promotion code and (stand-in) tax:
    `amount_subtotal`, `total_details.amount_discount` / `.amount_tax`, `amount_total`."""
    subtotal = int(session["_unit_amount"])
    percent = PROMOTION_CODES.get(session.get("_promotion_code") or "", 0)
    discount = int((Decimal(subtotal) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP))
    taxed = subtotal - discount
    tax = 0
    if session.get("_automatic_tax"):
        if session.get("_tax_behavior") == "inclusive":
            part = Decimal(taxed) * STANDIN_TAX_RATE / (1 + STANDIN_TAX_RATE)
        else:
            part = Decimal(taxed) * STANDIN_TAX_RATE
        tax = int(part.quantize(Decimal(1), ROUND_HALF_UP))
    inclusive = session.get("_tax_behavior") == "inclusive"
    session["amount_subtotal"] = subtotal
    session["total_details"] = {
        "amount_discount": discount,
        "amount_shipping": 0,
        "amount_tax": tax,
    }
    session["amount_total"] = taxed if inclusive else taxed + tax
    session["discounts"] = (
        [{"coupon": None, "promotion_code": "promo_" + session["_promotion_code"].lower()}]
        if percent
        else []
    )
