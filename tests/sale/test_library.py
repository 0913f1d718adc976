"""The buyer's library: "lost your link?" by e-mail, no enumeration, limits per address and
per client held in DynamoDB, sign-in links for an hour that list the current download links."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from chalicelib import store
from chalicelib.platform.tables import LibraryToken, MailAllowance, Purchase
from chalicelib.sale.library import ASKS_PER_CLIENT, token_key
from chalicelib.web.pages import render
from tests.helpers import (
    SESSION,
    Outage,
    completed,
    deliver,
    fresh_store,
    mailed_token,
    page_message,
    sell,
    sent_emails,
)

BUYER = "buyer@example.test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LIBRARY_LINK = re.compile(r"https://store\.example\.test/library/([A-Za-z0-9_-]{32})")


def ask(client, email: str, headers: dict[str, str] | None = None):
    return client.http.post("/library", body=f"email={email}", headers={**FORM, **(headers or {})})


def library_mails() -> list:
    return [m for m in sent_emails() if "/library/" in m.body and "/download/" not in m.body]


def library_token(index: int = -1) -> str:
    return LIBRARY_LINK.search(library_mails()[index].body).group(1)


def test_the_form_asks_for_one_email_field_and_posts(client):
    page = client.http.get("/library")
    body = page.body.decode()
    assert page.status_code == 200
    assert re.search(r'<form method="post" action="https://store\.example\.test/library">', body)
    assert re.findall(r'<input[^>]*name="(\w+)"', body) == ["email"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in page.headers


def test_no_enumeration_same_status_and_body_for_known_and_unknown_addresses(client, product):
    sell(client, product.id)
    receipts = len(sent_emails())
    known = ask(client, BUYER)
    unknown = ask(client, "stranger@example.test")
    assert (known.status_code, unknown.status_code) == (200, 200)
    assert known.body == unknown.body
    assert known.headers == unknown.headers
    assert known.headers["Cache-Control"] == "no-store"
    # Only the buyer got a mail.
    mails = sent_emails()[receipts:]
    assert [m.destinations["ToAddresses"] for m in mails] == [[BUYER]]


def test_an_unpaid_purchase_gets_no_mail(client, product):
    deliver(client, completed(product.id, payment_status="unpaid"))
    assert ask(client, BUYER).status_code == 200
    assert library_mails() == []


def test_the_mail_has_a_text_and_html_part_with_the_link(client, product):
    sell(client, product.id)
    ask(client, BUYER)
    [mail] = library_mails()
    token = library_token()
    assert f"/library/{token}" in mail.body  # moto keeps the text or HTML body
    assert "an hour" in mail.body
    # The token is stored only as its SHA-256.
    [item] = [i for i in LibraryToken.scan() if i.token_hash.startswith("library#")]
    assert item.token_hash == token_key(token) and token not in repr(item.attribute_values)


def test_a_malformed_address_is_asked_again_with_what_to_fix(client):
    page = ask(client, "not-an-address")
    assert page.status_code == 400
    assert 'value="not-an-address"' in page.body.decode()
    assert library_mails() == []


def test_at_most_three_mails_per_address_an_hour(client, product, clock):
    sell(client, product.id)
    answers = [ask(client, BUYER) for _ in range(4)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    assert len(library_mails()) == 3  # the 4th sent nothing
    clock.advance(timedelta(minutes=61))
    ask(client, BUYER)
    assert len(library_mails()) == 4


def test_the_address_limit_ignores_case(client, product):
    sell(client, product.id)
    for email in (BUYER, BUYER.upper(), "Buyer@Example.test", BUYER):
        ask(client, email)
    assert len(library_mails()) == 3


def test_the_per_client_limit_counts_the_source_ip_not_headers(client, product):
    for n in range(ASKS_PER_CLIENT):
        ask(client, f"nobody{n}@example.test", {"X-Forwarded-For": f"198.51.100.{n}"})
    sell(client, product.id)
    answer = ask(client, BUYER, {"X-Forwarded-For": "198.51.100.200"})
    assert answer.status_code == 200
    assert library_mails() == []  # over the client's limit: answered the same, nothing sent


def test_limits_hold_across_containers_and_per_client(client, product, clock):
    """Counted in DynamoDB: a new store (another Lambda container) sees the same uses."""
    sell(client, product.id)
    base = "https://store.example.test"
    assert store.current().library(base, base).ask(BUYER, "203.0.113.1")
    fresh_store(clock)  # another container
    library = store.current().library(base, base)
    assert library.ask(BUYER, "203.0.113.2")
    assert library.ask(BUYER, "203.0.113.3")
    assert not library.ask(BUYER, "203.0.113.4")  # the address's 4th in the hour
    for n in range(ASKS_PER_CLIENT):
        library.ask(f"nobody{n}@example.test", "203.0.113.9")
    clock.advance(timedelta(minutes=61))
    assert library.ask(BUYER, "203.0.113.5")  # a new hour for the address
    clock.advance(timedelta(minutes=61))
    for n in range(ASKS_PER_CLIENT):
        library.ask(f"again{n}@example.test", "203.0.113.9")
    assert not library.ask(BUYER, "203.0.113.9")  # that client's 11th ask in the hour
    assert library.ask(BUYER, "203.0.113.10")
    allowances = [a for a in MailAllowance.scan() if a.token_hash.startswith("allowance#")]
    assert allowances and all(a.purge_at is not None for a in allowances)
    assert not any(BUYER in a.token_hash or "203.0.113" in a.token_hash for a in allowances)


def test_the_library_lists_paid_purchases_with_their_links(client, product):
    sell(client, product.id)
    sell(client, product.id, session_id="cs_test_other", payment_intent="pi_test_other",
         email="someone@example.test")  # fmt: skip
    ask(client, BUYER)
    page = client.http.get(f"/library/{library_token()}")
    body = page.body.decode()
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in page.headers
    download = mailed_token(0)
    assert body.count('class="purchase"') == 1
    assert f"https://store.example.test/download/{download}" in body
    assert product.name in body and "Ready to download" in body
    assert Purchase.get(SESSION).sale_day in body
    assert f'Order reference <span class="ref">{SESSION}</span>' in body  # as the receipt


def test_opening_the_library_consumes_nothing(client, product):
    sell(client, product.id)
    ask(client, BUYER)
    token = library_token()
    for _ in range(3):
        assert client.http.get(f"/library/{token}").status_code == 200
    landing = client.http.get(f"/download/{mailed_token(0)}").body.decode()
    assert "5 downloads left" in landing


def test_the_library_shows_the_current_link_after_a_resend(client, product, admin):
    sell(client, product.id)
    old = mailed_token(0)
    resent = client.http.post(f"/admin/purchases/{SESSION}/resend", headers=admin)
    assert resent.status_code == 200
    new = mailed_token(1)
    assert new != old
    ask(client, BUYER)
    body = client.http.get(f"/library/{library_token()}").body.decode()
    assert f"/download/{new}" in body and f"/download/{old}" not in body


def test_a_token_after_an_hour_is_gone(client, product, clock):
    sell(client, product.id)
    ask(client, BUYER)
    token = library_token()
    clock.advance(timedelta(minutes=59))
    assert client.http.get(f"/library/{token}").status_code == 200
    clock.advance(timedelta(minutes=2))
    gone = client.http.get(f"/library/{token}")
    assert gone.status_code == 410
    assert "expired" in page_message(gone)
    assert 'href="https://store.example.test/library"' in gone.body.decode()  # ask again
    assert gone.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("token", ["A" * 32, "short", "A" * 43, "%2e%2e", "a" * 31 + "!"], ids=str)
def test_unknown_or_malformed_tokens_are_not_found(client, token):
    assert client.http.get(f"/library/{token}").status_code == 404


def test_a_download_token_does_not_open_a_library(client, paid_token):
    assert client.http.get(f"/library/{paid_token}").status_code == 404


def test_lost_your_link_is_offered_on_gone_pages_thanks_and_the_receipt(client, product, admin):
    sell(client, product.id)
    token = mailed_token(0)
    receipt = sent_emails()[0].body
    assert "https://store.example.test/library" in receipt
    client.http.post(f"/admin/purchases/{SESSION}/revoke", headers=admin)
    gone = client.http.get(f"/download/{token}")
    assert gone.status_code == 410
    assert 'href="https://store.example.test/library"' in gone.body.decode()


def test_the_thanks_page_links_to_the_library(env):
    purchase = SimpleNamespace(product_name="Book", amount_cents=1999, currency="usd")
    for link in (None, "https://store.example.test/download/x"):
        page = render(
            "thanks.html", base="https://store.example.test", paid=True, purchase=purchase,
            link=link, email=BUYER,
        )  # fmt: skip
        assert 'href="https://store.example.test/library"' in page


def test_the_library_shows_downloads_left_and_a_used_up_or_expired_link_as_such(
    client, product, clock
):
    sell(client, product.id)
    sell(client, product.id, session_id="cs_test_second", payment_intent="pi_test_second")
    first, second = mailed_token(0), mailed_token(1)
    for _ in range(5):
        assert client.http.post(f"/download/{first}").status_code == 303
    client.http.post(f"/download/{second}")
    ask(client, BUYER)
    body = client.http.get(f"/library/{library_token()}").body.decode()
    assert "All downloads used" in body and "4 downloads left" in body
    assert f"/download/{first}" in body and f"/download/{second}" in body  # both pages linked
    assert body.count("Go to the download") == 1  # a button only where downloads are left

    clock.advance(timedelta(days=31))
    ask(client, BUYER)
    body = client.http.get(f"/library/{library_token()}").body.decode()
    assert "Link expired" in body and "Go to the download" not in body
    assert "write to" in body  # whom to ask for a new link, not a loop back to the library


def test_an_address_in_another_case_finds_the_purchase(client, product):
    sell(client, product.id, email="  Buyer@Example.TEST ")
    assert Purchase.get(SESSION).email == BUYER  # recorded trimmed, in lower case
    ask(client, "bUYER@example.test")
    assert len(library_mails()) == 1
    assert library_mails()[0].destinations["ToAddresses"] == [BUYER]
    body = client.http.get(f"/library/{library_token()}").body.decode()
    assert f"/download/{mailed_token(0)}" in body


@pytest.mark.parametrize("operation", ["PutItem", "SendEmail"])
def test_a_failure_after_the_lookup_is_answered_like_any_other_ask(
    client, product, monkeypatch, operation
):
    sell(client, product.id)
    unknown = ask(client, "stranger@example.test")
    if operation == "PutItem":
        # the third write: after the client's and the address's counts, the sign-in token
        Outage(monkeypatch, "PutItem", nth=3, code="InternalServerError")
    else:
        monkeypatch.setattr(store.current().mailer, "send_library", _ses_down)
    known = ask(client, BUYER)
    assert (known.status_code, known.body) == (unknown.status_code, unknown.body)
    assert library_mails() == []


def _ses_down(mail):
    from chalicelib.errors import Unavailable

    raise Unavailable("SES is down")


def test_known_and_unknown_addresses_cost_the_same_writes_before_the_mail(client, product):
    def allowances():
        return {a.token_hash for a in MailAllowance.scan() if a.token_hash.startswith("allow")}

    sell(client, product.id)
    ask(client, "stranger@example.test")
    unknown = allowances()
    ask(client, BUYER)
    known = allowances() - unknown
    # each ask counts its address (the client's count is one item, shared)
    assert len(unknown) == 2 and len(known) == 1
    assert sorted(k.split("#")[1] for k in unknown) == ["address", "client"]


def test_the_client_allowance_is_keyed_with_the_stores_secret_not_a_bare_hash(client):
    import hashlib

    ask(client, "stranger@example.test")
    (item,) = [a for a in MailAllowance.scan() if a.token_hash.startswith("allowance#client#")]
    ip = "127.0.0.1"  # chalice.test.Client's source IP
    assert hashlib.sha256(ip.encode()).hexdigest() not in item.token_hash
    keyed = store.current().limiter.client_key(ip)
    assert item.token_hash.endswith(hashlib.sha256(keyed.encode()).hexdigest())


def test_every_ask_takes_the_same_floor_whether_a_mail_went_out_or_not(client, product):
    from chalicelib.sale.library import ANSWER_FLOOR, Library

    sell(client, product.id)
    base, shop = "https://store.example.test", store.current()
    now, waits = [100.0], []

    class SlowSes:  # SES takes 80 ms to accept the mail
        def send_library(self, mail):
            now[0] += 0.08
            shop.mailer.send_library(mail)

    library = Library(
        purchases=shop.purchases, links=shop.links, mail_links=shop.link_policy(base),
        page_links=shop.link_policy(base), mailer=SlowSes(), tokens=shop.tables.library_tokens,
        allowances=shop.tables.allowances, client_key=shop.limiter.client_key,
        clock=shop.clock, pause=waits.append, timer=lambda: now[0],
    )  # fmt: skip
    assert library.ask(BUYER, "203.0.113.50") is True
    assert library.ask("stranger@example.test", "203.0.113.50") is False
    # Each ask ends ANSWER_FLOOR after it began, mail or not.
    assert waits == [pytest.approx(ANSWER_FLOOR - 0.08), pytest.approx(ANSWER_FLOOR)]


def test_an_address_erased_while_the_index_lags_gets_no_sign_in_link(client, product, monkeypatch):
    from chalicelib.sale.purchases import Purchases

    sell(client, product.id)
    stale = Purchase.get(SESSION)  # as the email index may still show it after the erase
    store.current().privacy.erase(BUYER)
    monkeypatch.setattr(Purchases, "by_buyer", lambda self, email, limit=None: [stale])
    ask(client, BUYER)
    assert library_mails() == []
    assert not [t for t in LibraryToken.scan() if t.token_hash.startswith("library#")]
