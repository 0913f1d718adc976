"""The stand-in's HTTP side: its routes (Stripe's API and the pay page), `StandInServer`,
and `main`, what `python -m bull_chalice.stripe_standin PORT WEBHOOK_URL` runs."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bull_chalice.standin.checks import error_response, json_response
from bull_chalice.standin.pay_page import PayPages


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
class StandIn(PayPages):
    """The stand-in: Stripe's API, the pay page, and `wsgi`, its WSGI entry point."""

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
        if match := re.fullmatch(r"/pay/([^/]+)/promotion", path):
            if method != "POST":
                return error_response(405, "")
            return self.apply_code(match.group(1), dict(request.form))
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
