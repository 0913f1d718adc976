"""The base URL: pages, mails and Stripe redirects stay under the URL that served the request.

Requests are REST proxy events as API Gateway sends them (`bull_chalice.gateway.build_event`),
handed to the app the way Lambda does: `app(event, context)`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bull_chalice.rehearse import gateway
from chalicelib.web.base_url import base_path
from tests.helpers import checkout_session, fresh_store, sent_emails, signed_headers, stripe_event

EXECUTE_API = "abc123defg.execute-api.us-east-1.amazonaws.com"
SHAPES = {
    # (stage, base path, domain): how API Gateway's default URL and custom domains serve the store
    "default URL": ("api", "/api", EXECUTE_API, f"https://{EXECUTE_API}/api"),
    "custom domain at the root": ("api", "", "shop.example.com", "https://shop.example.com"),
    "custom domain under /books": ("api", "/books", "shop.example.com", "https://shop.example.com/books"),
}  # fmt: skip


def invoke(
    shape: str, verb: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Send one request through API Gateway's event shape to the app; its proxy result."""
    from app import app

    stage_name, base, domain, _ = SHAPES[shape]
    routes = app.routes.items()
    api = gateway.RestApi({r: {m: gateway.Method(r, m, None) for m in e} for r, e in routes})
    method, params = api.match(path.split("?")[0], verb)
    event = gateway.build_event(
        stage=gateway.Stage(stage_name, base),
        method=method,
        params=params,
        verb=verb,
        resource_path=path.split("?")[0],
        raw_query=path.partition("?")[2],
        headers=[("Host", domain), ("X-Forwarded-Proto", "https"), *(headers or {}).items()],
        body=body,
        source_ip="203.0.113.9",
        domain_name=domain,
        binary=False,
    )
    return app(event, None)


@pytest.fixture
def no_site_url(env, monkeypatch, clock):
    monkeypatch.delenv("SITE_URL")
    fresh_store(clock)


@pytest.mark.parametrize("shape", SHAPES)
def test_storefront_links_and_forms_stay_under_the_base_url(no_site_url, product, shape):
    base = SHAPES[shape][3]
    page = invoke(shape, "GET", "/")["body"]
    assert f'action="{base}/checkout/{product.id}"' in page
    assert f'href="{base}/"' in page
    assert not re.search(r'(href|action|src)="/', page)


@pytest.mark.parametrize("shape", SHAPES)
def test_without_site_url_checkout_returns_the_buyer_under_the_base_url(
    no_site_url, stripe_api, product, shape
):
    answer = invoke(shape, "POST", f"/checkout/{product.id}")
    assert answer["statusCode"] == 303
    [session] = stripe_api.sessions.values()
    base = SHAPES[shape][3]
    assert session["success_url"] == f"{base}/thanks?session_id={{CHECKOUT_SESSION_ID}}"
    assert session["cancel_url"] == f"{base}/"


def test_without_site_url_the_receipt_links_under_the_url_stripe_called(no_site_url, product):
    session = checkout_session(product_id=product.id, email="buyer@example.test")
    payload = stripe_event("checkout.session.completed", session)
    headers = signed_headers(payload)
    answer = invoke("default URL", "POST", "/webhooks/stripe", body=payload, headers=headers)
    assert answer["statusCode"] == 200, answer["body"]
    [mail] = sent_emails()
    assert f"https://{EXECUTE_API}/api/download/" in mail.body


def test_a_forged_host_header_never_reaches_a_mail_or_a_stripe_redirect(
    no_site_url, stripe_api, product
):
    """API Gateway's domain name is what it was called on; the Host a client sends is not."""
    answer = invoke(
        "default URL", "POST", f"/checkout/{product.id}", headers={"Host": "evil.example"}
    )
    assert answer["statusCode"] == 303
    [session] = stripe_api.sessions.values()
    assert session["success_url"].startswith(f"https://{EXECUTE_API}/api/thanks")


def test_site_url_when_set_is_the_base_of_mails_and_redirects(client, stripe_api, product):
    """A seller with a custom domain sets SITE_URL: Stripe sends buyers there."""
    invoke("default URL", "POST", f"/checkout/{product.id}")
    [session] = stripe_api.sessions.values()
    assert session["cancel_url"] == "https://store.example.test/"


def test_error_pages_link_back_to_the_store_under_the_base_url(no_site_url, aws):
    answer = invoke("custom domain under /books", "GET", "/download/" + "A" * 43)
    assert answer["statusCode"] == 404
    assert 'href="https://shop.example.com/books/"' in answer["body"]


def test_chalice_local_serves_at_the_root_of_the_host_it_was_asked_on(client, product):
    page = client.http.get("/", headers={"Host": "127.0.0.1:8123"}).body.decode()
    assert f'action="http://127.0.0.1:8123/checkout/{product.id}"' in page


@pytest.mark.parametrize(
    ("path", "resource", "expected"),
    [
        ("/api/download/abc", "/download/{token}", "/api"),
        ("/api/", "/", "/api"),
        ("/api", "/", "/api"),
        ("/download/abc", "/download/{token}", ""),
        ("/books/admin/purchases/cs_1/refund", "/admin/purchases/{session_id}/{action}", "/books"),
        ("/a/b/products", "/products", "/a/b"),
    ],
)
def test_base_path_is_what_the_request_path_has_in_front_of_the_route(path, resource, expected):
    assert base_path({"path": path, "resourcePath": resource}, resource) == expected


def test_events_carry_every_field_of_aws_documented_rest_proxy_input():
    """The keys of the REST API proxy input in AWS's documentation ("Input format of a Lambda
    function for proxy integration"), top level and request context."""
    documented = {
        "resource", "path", "httpMethod", "headers", "multiValueHeaders",
        "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
        "stageVariables", "requestContext", "body", "isBase64Encoded",
    }  # fmt: skip
    context = {
        "accountId", "apiId", "authorizer", "domainName", "domainPrefix", "extendedRequestId",
        "httpMethod", "identity", "path", "protocol", "requestId", "requestTime",
        "requestTimeEpoch", "resourceId", "resourcePath", "stage",
    }  # fmt: skip
    event = gateway.build_event(
        stage=gateway.Stage(),
        method=gateway.Method("/download/{token}", "GET", None),
        params={"token": "abc"},
        verb="GET",
        resource_path="/download/abc",
        raw_query="a=1&a=2",
        headers=[("Accept", "text/html")],
        body=b"",
        source_ip="203.0.113.9",
        domain_name=EXECUTE_API,
        binary=False,
    )
    assert set(event) == documented
    assert context <= set(event["requestContext"])
    assert (
        event["path"] == "/download/abc" and event["requestContext"]["path"] == "/api/download/abc"
    )
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    json.dumps(event)
