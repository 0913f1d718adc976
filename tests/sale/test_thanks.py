"""The thank-you page after Stripe sends the buyer back: it fulfils once, shows the mailed link
for a while, promises an email while the payment clears, and is a 404 for a session it does
not know."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest

from chalicelib import store
from chalicelib.platform.tables import Purchase, UnknownSession
from tests.helpers import (
    buy,
    fresh_store,
    from_ip,
    page_message,
    requests_per_thread,
    sent_emails,
)

PROBER, BUYER_IP = "203.0.113.66", "198.51.100.5"


def _pay(standin, session_id, email="buyer@example.test"):
    session = standin.sessions[session_id]
    session.update(
        payment_status="paid",
        status="complete",
        payment_intent="pi_test_thanks",
        customer_details={"email": email},
    )


def test_thanks_after_payment_fulfils_once_and_shows_the_mailed_link(shop, client, product):
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)

    first = client.http.get(f"/thanks?session_id={session_id}")
    second = client.http.get(f"/thanks?session_id={session_id}")

    assert first.status_code == second.status_code == 200
    link = re.search(
        r'href="(https://store\.example\.test/download/[\w-]{43})"', first.body.decode()
    )
    assert link and link.group(1) in second.body.decode()
    assert len(sent_emails()) == 1 and link.group(1) in sent_emails()[0].body
    assert Purchase.get(session_id).status == "paid"


def test_thanks_stops_showing_the_link_an_hour_after_payment(shop, client, product, clock):
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    assert "/download/" in client.http.get(f"/thanks?session_id={session_id}").body.decode()
    clock.advance(timedelta(hours=1, minutes=1))
    page = client.http.get(f"/thanks?session_id={session_id}")
    assert page.status_code == 200
    assert "/download/" not in page.body.decode() and "in the email" in page.body.decode()


def test_thanks_never_shows_a_link_made_by_a_resend(shop, client, product):
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    client.http.get(f"/thanks?session_id={session_id}")
    store.current().after_sale().resend(session_id)
    page = client.http.get(f"/thanks?session_id={session_id}").body.decode()
    assert "/download/" not in page
    assert len(sent_emails()) == 2


def test_thanks_shows_the_link_to_a_paid_buyer_even_while_ses_is_down(
    shop, client, product, monkeypatch
):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.platform import aws

    def down(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    monkeypatch.setattr(aws.ses_client(), "send_email", down)
    page = client.http.get(f"/thanks?session_id={session_id}")
    assert page.status_code == 200
    assert re.search(r"/download/[\w-]{43}", page.body.decode())
    assert sent_emails() == []
    assert Purchase.get(session_id).status == "paid"


def test_thanks_while_payment_is_pending_promises_an_email(shop, client, product):
    buy(client, product.id, "email=wait%40example.test")
    session_id = next(iter(shop.sessions))
    page = client.http.get(f"/thanks?session_id={session_id}")
    assert page.status_code == 200
    assert "not cleared yet" in page.body.decode() and "/download/" not in page.body.decode()
    assert sent_emails() == []


@pytest.mark.parametrize(
    "query",
    ["", "?session_id=", "?session_id=cs_test_unknown", "?session_id=evil<script>x</script>"],
    ids=["none", "empty", "unknown", "markup"],
)
def test_thanks_for_a_missing_or_unknown_session_is_404(shop, client, product, query):
    response = client.http.get(f"/thanks{query}")
    assert response.status_code == 404
    assert page_message(response) == "We could not find that checkout."
    # The page repeats nothing of what was asked, escaped or not.
    assert "evil" not in response.body.decode() and "cs_test_unknown" not in response.body.decode()


class StripeLookups:
    """Counts the store's Checkout Session lookups at Stripe."""

    def __init__(self, monkeypatch):
        from chalicelib.payments.checkout import Checkout

        self.calls = []
        real = Checkout.retrieve_session

        def counted(checkout, session_id):
            self.calls.append(session_id)
            return real(checkout, session_id)

        monkeypatch.setattr(Checkout, "retrieve_session", counted)


def test_300_random_session_ids_make_at_most_a_handful_of_stripe_calls(shop, monkeypatch, clock):
    from concurrent.futures import ThreadPoolExecutor

    clock.freeze_at_window_start()  # one ten-minute window, however long the flood takes
    lookups = StripeLookups(monkeypatch)
    requests_per_thread(monkeypatch)

    def thanks(_):
        return from_ip(PROBER, "GET", f"/thanks?session_id=cs_test_{secrets.token_hex(16)}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(thanks, range(300)))

    assert len(lookups.calls) <= 10  # RATE_LIMIT_THANKS_UNKNOWN a client per 10 minutes
    assert {a["statusCode"] for a in answers} == {404, 429}
    assert all(a["headers"]["Retry-After"] for a in answers if a["statusCode"] == 429)


def test_an_unknown_session_asked_again_makes_no_stripe_call_even_in_another_container(
    shop, monkeypatch, clock
):
    lookups = StripeLookups(monkeypatch)
    for _ in range(3):
        assert from_ip(PROBER, "GET", "/thanks?session_id=cs_test_nosuch")["statusCode"] == 404
    fresh_store(clock)  # another Lambda container: remembered in DynamoDB
    assert from_ip(BUYER_IP, "GET", "/thanks?session_id=cs_test_nosuch")["statusCode"] == 404
    assert lookups.calls == ["cs_test_nosuch"]
    (marker,) = [u for u in UnknownSession.scan() if u.token_hash.startswith("unknown#")]
    assert "cs_test_nosuch" not in marker.token_hash
    assert timedelta(minutes=9) < marker.purge_at - clock() <= timedelta(minutes=10)
    clock.advance(timedelta(minutes=11))  # forgotten: Stripe is asked again
    fresh_store(clock)
    from_ip(PROBER, "GET", "/thanks?session_id=cs_test_nosuch")
    assert lookups.calls == ["cs_test_nosuch"] * 2


@pytest.mark.parametrize(
    "session_id",
    ["cs_", "cs_test_a-b", "cs_test_a%0A", "pi_test_123", "cs_test_" + "a" * 300, "CS_TEST_A"],
)
def test_a_malformed_session_id_is_404_without_asking_stripe(shop, monkeypatch, session_id):
    lookups = StripeLookups(monkeypatch)
    answer = from_ip(PROBER, "GET", f"/thanks?session_id={session_id}")
    assert answer["statusCode"] == 404
    assert lookups.calls == []


def test_a_buyer_reloading_thanks_does_not_use_up_the_lookups_that_find_nothing(
    shop, client, product
):
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    answers = [from_ip(BUYER_IP, "GET", f"/thanks?session_id={session_id}") for _ in range(15)]
    assert {a["statusCode"] for a in answers} == {200}
    assert from_ip(BUYER_IP, "GET", "/thanks?session_id=cs_test_typo")["statusCode"] == 404


def test_thanks_for_a_purchase_already_recorded_asks_stripe_nothing(
    shop, client, product, monkeypatch
):
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    lookups = StripeLookups(monkeypatch)
    first = client.http.get(f"/thanks?session_id={session_id}")  # fulfils: one lookup
    reloads = [client.http.get(f"/thanks?session_id={session_id}") for _ in range(5)]

    assert lookups.calls == [session_id]
    assert {r.status_code for r in [first, *reloads]} == {200}
    assert all("/download/" in r.body.decode() for r in reloads)
    assert len(sent_emails()) == 1


def test_thanks_sends_the_receipt_a_recorded_purchase_still_owes(shop, client, product):
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    _pay(shop, session_id)
    client.http.get(f"/thanks?session_id={session_id}")
    purchase = Purchase.get(session_id)
    # As if SES had failed after the commit and the claim was released.
    purchase.update(
        actions=[Purchase.receipt_sent_at.remove(), Purchase.receipt_claimed_at.remove()]
    )
    sent_before = len(sent_emails())

    page = client.http.get(f"/thanks?session_id={session_id}")

    assert page.status_code == 200
    assert len(sent_emails()) == sent_before + 1
    assert Purchase.get(session_id).receipt_sent_at is not None
