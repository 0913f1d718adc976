"""What the Stripe stand-in imitates of Stripe: Checkout Sessions, charges, refunds, webhook
endpoints, and signed events delivered to the store's webhook with Stripe's retries. What it
refuses is `checks`; the HTTP side (routes, the pay page, the server) is `pay_page` and `server`."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import stripe
from werkzeug.wrappers import Response

from bull_chalice.standin.checks import (
    STRIPE_EMAIL,
    _true,
    error_response,
    json_response,
    session_refusal,
)
from bull_chalice.standin.paging import list_page
from bull_chalice.standin.pricing import PROMOTION_CODES, priced

API_VERSION = "2024-06-20"
DELIVERY_ATTEMPTS = 5


@dataclass
class StripeApi:
    """The stand-in's state and the Stripe API calls it answers."""

    webhook_url: str
    webhook_secret: str
    base_url: str = ""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Where the sessions, charges and endpoints are kept across restarts (the local stack's).
    state_path: Path | None = None

    # -- kept across restarts -------------------------------------------------------------

    KEPT = ("sessions", "charges", "endpoints")

    def restore(self) -> None:
        """Take back what an earlier run saved, if anything."""
        if self.state_path and self.state_path.exists():
            saved = json.loads(self.state_path.read_text())
            for name in self.KEPT:
                getattr(self, name).update(saved.get(name) or {})

    def save(self) -> None:
        """Write the state atomically (a kill at any moment leaves the old or the new file)."""
        if not self.state_path:
            return
        with self.lock:
            data = json.dumps({name: getattr(self, name) for name in self.KEPT})
        partial = self.state_path.with_name(self.state_path.name + ".partial")
        partial.write_text(data)
        os.replace(partial, self.state_path)

    # -- API ----------------------------------------------------------------------------

    def create_session(self, params: dict[str, Any]) -> Response:
        refusal = session_refusal(params)
        if refusal is not None:
            return refusal
        items = params["line_items"]
        price = items[0]["price_data"]
        amount = int(price["unit_amount"]) * int(items[0].get("quantity", 1))
        automatic_tax = _true((params.get("automatic_tax") or {}).get("enabled"))
        email = params.get("customer_email")
        if email is not None and not STRIPE_EMAIL.fullmatch(email):
            return error_response(
                400, f"Invalid email address: {email}", "email_invalid", "customer_email"
            )
        session_id = "cs_test_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_total": amount,
            "amount_subtotal": amount,
            "currency": price.get("currency", "usd"),
            "created": int(time.time()),
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": params.get("mode", "payment"),
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.base_url}/pay/{session_id}",
            "_product_name": (price.get("product_data") or {}).get("name", "Your purchase"),
            "_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
            "allow_promotion_codes": _true(params.get("allow_promotion_codes")),
            "automatic_tax": {"enabled": automatic_tax, "status": None},
            "billing_address_collection": params.get("billing_address_collection"),
            "_unit_amount": amount,
            "_automatic_tax": automatic_tax,
            "_tax_behavior": price.get("tax_behavior") or "unspecified",
            "_promotion_code": None,
        }
        priced(session)
        with self.lock:
            self.sessions[session_id] = session
        return json_response(self._public(session))

    def retrieve_session(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return error_response(
                404, f"No such checkout.session: '{session_id}'", "resource_missing"
            )
        return json_response(self._public(session))

    def create_refund(self, params: dict[str, Any]) -> Response:
        intent = params.get("payment_intent")
        charge = next((c for c in self.charges.values() if c["payment_intent"] == intent), None)
        if charge is None:
            return error_response(404, f"No such payment_intent: '{intent}'", "resource_missing")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            return error_response(
                400, f"Charge {charge['id']} has already been refunded.", "charge_already_refunded"
            )
        try:
            amount = int(params.get("amount") or remaining)
        except ValueError:
            return error_response(400, "amount must be an integer")
        if amount <= 0 or amount > remaining:
            return error_response(
                400, "Refund amount exceeds what is left to refund", "amount_too_large"
            )
        with self.lock:
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": charge["currency"],
            "payment_intent": intent,
            "status": "succeeded",
        }
        self.deliver("charge.refunded", dict(charge))
        return json_response(refund)

    def webhook_endpoints(self, method: str, endpoint_id: str | None, params: dict) -> Response:
        """List, create, update and delete webhook endpoints (`bull stripe webhook`, `teardown`)."""
        if endpoint_id is None and method == "GET":
            return list_page(list(self.endpoints.values()), params, "/v1/webhook_endpoints")
        if endpoint_id is None and method == "POST":
            endpoint = {
                "id": "we_" + secrets.token_hex(12),
                "object": "webhook_endpoint",
                "url": params.get("url"),
                "enabled_events": params.get("enabled_events"),
                "metadata": params.get("metadata") or {},
            }
            self.endpoints[endpoint["id"]] = endpoint
            return json_response({**endpoint, "secret": "whsec_" + secrets.token_hex(16)})
        endpoint = self.endpoints.get(endpoint_id or "")
        if endpoint is None:
            return error_response(
                404, f"No such webhook endpoint: '{endpoint_id}'", "resource_missing"
            )
        if method == "POST":
            endpoint.update({k: v for k, v in params.items() if k in ("enabled_events", "url")})
        if method == "DELETE":  # what `bull teardown` calls
            del self.endpoints[endpoint["id"]]
            return json_response(
                {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
            )
        return json_response(endpoint)

    def apply_promotion_code(self, session: dict[str, Any], code: str) -> str:
        """Apply a demo promotion code to an open session; an error message, or "" once done."""
        code = code.strip().upper()
        if not session.get("allow_promotion_codes"):
            return "This checkout takes no promotion codes."
        if code not in PROMOTION_CODES:
            return "This code is invalid."
        with self.lock:
            if session["status"] == "open":
                session["_promotion_code"] = code
                priced(session)
        return ""

    def complete_payment(
        self, session: dict[str, Any], email: str, address: dict[str, Any] | None = None
    ) -> None:
        """Pay the session once (a charge, then `checkout.session.completed`; a session whose
        total is 0 after a promotion code completes as `no_payment_required`, no charge);
        paying it again changes nothing."""
        with self.lock:
            first = session["status"] == "open"
            if first and session["amount_total"] == 0:
                session.update(
                    payment_status="no_payment_required",
                    status="complete",
                    customer_details={"email": email, "name": None, "address": address},
                )
                if session.get("_automatic_tax"):
                    session["automatic_tax"] = {"enabled": True, "status": "complete"}
            elif first:
                intent = "pi_" + secrets.token_hex(12)
                session.update(
                    payment_status="paid",
                    status="complete",
                    payment_intent=intent,
                    customer_details={"email": email, "name": None, "address": address},
                )
                if session.get("_automatic_tax"):
                    session["automatic_tax"] = {"enabled": True, "status": "complete"}
                charge_id = "ch_" + secrets.token_hex(12)
                self.charges[charge_id] = {
                    "id": charge_id,
                    "object": "charge",
                    "amount": session["amount_total"],
                    "amount_refunded": 0,
                    "currency": session["currency"],
                    "payment_intent": intent,
                    "refunded": False,
                    "paid": True,
                    # Stripe copies the PaymentIntent's metadata onto the charge it creates.
                    "metadata": dict(session.get("_intent_metadata") or {}),
                }
        if first:
            self.deliver("checkout.session.completed", self._public(session))

    # -- webhooks -----------------------------------------------------------------------

    def deliver(self, event_type: str, obj: dict[str, Any]) -> int:
        """POST a signed event to the store's webhook, retrying 5xx like Stripe; the status."""
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "type": event_type,
        }
        payload = json.dumps(event)
        status = 0
        for attempt in range(DELIVERY_ATTEMPTS):
            header = stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret)
            try:
                answer = requests.post(
                    self.webhook_url,
                    data=payload.encode(),
                    headers={"Content-Type": "application/json", "Stripe-Signature": header},
                    timeout=30,
                )
                status = answer.status_code
            except requests.RequestException:
                status = 0
            if 200 <= status < 300 or 400 <= status < 500:
                break
            time.sleep(0.5 * (attempt + 1))
        self.deliveries.append({"type": event_type, "id": event["id"], "status": status})
        return status

    # -- plumbing -----------------------------------------------------------------------

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    @staticmethod
    def _success_url(session: dict[str, Any]) -> str:
        return str(session.get("success_url") or "/").replace(
            "{CHECKOUT_SESSION_ID}", session["id"]
        )
