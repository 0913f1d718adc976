"""Every buyer page sends a Content-Security-Policy: no script runs, and its forms may go only
to the store and where the store redirects them (Stripe Checkout, the bucket's downloads)."""

from __future__ import annotations

import pytest


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.parametrize("path", ["/", "/download/" + "A" * 43, "/thanks?session_id=not-a-session"])
def test_buyer_pages_run_no_script_and_post_only_where_the_store_sends_buyers(
    client, product, path
):
    response = client.http.get(path)
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy  # falls back to default-src 'none'
    assert policy["frame-ancestors"] == ["'none'"]
    form_targets = policy["form-action"]
    assert form_targets[0] == "'self'"
    assert "https://checkout.stripe.com" in form_targets
    assert any(target.endswith(".amazonaws.com") for target in form_targets)


@pytest.mark.parametrize("path", ["/nope", "/favicon.ico", "/index.html"])
def test_an_unknown_page_is_a_404_page_that_leads_back_to_the_store(client, aws, path):
    response = client.http.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    body = response.body.decode()
    assert "There is no page at this address." in body
    assert 'href="https://store.example.test/">Back to the store' in body
