"""What the Stripe stand-in imitates of Stripe: Checkout Sessions, charges, refunds, webhook
endpoints, and signed events delivered to the store's webhook with Stripe's retries. The HTTP
side (routes, the pay page, the server) is `bull_chalice.stripe_standin`."""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import requests
import stripe
from werkzeug.wrappers import Response

API_VERSION = "2024-06-20"
DELIVERY_ATTEMPTS = 5


# Roughly what Stripe accepts: a local part, "@", and a domain with a dot and no empty label.
STRIPE_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

# Demo promotion codes, as a seller would make them in Stripe's dashboard: percent off.
PROMOTION_CODES = {"LAUNCH20": 20, "FREE100": 100}
# THE STAND-IN'S TAX: one fixed rate, wherever the buyer is. Not any jurisdiction's rate; Stripe
# Tax computes the real one from the buyer's address and the seller's registrations.
STANDIN_TAX_RATE = Decimal("0.10")
# Stripe's largest amount: eight digits of minor units.
MAX_AMOUNT = 99_999_999
# Stripe's smallest Checkout total (50 cents, ¥50: roughly 50 minor units everywhere).
MIN_TOTAL = 50


def _documented(cls: Any) -> dict[str, Any]:
    """The parameters a `stripe` library TypedDict documents, each with its nested TypedDict
    class (or None): what Stripe's API reference lists for this pinned API version."""
    import sys

    from stripe._request_options import RequestOptions

    module = sys.modules[cls.__module__]
    client_only = set(RequestOptions.__annotations__)
    fields: dict[str, Any] = {}
    for name, hint in cls.__annotations__.items():
        if name in client_only:
            continue
        text = str(hint)
        match = re.search(r"'([A-Za-z]+Params[A-Za-z]*)'", text)
        fields[name] = getattr(module, match.group(1), None) if match else None
    return fields


def unknown_parameter(params: Any, cls: Any, prefix: str = "") -> str | None:
    """The first parameter in `params` that Stripe's documented shape `cls` does not know, as
    Stripe names it (`line_items[0][price_data][colour]`), or None."""
    if not isinstance(params, dict):
        return None
    known = _documented(cls)
    for name, value in params.items():
        path = f"{prefix}[{name}]" if prefix else name
        if name not in known:
            return path
        nested = known[name]
        if nested is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            inner = f"{path}[{index}]" if isinstance(value, list) else path
            if found := unknown_parameter(item, nested, inner):
                return found
    return None


def _true(value: Any) -> bool:
    return value is True or value == "true"


def session_refusal(params: dict[str, Any]) -> Response | None:
    """Stripe's answer to a `checkout.sessions.create` it would refuse, or None. Checked: every
    parameter is documented (stripe library's SessionCreateParams, the API version it pins), the
    price (`unit_amount` an integer from 0 to 99,999,999, a known `tax_behavior`), the total of
    at least 50 minor units, `allow_promotion_codes` beside `discounts`, `automatic_tax` with a
    Customer whose address Checkout may not update, and `automatic_tax` beside
    `managed_payments` (Stripe, the merchant of record, sets tax itself)."""
    from stripe.params.checkout import SessionCreateParams

    unknown = unknown_parameter(params, SessionCreateParams)
    if unknown:
        return error_response(
            400, f"Received unknown parameter: {unknown}", "parameter_unknown", unknown
        )
    if params.get("mode") not in ("payment", "setup", "subscription"):
        return error_response(400, "Missing required param: mode.", "parameter_missing", "mode")
    items = params.get("line_items") or []
    if not isinstance(items, list) or not items or "price_data" not in items[0]:
        return error_response(400, "line_items[0][price_data] is required")
    price = items[0]["price_data"]
    param = "line_items[0][price_data][unit_amount]"
    raw = price.get("unit_amount")
    if not isinstance(raw, str) or not re.fullmatch(r"-?[0-9]+", raw):
        return error_response(400, f"Invalid integer: {raw}", "parameter_invalid_integer", param)
    if not 0 <= int(raw) <= MAX_AMOUNT:
        message = (
            f"This value must be less than or equal to {MAX_AMOUNT} (it currently is '{raw}')."
        )
        if int(raw) < 0:
            message = f"This value must be greater than or equal to 0 (it currently is '{raw}')."
        return error_response(400, message, "parameter_invalid_integer", param)
    behavior = price.get("tax_behavior")
    if behavior is not None and behavior not in ("exclusive", "inclusive", "unspecified"):
        return error_response(
            400,
            "Invalid line_items[0][price_data][tax_behavior]: must be one of exclusive, "
            "inclusive, or unspecified",
            "parameter_invalid_string",
            "line_items[0][price_data][tax_behavior]",
        )
    collection = params.get("billing_address_collection")
    if collection is not None and collection not in ("auto", "required"):
        return error_response(
            400,
            "Invalid billing_address_collection: must be one of auto or required",
            param="billing_address_collection",
        )
    if int(raw) * int(items[0].get("quantity", 1)) < MIN_TOTAL:
        currency = str(price.get("currency", "usd"))
        return error_response(
            400,
            f"The Checkout Session's total amount due must add up to at least {MIN_TOTAL} "
            f"minor units of {currency}.",
            "amount_too_small",
        )
    if _true(params.get("allow_promotion_codes")) and params.get("discounts"):
        return error_response(
            400,
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="allow_promotion_codes",
        )
    automatic_tax = _true((params.get("automatic_tax") or {}).get("enabled"))
    if automatic_tax and params.get("customer"):
        address = (params.get("customer_update") or {}).get("address")
        if address != "auto":
            return error_response(
                400,
                "Automatic tax calculation in Checkout requires a valid address on the "
                "Customer. Add a valid address to the Customer or set either "
                "`customer_update[address]` to 'auto' or `customer_update[shipping]` to 'auto' "
                "to save the address entered in Checkout to the Customer.",
                param="automatic_tax[enabled]",
            )
    if _true((params.get("managed_payments") or {}).get("enabled")) and "automatic_tax" in params:
        return error_response(
            400,
            "automatic_tax cannot be set when managed_payments is enabled: Stripe manages tax.",
            param="automatic_tax",
        )
    return None


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


def error_response(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    if code:
        body["error"]["code"] = code
    if param:
        body["error"]["param"] = param
    return Response(json.dumps(body), status=status, content_type="application/json")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


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
            return self.list_page(list(self.endpoints.values()), params, "/v1/webhook_endpoints")
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

    @staticmethod
    def list_page(objects: list[dict[str, Any]], params: dict, url: str) -> Response:
        """One page of a list as Stripe pages it: newest first, `limit` (1 to 100, default 10)
        objects after the `starting_after` object (before `ending_before`), and `has_more`.
        A cursor that names no object (one deleted meanwhile, say) is refused as Stripe
        refuses it: `resource_missing` on that parameter."""
        newest_first = objects[::-1]  # kept in creation order
        try:
            limit = int(params.get("limit") or 10)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return error_response(400, "limit must be between 1 and 100", param="limit")
        ids = [item["id"] for item in newest_first]
        start, end = 0, len(newest_first)
        for param in ("starting_after", "ending_before"):
            cursor = params.get(param)
            if not cursor:
                continue
            if cursor not in ids:
                return error_response(404, f"No such object: '{cursor}'", "resource_missing", param)
            if param == "starting_after":
                start = ids.index(cursor) + 1
            else:
                end = ids.index(cursor)
                start = max(0, end - limit)
        page = newest_first[start:end][:limit]
        has_more = start + len(page) < end if not params.get("ending_before") else start > 0
        return json_response({"object": "list", "data": page, "has_more": has_more, "url": url})

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
