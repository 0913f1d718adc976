"""Every answer the store gives, on every route, carries the contract's security headers: a
Content-Security-Policy, `nosniff` and no referrer; and JSON, redirects and errors (which may
carry a token or a buyer's data) are never cached. The routes are walked from `app.routes`, so
a new route is checked without anyone adding it here."""

from __future__ import annotations

import json
import re

import pytest

from app import app
from chalicelib import store

ROUTES = [(path, method) for path, methods in app.routes.items() for method in methods]


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "unknown-id"), path)


def _ask(client, path: str, method: str, headers: dict[str, str] | None = None):
    body = json.dumps({}).encode() if method in ("POST", "PATCH") else b""
    sent = {"Content-Type": "application/json", **(headers or {})} if body else headers or {}
    return client.http.request(method, path, headers=sent, body=body)


def _assert_protected(answer, what: str) -> None:
    headers = {k.lower(): v for k, v in answer.headers.items()}
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "no-referrer", what
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, what
    is_page = headers.get("content-type", "").startswith("text/html")
    if not is_page:
        assert policy.startswith("default-src 'none'"), what
    kind = headers.get("content-type", "")
    if "json" in kind or "csv" in kind or answer.status_code >= 300:  # a token, a buyer's data
        assert headers.get("cache-control") == "no-store", what


@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_every_route_sends_the_security_headers_to_a_stranger_with_made_up_ids(
    client, product, path, method
):
    answer = _ask(client, _url(path, {}), method)
    _assert_protected(answer, f"{method} {path} -> {answer.status_code}")


@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_every_route_sends_the_security_headers_to_the_buyer_and_the_admin_with_real_ids(
    client, admin, paid_token, product, path, method
):
    values = {
        "product_id": product.id,
        "session_id": "cs_test_a1",
        "action": "reset",
        "token": paid_token,
        "page": "about",
    }
    url = _url(path, values)
    if path in ("/reports", "/admin/orders"):
        url += "?from=2026-01-01&to=2026-01-31"
    answer = _ask(client, url, method, admin)
    _assert_protected(answer, f"{method} {path} -> {answer.status_code}")


def test_json_that_carries_buyer_data_is_never_cached(client, admin, paid_token):
    answer = client.http.get("/admin/purchases/cs_test_a1", headers=admin)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_chalices_own_refusals_carry_the_headers(client):
    wrong_method = client.http.request("DELETE", "/products")
    wrong_type = client.http.post(
        "/webhooks/stripe", headers={"Content-Type": "image/png"}, body=b"x"
    )
    assert (wrong_method.status_code, wrong_type.status_code) == (405, 415)
    _assert_protected(wrong_method, "405")
    _assert_protected(wrong_type, "415")


@pytest.mark.parametrize("path", ["/products", "/"])
def test_an_unexpected_failure_still_answers_with_the_headers(client, monkeypatch, path):
    def broken() -> None:
        raise RuntimeError("the store's parts could not be built")

    monkeypatch.setattr(store, "current", broken)
    answer = client.http.get(path)
    assert answer.status_code == 500
    _assert_protected(answer, path)


def test_the_dashboard_keeps_its_own_nonce_policy(client):
    answer = client.http.get("/admin")
    assert "script-src 'nonce-" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
