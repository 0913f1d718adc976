"""The buyer's whole path over real HTTP against the local stack."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bull_chalice.demo import demo_file
from tests.integration.conftest import receipts_to

pytestmark = pytest.mark.integration


def _email() -> str:
    return f"buyer-{uuid.uuid4().hex[:8]}@example.com"


def test_buying_the_demo_product_mails_a_link_that_downloads_the_file_five_times(stack, buyer):
    email = _email()
    buyer.buy(email)
    receipt = buyer.receipt_for(email)
    assert "The Bull Demo Guide" in receipt["subject"]
    link = receipt["link"]
    assert link.startswith(f"{stack.api_url}/download/")

    landing = requests.get(link, timeout=10)
    assert landing.status_code == 200 and "5 downloads left" in landing.text

    for left in range(4, -1, -1):
        take = requests.post(link, allow_redirects=False, timeout=10)
        assert take.status_code == 303
        file = requests.get(take.headers["Location"], timeout=10)
        assert file.status_code == 200
        assert file.content == demo_file()
        assert file.headers["Content-Disposition"] == 'attachment; filename="bull-demo-guide.pdf"'
        if left:
            assert f"{left} download" in requests.get(link, timeout=10).text

    gone = requests.post(link, allow_redirects=False, timeout=10)
    assert gone.status_code == 410
    assert "all of its downloads" in gone.text and stack.sender_email in gone.text
    assert len(receipts_to(stack, email)) == 1


def test_receipt_shows_the_amount_paid_from_the_product_record(stack, buyer):
    email = _email()
    answer = buyer.checkout(stack.demo_product_id, email=email, price_cents="1", amount="0.01")
    session_id = re.search(r"/pay/(cs_\w+)", answer.headers["Location"]).group(1)
    session = requests.get(f"{stack.stripe_api_url}/v1/checkout/sessions/{session_id}", timeout=10)
    assert session.json()["amount_total"] == 1999
    assert session.json()["metadata"] == {
        "product_id": stack.demo_product_id,
        "store": "bull-local",
    }
    requests.post(answer.headers["Location"], allow_redirects=False, timeout=60)
    mails = requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=10).json()
    body = next(
        m["body"] for m in mails["ses"]["Message"] if email in m["destinations"]["ToAddresses"]
    )
    assert "$19.99" in body


def test_thanks_page_shows_the_same_link_as_the_email(stack, buyer):
    email = _email()
    session_id = buyer.buy(email)
    page = requests.get(f"{stack.api_url}/thanks", params={"session_id": session_id}, timeout=30)
    assert page.status_code == 200
    assert buyer.receipt_for(email)["link"] in page.text
    assert len(receipts_to(stack, email)) == 1


def test_thanks_for_an_unknown_session_is_404(stack):
    page = requests.get(
        f"{stack.api_url}/thanks", params={"session_id": "cs_test_nope"}, timeout=30
    )
    assert page.status_code == 404
    assert "Traceback" not in page.text


def test_twenty_concurrent_downloads_with_five_left_give_exactly_five(stack, buyer):
    email = _email()
    buyer.buy(email)
    link = buyer.receipt_for(email)["link"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(
            pool.map(
                lambda _: requests.post(link, allow_redirects=False, timeout=30).status_code,
                range(20),
            )
        )
    assert sorted(codes) == [303] * 5 + [410] * 15


def test_refund_on_the_stand_in_is_delivered_as_a_signed_charge_refunded(stack, buyer):
    session_id = buyer.buy(_email())
    intent = requests.get(f"{stack.stripe_api_url}/v1/checkout/sessions/{session_id}", timeout=10)
    refund = requests.post(
        f"{stack.stripe_api_url}/v1/refunds",
        data={"payment_intent": intent.json()["payment_intent"]},
        timeout=60,
    )
    assert refund.status_code == 200 and refund.json()["amount"] == 1999
    again = requests.post(
        f"{stack.stripe_api_url}/v1/refunds",
        data={"payment_intent": intent.json()["payment_intent"]},
        timeout=60,
    )
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/download/" + "A" * 43, {}),
        ("POST", "/download/" + "A" * 43, {}),
        ("POST", "/checkout/prod_doesnotexist01", {}),
        ("POST", "/checkout/..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", "/download/%00%00", {}),
        ("GET", "/download/%E2%98%83%E2%98%83", {}),
        ("POST", "/webhooks/stripe", {"data": b"\xff\xfe", "headers": {"Stripe-Signature": "x"}}),
        ("POST", "/webhooks/stripe", {"json": {"type": "checkout.session.completed"}}),
    ],
)
def test_bad_requests_get_a_clear_4xx_never_a_500(stack, method, path, kwargs):
    answer = requests.request(
        method, stack.api_url + path, allow_redirects=False, timeout=30, **kwargs
    )
    assert 400 <= answer.status_code < 500
    assert "Traceback" not in answer.text and "botocore" not in answer.text


def test_checkout_with_a_non_json_body_labelled_json_is_400(stack):
    answer = requests.post(
        f"{stack.api_url}/checkout/{stack.demo_product_id}",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 400


def test_checkout_with_a_huge_body_is_refused(stack):
    answer = requests.post(
        f"{stack.api_url}/checkout/{stack.demo_product_id}",
        data={"email": "a" * 200_000 + "@example.com"},
        allow_redirects=False,
        timeout=30,
    )
    assert 400 <= answer.status_code < 500


def test_bare_post_without_a_body_still_starts_checkout(stack):
    answer = requests.post(
        f"{stack.api_url}/checkout/{stack.demo_product_id}", allow_redirects=False, timeout=30
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(f"{stack.stripe_api_url}/pay/cs_")


CONTRACT_KEYS = {
    "api_url",
    "moto_url",
    "stripe_api_url",
    "region",
    "user_pool_id",
    "user_pool_client_id",
    "admin_email",
    "admin_password",
    "webhook_secret",
    "demo_product_id",
    "sender_email",
}


def test_local_json_has_the_contract_keys_and_urls_without_trailing_slash(local_stack):
    state = json.loads(local_stack.state_file.read_text())
    assert set(state) == CONTRACT_KEYS
    assert all(not state[k].endswith("/") for k in ("api_url", "moto_url", "stripe_api_url"))
    products = requests.get(f"{state['api_url']}/products", timeout=10).json()["products"]
    assert state["demo_product_id"] in [p["id"] for p in products]
