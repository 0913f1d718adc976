"""A small local stand-in for Stripe, for `make run` and the integration tests.

It answers the API calls the store makes (Checkout Session create and retrieve, refunds,
webhook endpoints) the way the real `stripe` library expects, serves each session's `url` as
a pay page with a "Pay" button, and on payment delivers a signed `checkout.session.completed`
to the store's webhook exactly as Stripe would. Refunds deliver a signed `charge.refunded`. It
is a test double, not a Stripe clone: one process, in memory, no validation beyond what the
store relies on. This module is its HTTP side; what it does is `stripe_standin_api.StripeApi`.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bull_chalice.stripe_standin_api import StripeApi, error_response, json_response


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


@dataclass
class StandIn(StripeApi):
    """The stand-in: Stripe's API, the pay page, and `wsgi`, its WSGI entry point."""

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
        self.complete_payment(session, email)
        return Response(status=303, headers={"Location": self._success_url(session)})

    def refund_from_page(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None or not session.get("payment_intent"):
            return Response("<h1>Nothing to refund</h1>", status=404, content_type="text/html")
        answer = self.create_refund({"payment_intent": session["payment_intent"]})
        if answer.status_code != 200:
            return self.pay_page(session_id, "Already refunded.")
        return Response(status=303, headers={"Location": f"/pay/{session_id}"})

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.route(request)
        if request.method != "GET":  # anything but a read may have changed the state
            self.save()
        return response(environ, start_response)

    def route(self, request: Request) -> Response:
        path, method = request.path.rstrip("/"), request.method
        # Stripe's client sends a GET's or DELETE's parameters in the query, the rest in the body.
        query = parse_qsl(request.query_string.decode(), keep_blank_values=True)
        params = _nested(query + parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        if path == "/v1/checkout/sessions" and method == "POST":
            return self.create_session(params)
        if match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path):
            return self.retrieve_session(match.group(1))
        if match := re.fullmatch(r"/v1/webhook_endpoints(?:/([^/]+))?", path):
            return self.webhook_endpoints(method, match.group(1), params)
        if path == "/v1/refunds" and method == "POST":
            return self.create_refund(params)
        if match := re.fullmatch(r"/pay/([^/]+)/refund", path):
            return (
                self.refund_from_page(match.group(1))
                if method == "POST"
                else error_response(405, "")
            )
        if match := re.fullmatch(r"/pay/([^/]+)", path):
            if method == "POST":
                return self.pay(match.group(1), dict(request.form))
            return self.pay_page(match.group(1))
        if path in ("", "/health"):
            return json_response({"ok": True, "sessions": len(self.sessions)})
        return error_response(404, f"Unrecognized request URL ({method}: {path})")


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
    kept = os.environ.get("BULL_STANDIN_STATE")
    standin = StandIn(
        webhook_url, os.environ["STRIPE_WEBHOOK_SECRET"], state_path=Path(kept) if kept else None
    )
    standin.restore()
    server = StandInServer(standin, port)
    print(f"stripe stand-in on {server.url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
