"""The stand-in's pay page: each session's `url`, a checkout-like page with a test card, the
demo promotion codes, a billing address when required, and a refund button once paid."""

from __future__ import annotations

import html
import re
from typing import Any

from werkzeug.wrappers import Response

from bull_chalice.standin.api import StripeApi
from bull_chalice.standin.pricing import PROMOTION_CODES, STANDIN_TAX_RATE
from chalicelib.money import format_amount

PAY_PAGE_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1a1f36; background: #f6f9fc; }
.banner { background: #ffde92; color: #5c3d00; text-align: center; font-size: 14px;
  font-weight: 600; padding: 8px 12px; }
main { max-width: 440px; margin: 24px auto; padding: 24px; background: #fff;
  border-radius: 12px; box-shadow: 0 2px 12px rgba(50, 50, 93, .12); }
@media (max-width: 480px) { main { margin: 0; border-radius: 0; box-shadow: none; } }
a { color: #635bff; }
.back { text-decoration: none; font-weight: 600; }
.muted { color: #697386; margin: 0; } .small { font-size: 13px; margin: 8px 0 16px; }
.product { font-size: 18px; margin: 4px 0 0; }
.amount { font-size: 34px; font-weight: 700; margin: 0 0 20px; letter-spacing: -.02em; }
.summary { display: flex; justify-content: space-between; gap: 12px; }
label, legend { display: block; font-size: 14px; font-weight: 600; color: #3c4257;
  margin: 12px 0 4px; padding: 0; }
fieldset { border: 0; margin: 0; padding: 0; }
input { width: 100%; font: inherit; padding: 10px 12px; border: 1px solid #d5dbe1;
  border-radius: 6px; background: #fff; }
fieldset input { border-radius: 6px 6px 0 0; }
.row { display: flex; } .row input { border-top: 0; border-radius: 0 0 0 6px; }
.row input + input { border-left: 0; border-radius: 0 0 6px 0; }
button { width: 100%; background: #635bff; color: #fff; border: 0; border-radius: 6px;
  padding: 12px 18px; font: inherit; font-weight: 600; cursor: pointer; }
button.secondary { background: #fff; color: #cd3d64; border: 1px solid #e3e8ee; }
.error { color: #cd3d64; font-weight: 600; }
.cancel { text-align: center; margin: 16px 0 0; font-size: 14px; }
"""


class PayPages(StripeApi):
    """The pay page and its forms (pay, promotion code, refund)."""

    def pay_page(self, session_id: str, message: str = "") -> Response:
        """The session's `url`: a checkout-like page (product, amount in the currency's own
        format, a test card form, Pay and Cancel back to `cancel_url`), clearly a stand-in."""
        session = self.sessions.get(session_id)
        if session is None:
            return Response("<h1>Unknown checkout</h1>", status=404, content_type="text/html")
        amount = html.escape(format_amount(int(session["amount_total"]), session["currency"]))
        name = html.escape(session["_product_name"])
        cancel = html.escape(str(session.get("cancel_url") or "/"))
        error = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
        lines = self._summary(session)
        if session["status"] == "complete":
            paid = session.get("payment_intent")
            payment = (
                f"""<p class="muted">Payment {html.escape(paid)}</p>
            <form method="post" action="/pay/{session_id}/refund">
            <button id="refund-button" class="secondary" type="submit">Refund</button></form>"""
                if paid
                else '<p class="muted">No payment required.</p>'
            )
            body = f"""<h1>Paid</h1>
            <p class="summary"><span>{name}</span><strong id="amount">{amount}</strong></p>
            {lines}
            {payment}
            <p><a href="{html.escape(self._success_url(session))}">Back to the store</a></p>"""
        else:
            email = session.get("customer_email") or ""
            email_field = (
                f'<p class="muted">Paying as <strong>{html.escape(email)}</strong></p>'
                if email
                else '<label for="email">Email</label><input id="email" type="email" '
                'name="email" autocomplete="email" required value="buyer@example.com">'
            )
            body = f"""<p><a id="back-link" class="back" href="{cancel}">&larr; Back</a></p>
            <p class="muted">Pay</p>
            <p id="product" class="product">{name}</p>
            <p id="amount" class="amount">{amount}</p>
            {lines}
            {self._promotion_form(session)}
            <form method="post" action="/pay/{session_id}" class="pay">
            {email_field}
            {self._address_fields(session)}
            <fieldset><legend>Card information</legend>
            <input id="card-number" aria-label="Card number" value="4242 4242 4242 4242" readonly>
            <div class="row"><input aria-label="Expiry" value="12 / 34" readonly>
            <input aria-label="CVC" value="123" readonly></div></fieldset>
            <p class="muted small">Test card: nothing is charged.</p>
            {error}
            <button id="pay-button" type="submit">Pay {amount}</button>
            </form>
            <p class="cancel"><a id="cancel-link" href="{cancel}">Cancel and return to the
            store</a></p>"""
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Checkout · test mode</title><style>{PAY_PAGE_STYLE}</style></head>
        <body><div id="test-mode" class="banner">Test mode &mdash; local Stripe stand-in, no real
        payment</div><main>{body}</main></body></html>"""
        return Response(page, content_type="text/html")

    @staticmethod
    def _summary(session: dict[str, Any]) -> str:
        """Subtotal, discount, tax and total, when a discount or tax applies."""
        details = session.get("total_details") or {}
        discount, tax = details.get("amount_discount", 0), details.get("amount_tax", 0)
        if not discount and not tax and not session.get("_automatic_tax"):
            return ""
        currency = session["currency"]

        def line(label: str, cents: int, ident: str) -> str:
            shown = html.escape(format_amount(cents, currency))
            return f'<p class="summary"><span>{label}</span><span id="{ident}">{shown}</span></p>'

        rows = [line("Subtotal", session.get("amount_subtotal") or 0, "subtotal")]
        if discount:
            code = html.escape(session.get("_promotion_code") or "")
            rows.append(line(f"Discount ({code})", -discount, "discount"))
        if session.get("_automatic_tax"):
            rate = f"{STANDIN_TAX_RATE * 100:.0f} %"
            included = " included" if session.get("_tax_behavior") == "inclusive" else ""
            rows.append(line(f"Stand-in tax {rate}{included} (not a real rate)", tax, "tax"))
        rows.append(line("Total", session["amount_total"], "total"))
        return "".join(rows)

    @staticmethod
    def _promotion_form(session: dict[str, Any]) -> str:
        if not session.get("allow_promotion_codes"):
            return ""
        codes = ", ".join(PROMOTION_CODES)
        return f"""<form method="post" action="/pay/{session["id"]}/promotion">
            <label for="promotion-code">Promotion code</label>
            <div class="row"><input id="promotion-code" name="promotion_code"
            autocomplete="off" value="{html.escape(session.get("_promotion_code") or "")}">
            <button id="apply-code" class="secondary" type="submit">Apply</button></div>
            <p class="muted small">Demo codes: {codes}.</p></form>"""

    @staticmethod
    def _address_fields(session: dict[str, Any]) -> str:
        """The billing address Checkout collects (`billing_address_collection=required`)."""
        if session.get("billing_address_collection") != "required":
            return ""
        return """<fieldset><legend>Billing address</legend>
            <input id="country" name="country" aria-label="Country" value="US" required>
            <input id="postal-code" name="postal_code" aria-label="Postal code" value="94103"
            required></fieldset>"""

    def apply_code(self, session_id: str, form: dict[str, str]) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return Response("<h1>Unknown checkout</h1>", status=404, content_type="text/html")
        problem = self.apply_promotion_code(session, form.get("promotion_code", ""))
        if problem:
            return self.pay_page(session_id, problem)
        return Response(status=303, headers={"Location": f"/pay/{session_id}"})

    def pay(self, session_id: str, form: dict[str, str]) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return Response("<h1>Unknown checkout</h1>", status=404, content_type="text/html")
        email = session.get("customer_email") or form.get("email", "").strip()
        if "@" not in email:
            return self.pay_page(session_id, "Enter an email address.")
        address = None
        if session.get("billing_address_collection") == "required":
            country = form.get("country", "").strip().upper()
            postal = form.get("postal_code", "").strip()
            if not re.fullmatch(r"[A-Z]{2}", country) or not postal:
                return self.pay_page(session_id, "Enter your country and postal code.")
            address = {"country": country, "postal_code": postal, "line1": None}
        self.complete_payment(session, email, address)
        return Response(status=303, headers={"Location": self._success_url(session)})

    def refund_from_page(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None or not session.get("payment_intent"):
            return Response("<h1>Nothing to refund</h1>", status=404, content_type="text/html")
        answer = self.create_refund({"payment_intent": session["payment_intent"]})
        if answer.status_code != 200:
            return self.pay_page(session_id, "Already refunded.")
        return Response(status=303, headers={"Location": f"/pay/{session_id}"})
