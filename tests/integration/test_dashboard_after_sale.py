"""What happened after a sale, as the seller sees it in the dashboard: an early fraud warning
and an open dispute on a purchase, each on its own line of the purchase."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
import stripe

from tests.helpers import stripe_event

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _deliver(stack, event_type: str, obj: dict) -> None:
    body = stripe_event(event_type, obj, created=int(time.time()))
    signature = stripe.WebhookSignature.generate_signature_header(
        body.decode(), stack.webhook_secret
    )
    answer = requests.post(
        f"{stack.api_url}/webhooks/stripe",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def test_a_fraud_warning_and_an_open_dispute_show_on_the_purchase(stack, buyer, browser):
    session_id = buyer.buy(f"warned-{uuid.uuid4().hex[:6]}@example.com")
    session = requests.get(f"{stack.stripe_api_url}/v1/checkout/sessions/{session_id}", timeout=10)
    intent = session.json()["payment_intent"]
    tag = uuid.uuid4().hex[:8]
    _deliver(stack, "radar.early_fraud_warning.created", {
        "id": f"issfr_{tag}", "object": "radar.early_fraud_warning", "actionable": False,
        "charge": f"ch_{tag}", "created": int(time.time()), "livemode": False,
        "fraud_type": "made_with_stolen_card", "payment_intent": intent,
    })  # fmt: skip
    _deliver(stack, "charge.dispute.created", {
        "id": f"dp_{tag}", "object": "dispute", "payment_intent": intent, "charge": f"ch_{tag}",
        "amount": 1999, "status": "needs_response", "reason": "fraudulent",
    })  # fmt: skip

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.api_url}/admin")
    page.fill("#signin-email", stack.admin_email)
    page.fill("#signin-password", stack.admin_password)
    page.click("#signin-button")
    row = page.locator(f'#purchases tr[data-purchase-id="{session_id}"]')
    row.locator("button", has_text="Open").click()
    page.wait_for_selector("#detail-actions")
    detail = page.inner_text("#detail")
    assert "Early fraud warning (made with stolen card)" in detail
    assert f"dp_{tag}: open, $19.99" in detail, detail
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
