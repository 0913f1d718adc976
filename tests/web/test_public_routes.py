"""Property-based: whatever a client sends to a public route, the store never answers 500,
never writes, and never leaks internals."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.payments.webhooks import HANDLED_EVENTS
from tests.helpers import counts, signed_headers

LEAKS = re.compile(rb"Traceback|botocore|pynamodb|stripe\.|arn:aws|File \"/", re.I)
CASES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
path_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), max_size=60
)
bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data",
        "application/json; charset=utf-8",
    ]
)


def _check(response, before):
    assert response.status_code < 500 or response.status_code in (502, 503), response.status_code
    assert response.status_code != 500
    assert not LEAKS.search(response.body or b""), response.body[:300]
    assert counts() == before


@pytest.fixture
def quiet(client, product, stripe_api):
    """The store with one product, its Stripe stand-in, and a snapshot of every table."""
    return client, counts()


@CASES
@given(token=path_text, method=st.sampled_from(["GET", "POST", "HEAD"]), body=bodies)
def test_download_route_survives_any_token(quiet, token, method, body):
    client, before = quiet
    from urllib.parse import quote

    response = client.http.request(method, f"/download/{quote(token, safe='')}", body=body)
    _check(response, before)
    assert response.status_code in (403, 404, 405, 415)


@CASES
@given(product_id=path_text, body=bodies, content_type=content_types)
def test_checkout_route_survives_any_input(quiet, product_id, body, content_type):
    client, before = quiet
    from urllib.parse import quote

    headers = {"Content-Type": content_type} if content_type else {}
    response = client.http.post(
        f"/checkout/{quote(product_id, safe='')}", body=body, headers=headers
    )
    _check(response, before)


@CASES
@given(
    body=bodies, signature=st.one_of(st.none(), st.text(max_size=120)), content_type=content_types
)
def test_webhook_survives_any_unsigned_body(quiet, body, signature, content_type):
    client, before = quiet
    headers = {"Content-Type": content_type} if content_type else {}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response = client.http.post("/webhooks/stripe", body=body, headers=headers)
    _check(response, before)
    assert response.status_code in (400, 415)


session_fields = st.dictionaries(
    st.sampled_from(["id", "metadata", "amount_total", "payment_intent", "amount_refunded"]),
    st.one_of(st.text(max_size=10), st.integers(), st.none()),
    max_size=5,
)
event_values = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=30),
    st.booleans(),
    st.dictionaries(
        st.just("object"), st.one_of(st.text(max_size=10), st.integers(), session_fields)
    ),
)
handled_types = st.sampled_from(sorted(HANDLED_EVENTS))
typed_events = st.fixed_dictionaries(
    {
        "type": handled_types,
        "created": st.one_of(st.integers(0, 2**31), st.text(max_size=5), st.none()),
        "data": st.fixed_dictionaries({"object": session_fields}),
    }
)
events = st.one_of(
    st.dictionaries(
        st.sampled_from(["id", "type", "created", "data", "object"]), event_values, max_size=5
    ),
    typed_events,
)


@CASES
@given(event=events)
def test_signed_but_odd_events_never_write_or_crash(quiet, event):
    client, before = quiet
    payload = json.dumps(event).encode()
    response = client.http.post("/webhooks/stripe", body=payload, headers=signed_headers(payload))
    _check(response, before)


@CASES
@given(session_id=st.text(max_size=80), extra=st.text(max_size=40))
def test_thanks_survives_any_session_id(quiet, session_id, extra):
    client, before = quiet
    from urllib.parse import urlencode

    response = client.http.get("/thanks?" + urlencode({"session_id": session_id, "x": extra}))
    _check(response, before)
    assert response.status_code in (404, 502)


@CASES
@given(
    path=st.sampled_from(["/", "/products", "/admin"]),
    headers=st.dictionaries(
        st.sampled_from(["Accept", "Accept-Language", "Cookie", "X-Forwarded-For", "Referer"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        max_size=4,
    ),
    query=st.text(max_size=40),
)
def test_read_only_pages_survive_any_headers_and_query(quiet, path, headers, query):
    client, before = quiet
    from urllib.parse import quote

    response = client.http.get(f"{path}?q={quote(query)}", headers=headers)
    _check(response, before)
    assert response.status_code == 200
