"""Privacy requests (issue 14): a buyer's data export lists everything the store holds about
their address; erasing it leaves no trace of the address in any table while the seller's books
(reports, orders, amounts, refunds, disputes) stay as they were."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib import store
from chalicelib.errors import Conflict, Unavailable
from chalicelib.platform.tables import DownloadLink, Purchase
from chalicelib.sale.download_ip import ip_key, ip_mark
from chalicelib.sale.download_log import download_log
from chalicelib.sale.license_keys import derive_key
from chalicelib.sale.privacy import Privacy
from tests.helpers import (
    REGION,
    TEST_ENV,
    Outage,
    charge,
    deliver,
    dispute,
    mailed_token,
    sell,
    send_json,
    stripe_event,
)

BUYER = "Buyer@Example.test"  # as Stripe sent it; the buyer writes to support in any case
RECORDED = BUYER.lower()  # purchases record an address trimmed and in lower case
OTHER = "other@example.test"
IP = "203.0.113.77"
AGENT = "Mozilla/5.0 (Buyer's Phone)"
OTHER_IP, OTHER_AGENT = "198.51.100.5", "Mozilla/5.0 (Other's Laptop)"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _digests(address: str) -> set[str]:
    forms = {address, address.lower(), address.upper()}
    return {hashlib.sha256(f.encode()).hexdigest() for f in forms}


def everything_stored() -> str:
    """Every item of every table in moto, as one JSON text."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = []
    for name in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            items += page["Items"]
    return json.dumps(items, sort_keys=True)


def assert_no_trace(address: str) -> None:
    stored = everything_stored()
    assert address.lower() not in stored.lower()
    assert not any(digest in stored for digest in _digests(address))
    assert ip_mark(ip_key(TEST_ENV["LINK_SIGNING_KEY"]), IP) not in stored
    assert AGENT not in stored


def privacy():
    return store.current().privacy


@pytest.fixture
def today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture
def history(client, product, admin):
    """Two purchases of BUYER (one refunded in full, one disputed and lost, its link resent),
    downloads logged with IP and user agent, a library mail asked; OTHER bought too."""
    sell(client, product.id, session_id="cs_b1", payment_intent="pi_b1", email=BUYER)
    sell(client, product.id, session_id="cs_b2", payment_intent="pi_b2", email=BUYER)
    sell(client, product.id, session_id="cs_o1", payment_intent="pi_o1", email=OTHER)
    first, second, others = mailed_token(0), mailed_token(1), mailed_token(2)
    for token, ip, agent in (
        (first, IP, AGENT),
        (second, IP, AGENT),
        (others, OTHER_IP, OTHER_AGENT),
    ):
        assert (
            client.http.post(f"/download/{token}", headers={"User-Agent": agent}).status_code == 303
        )
        store.current().links.take(token, ip=ip, user_agent=agent)
    # The seller resends the second link: the old one (with its log) is kept, replaced.
    assert client.http.post("/admin/purchases/cs_b2/resend", headers=admin).status_code == 200
    refunded = charge(1999, intent="pi_b1")
    assert deliver(client, stripe_event("charge.refunded", refunded)).status_code == 200
    for kind, status in (("created", "needs_response"), ("closed", "lost")):
        event = stripe_event(f"charge.dispute.{kind}", dispute(status, intent="pi_b2"))
        assert deliver(client, event).status_code == 200
    asked = client.http.post("/library", body=f"email={BUYER}", headers=FORM)
    assert asked.status_code == 200
    return {"others": others}


def test_the_export_lists_purchases_links_downloads_and_library_mails(history, product):
    data = privacy().export(" buyer@EXAMPLE.test ")
    json.dumps(data)  # JSON-ready
    assert data["found"] is True and data["email"] == "buyer@example.test"
    first, second = data["purchases"]
    assert [first["order_id"], second["order_id"]] == ["cs_b1", "cs_b2"]
    assert first["product_name"] == product.name and first["email"] == RECORDED
    assert (first["amount_cents"], first["currency"], first["status"]) == (1999, "usd", "paid")
    assert first["refunded_cents"] == 1999 and first["download_state"] == "refunded"
    assert second["disputed_cents"] == 1999
    assert [(d["dispute_id"], d["status"]) for d in second["disputes"]] == [("dp_1", "lost")]
    assert first["receipt"]["sent_at"] and not first["receipt"]["refused"]
    assert first["created_at"] and first["sale_day"]
    # The resent purchase shows its replaced link too, with the downloads it logged.
    assert [(link["current"], link["state"]) for link in second["links"]] == [
        (False, "replaced"),
        (True, "revoked"),
    ]
    [link] = first["links"]
    assert link["downloads_left"] == 3 and link["expires_at"]
    assert {d["user_agent"] for d in link["downloads"]} == {AGENT}
    mark = ip_mark(ip_key(TEST_ENV["LINK_SIGNING_KEY"]), IP)
    assert mark in {d["ip_hash"] for d in link["downloads"]}
    # Sign-in links by count and expiry only: the store holds no raw token to show.
    assert data["library_sign_in_links"]["live"] == 1
    assert len(data["library_mails"]["sent_at"]) == 1
    assert "cs_o1" not in json.dumps(data) and OTHER not in json.dumps(data)


def test_erase_leaves_no_trace_of_the_address_and_keeps_the_books(history, client, admin, today):
    report = client.http.get(f"/reports?from={today}&to={today}", headers=admin).body
    orders = json.loads(
        client.http.get(f"/admin/orders?from={today}&to={today}", headers=admin).body
    )
    other_before = privacy().export(OTHER)

    done = privacy().erase("BUYER@example.TEST")

    assert done.found and (done.purchases, done.sign_in_links, done.allowances) == (2, 1, 1)
    assert done.links == 3 and done.downloads == 6  # two links of cs_b2: the old and the new
    assert_no_trace(BUYER)
    assert client.http.get(f"/reports?from={today}&to={today}", headers=admin).body == report
    after = json.loads(
        client.http.get(f"/admin/orders?from={today}&to={today}", headers=admin).body
    )
    blanked = [{**o, "email": ""} if o["email"] == RECORDED else o for o in orders["orders"]]
    assert after["orders"] == blanked
    assert {o["order_id"]: o["email"] for o in after["orders"]}["cs_b1"] == ""
    # The seller's books on the purchases themselves are kept.
    kept = Purchase.get("cs_b2")
    assert (kept.amount_cents, kept.disputed_cents, kept.status) == (1999, 1999, "paid")
    assert kept.disputes[0].status == "lost" and Purchase.get("cs_b1").refunded_cents == 1999
    # The downloads are still counted and timed, without the device.
    entries = download_log(DownloadLink.get(Purchase.get("cs_b1").token_hash))
    assert len(entries) == 2 and all(e.at and not e.ip_hash and not e.user_agent for e in entries)
    # The other buyer is untouched.
    other_after = privacy().export(OTHER)
    assert {**other_after, "exported_at": ""} == {**other_before, "exported_at": ""}
    assert other_after["purchases"][0]["links"][0]["downloads"][0]["user_agent"] == OTHER_AGENT


def test_erase_twice_is_fine_and_the_second_finds_nothing(history):
    assert privacy().erase(BUYER).found
    again = privacy().erase(BUYER)
    assert not again.found and again.as_dict()["purchases"] == 0
    assert_no_trace(BUYER)
    assert privacy().export(BUYER)["found"] is False


def test_an_address_with_nothing_stored_says_so(aws, clock):
    now = clock.freeze()
    assert privacy().export("nobody@example.test") == {
        "email": "nobody@example.test",
        "exported_at": now.isoformat(),
        "found": False,
        "purchases": [],
        "library_sign_in_links": {"live": 0, "expire_at": []},
        "library_mails": {"sent_at": []},
    }
    assert not privacy().erase("nobody@example.test").found


@pytest.mark.parametrize(
    "operation, nth", [("UpdateItem", 2), ("UpdateItem", 4), ("DeleteItem", 2)]
)
def test_a_failure_midway_then_a_rerun_finishes(
    history, client, admin, today, monkeypatch, operation, nth
):
    report = client.http.get(f"/reports?from={today}&to={today}", headers=admin).body
    Outage(monkeypatch, operation, nth=nth)
    with pytest.raises(Unavailable):
        privacy().erase(BUYER)
    assert BUYER.lower() in everything_stored().lower()  # left for the rerun to find
    done = privacy().erase(BUYER)
    assert done.found
    assert_no_trace(BUYER)
    assert client.http.get(f"/reports?from={today}&to={today}", headers=admin).body == report


def test_a_download_taken_during_the_scrub_is_scrubbed_too(history, monkeypatch):
    """The scrub is conditional on the link's count: a download in between makes it read
    the link again rather than drop the new entry."""
    link = DownloadLink.get(Purchase.get("cs_b1").token_hash)
    real = DownloadLink.update
    raced = []

    def racing(self, *args, **kwargs):
        if not raced and self.token_hash == link.token_hash:
            raced.append(True)
            real(self.__class__(self.token_hash), actions=[
                DownloadLink.downloads_left.add(-1),
                DownloadLink.log.add({json.dumps({"at": datetime.now(UTC).isoformat(),
                                                  "ip_hash": "feedface", "user_agent": AGENT,
                                                  "id": "race"})}),
            ])  # fmt: skip
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DownloadLink, "update", racing)
    privacy().erase(BUYER)
    entries = download_log(DownloadLink.get(link.token_hash))
    assert len(entries) == 3 and not any(e.ip_hash or e.user_agent for e in entries)


def test_live_sign_in_links_count_only_until_they_expire(history, clock):
    clock.advance(timedelta(minutes=61))
    assert privacy().export(BUYER)["library_sign_in_links"]["live"] == 0
    privacy().erase(BUYER)
    assert_no_trace(BUYER)  # an expired one still held the address: erased too


def test_a_resend_racing_the_erase_leaves_no_unscrubbed_log(client, product, monkeypatch):
    """A resend copies the old link's log into the new link: one that commits while erase
    runs is scrubbed by its last pass, and one that starts later finds no address to mail."""
    sell(client, product.id, session_id="cs_r1", payment_intent="pi_r1", email=BUYER)
    store.current().links.take(mailed_token(0), ip=IP, user_agent=AGENT)
    real, raced = Privacy._find_links, []

    def racing(self, sessions):
        found = real(self, sessions)
        if not raced:  # the resend commits just after erase read the links
            raced.append(store.current().after_sale().resend("cs_r1"))
        return found

    monkeypatch.setattr(Privacy, "_find_links", racing)
    privacy().erase(BUYER)
    assert raced
    links = [link for link in DownloadLink.scan() if link.session_id == "cs_r1"]
    assert len(links) == 2 and all(len(download_log(link)) == 1 for link in links)
    assert_no_trace(BUYER)
    with pytest.raises(Conflict):
        store.current().after_sale().resend("cs_r1")


def test_license_activations_are_exported_and_erase_blanks_their_names(client, product):
    store.current().catalog.update(product.id, {"license_keys": True, "activation_limit": 3})
    sell(client, product.id, session_id="cs_l1", payment_intent="pi_l1", email=BUYER)
    key = derive_key(TEST_ENV["LINK_SIGNING_KEY"], "cs_l1")
    body = {"license_key": key, "instance_name": "Alice's MacBook"}
    made = send_json(client, "POST", "/licenses/activate", {}, body)
    assert made.status_code == 201, made.body
    instance = json.loads(made.body)["instance_id"]

    [purchase] = privacy().export(BUYER)["purchases"]
    license = purchase["license"]
    assert license["status"] == "active" and license["activation_limit"] == 3
    [activation] = license["activations"]
    assert activation["instance_id"] == instance and activation["activated_at"]
    assert activation["instance_name"] == "Alice's MacBook"
    assert key not in json.dumps(purchase)  # only its hash is stored

    assert privacy().erase(BUYER).instance_names == 1
    assert "Alice's MacBook" not in everything_stored()
    assert_no_trace(BUYER)
    # The key still works and still counts its activation, which can be freed.
    check = {"license_key": key, "instance_id": instance}
    valid = json.loads(send_json(client, "POST", "/licenses/validate", {}, check).body)
    assert valid["valid"] is True and valid["activations"] == 1
    freed = send_json(client, "POST", "/licenses/deactivate", {}, check)
    assert freed.status_code == 200


def test_a_library_link_mailed_while_the_erase_runs_is_erased_too(client, product, monkeypatch):
    sell(client, product.id, session_id="cs_race", payment_intent="pi_race", email=BUYER)
    real = Privacy._scrub_links
    asked = []

    def scrub_while_the_buyer_asks(self, sessions, done):
        if not asked:  # the purchases still carry the address: the library finds them
            base = "https://store.example.test"
            asked.append(store.current().library(base, base).ask(BUYER, "198.51.100.9"))
        return real(self, sessions, done)

    monkeypatch.setattr(Privacy, "_scrub_links", scrub_while_the_buyer_asks)
    done = privacy().erase(BUYER)
    assert asked == [True] and done.sign_in_links == 1
    assert_no_trace(BUYER)
