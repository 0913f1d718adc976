"""A small local stand-in for Stripe, for `make run` and the integration tests.

It answers the API calls the store makes (Checkout Session create and retrieve, refunds) the
way the real `stripe` library expects, serves each session's `url` as a pay page with a "Pay"
button, and on payment delivers a signed `checkout.session.completed` to the store's webhook
exactly as Stripe would. Refunds deliver a signed `charge.refunded`. It is a test double, not a
Stripe clone: one process, in memory, no validation beyond what the store relies on.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import requests
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_VERSION = "2024-06-20"
DELIVERY_ATTEMPTS = 5


def _nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's form keys (`line_items[0][price_data][unit_amount]`) into nested dicts."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


# Roughly what Stripe accepts: a local part, "@", and a domain with a dot and no empty label.
STRIPE_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _error(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    if code:
        body["error"]["code"] = code
    if param:
        body["error"]["param"] = param
    return Response(json.dumps(body), status=status, content_type="application/json")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class StandIn:
    """The stand-in's state and behaviour; `wsgi` is its WSGI entry point."""

    webhook_url: str
    webhook_secret: str
    base_url: str = ""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- API ----------------------------------------------------------------------------

    def create_session(self, params: dict[str, Any]) -> Response:
        items = params.get("line_items") or []
        if not items or "price_data" not in items[0]:
            return _error(400, "line_items[0][price_data] is required")
        price = items[0]["price_data"]
        try:
            amount = int(price["unit_amount"]) * int(items[0].get("quantity", 1))
        except (KeyError, ValueError):
            return _error(400, "unit_amount must be an integer")
        email = params.get("customer_email")
        if email is not None and not STRIPE_EMAIL.fullmatch(email):
            return _error(400, f"Invalid email address: {email}", "email_invalid", "customer_email")
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
        }
        with self.lock:
            self.sessions[session_id] = session
        return _json(self._public(session))

    def retrieve_session(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return _error(404, f"No such checkout.session: '{session_id}'", "resource_missing")
        return _json(self._public(session))

    def create_refund(self, params: dict[str, Any]) -> Response:
        intent = params.get("payment_intent")
        charge = next((c for c in self.charges.values() if c["payment_intent"] == intent), None)
        if charge is None:
            return _error(404, f"No such payment_intent: '{intent}'", "resource_missing")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            return _error(
                400, f"Charge {charge['id']} has already been refunded.", "charge_already_refunded"
            )
        try:
            amount = int(params.get("amount") or remaining)
        except ValueError:
            return _error(400, "amount must be an integer")
        if amount <= 0 or amount > remaining:
            return _error(400, "Refund amount exceeds what is left to refund", "amount_too_large")
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
        return _json(refund)

    def webhook_endpoints(self, method: str, endpoint_id: str | None, params: dict) -> Response:
        """List, create, update and delete webhook endpoints (`bull stripe webhook`, `teardown`)."""
        if endpoint_id is None and method == "GET":
            data = list(self.endpoints.values())
            return _json(
                {"object": "list", "data": data, "has_more": False, "url": "/v1/webhook_endpoints"}
            )
        if endpoint_id is None and method == "POST":
            endpoint = {
                "id": "we_" + secrets.token_hex(12),
                "object": "webhook_endpoint",
                "url": params.get("url"),
                "enabled_events": params.get("enabled_events"),
                "metadata": params.get("metadata") or {},
            }
            self.endpoints[endpoint["id"]] = endpoint
            return _json({**endpoint, "secret": "whsec_" + secrets.token_hex(16)})
        endpoint = self.endpoints.get(endpoint_id or "")
        if endpoint is None:
            return _error(404, f"No such webhook endpoint: '{endpoint_id}'", "resource_missing")
        if method == "POST":
            endpoint.update({k: v for k, v in params.items() if k in ("enabled_events", "url")})
        if method == "DELETE":  # what `bull teardown` calls
            del self.endpoints[endpoint["id"]]
            return _json({"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True})
        return _json(endpoint)

    # -- the pay page -------------------------------------------------------------------

    def pay_page(self, session_id: str, message: str = "") -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return Response("<h1>Unknown checkout</h1>", status=404, content_type="text/html")
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        name = html.escape(session["_product_name"])
        if session["payment_status"] == "paid":
            body = f"""<h1>Paid</h1><p>{name}: {amount}</p>
            <p>Payment {html.escape(session["payment_intent"])}</p>
            <form method="post" action="/pay/{session_id}/refund">
            <button id="refund-button" type="submit">Refund</button></form>
            <p><a href="{html.escape(self._success_url(session))}">Back to the store</a></p>"""
        else:
            email = session.get("customer_email") or ""
            email_field = (
                f"<p>Paying as {html.escape(email)}</p>"
                if email
                else '<label>Email <input id="email" type="email" name="email" required '
                'value="buyer@example.com"></label>'
            )
            body = f"""<h1>Stripe stand-in checkout</h1>
            <p><strong>{name}</strong></p><p id="amount">{amount}</p>
            <form method="post" action="/pay/{session_id}">{email_field}
            <button id="pay-button" type="submit">Pay</button></form>"""
        page = f"""<!doctype html><html><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Checkout</title><style>body{{font-family:system-ui;max-width:420px;margin:40px auto;
        padding:0 16px}}button{{background:#635bff;color:#fff;border:0;border-radius:6px;
        padding:10px 18px;font-size:16px}}input{{padding:8px;width:100%}}</style></head>
        <body>{html.escape(message)}{body}</body></html>"""
        return Response(page, content_type="text/html")

    def pay(self, session_id: str, form: dict[str, str]) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return Response("<h1>Unknown checkout</h1>", status=404, content_type="text/html")
        email = session.get("customer_email") or form.get("email", "").strip()
        if "@" not in email:
            return self.pay_page(session_id, "Enter an email address.")
        with self.lock:
            first = session["payment_status"] != "paid"
            if first:
                intent = "pi_" + secrets.token_hex(12)
                session.update(
                    payment_status="paid",
                    status="complete",
                    payment_intent=intent,
                    customer_details={"email": email, "name": None},
                )
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
        return Response(status=303, headers={"Location": self._success_url(session)})

    def refund_from_page(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None or not session.get("payment_intent"):
            return Response("<h1>Nothing to refund</h1>", status=404, content_type="text/html")
        answer = self.create_refund({"payment_intent": session["payment_intent"]})
        if answer.status_code != 200:
            return self.pay_page(session_id, "Already refunded.")
        return Response(status=303, headers={"Location": f"/pay/{session_id}"})

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

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.route(request)(environ, start_response)

    def route(self, request: Request) -> Response:
        path, method = request.path.rstrip("/"), request.method
        params = _nested(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        if path == "/v1/checkout/sessions" and method == "POST":
            return self.create_session(params)
        if match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path):
            return self.retrieve_session(match.group(1))
        if match := re.fullmatch(r"/v1/webhook_endpoints(?:/([^/]+))?", path):
            return self.webhook_endpoints(method, match.group(1), params)
        if path == "/v1/refunds" and method == "POST":
            return self.create_refund(params)
        if match := re.fullmatch(r"/pay/([^/]+)/refund", path):
            return self.refund_from_page(match.group(1)) if method == "POST" else _error(405, "")
        if match := re.fullmatch(r"/pay/([^/]+)", path):
            if method == "POST":
                return self.pay(match.group(1), dict(request.form))
            return self.pay_page(match.group(1))
        if path in ("", "/health"):
            return _json({"ok": True, "sessions": len(self.sessions)})
        return _error(404, f"Unrecognized request URL ({method}: {path})")


class StandInServer:
    """Runs a `StandIn` on 127.0.0.1 in a background thread (tests) or in the foreground."""

    def __init__(self, standin: StandIn, port: int) -> None:
        self.standin = standin
        self._server = make_server("127.0.0.1", port, standin.wsgi, threaded=True)
        self.port = self._server.server_port
        standin.base_url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.standin.base_url

    def start(self) -> StandInServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """`python -m bull_chalice.stripe_standin PORT WEBHOOK_URL` (the secret from the env)."""
    import os
    import sys

    port, webhook_url = int(sys.argv[1]), sys.argv[2]
    server = StandInServer(StandIn(webhook_url, os.environ["STRIPE_WEBHOOK_SECRET"]), port)
    print(f"stripe stand-in on {server.url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
