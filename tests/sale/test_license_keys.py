"""License keys: 150 secret bits in six groups of Crockford base32, recomputed wherever they
are shown (receipt, download page, thank-you page, library) and stored only as a SHA-256."""

from __future__ import annotations

import json
import re

import boto3

from chalicelib import store
from chalicelib.platform import config
from chalicelib.platform.tables import DownloadLink, License, Purchase
from chalicelib.sale.license_keys import (
    ALPHABET,
    KEY_BITS,
    canonical,
    derive_key,
    item_key,
    key_hash,
)
from tests.helpers import REGION, SESSION, buy, mailed_token, sell, sent_emails

KEY = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){5}\b")
SECRET = "link-key-for-tests-only-" + "k" * 16


def licensed(product, limit: int = 3):
    return store.current().catalog.update(
        product.id, {"license_keys": True, "activation_limit": limit}
    )


def mailed_key(index: int = 0) -> str:
    return KEY.search(sent_emails()[index].body).group(0)


def test_a_key_is_six_groups_of_five_from_crockfords_alphabet_with_at_least_128_bits():
    key = derive_key(SECRET, SESSION)
    groups = key.split("-")
    assert [len(g) for g in groups] == [5] * 6
    assert set("".join(groups)) <= set(ALPHABET)
    assert not set("ILOU") & set(key)
    assert KEY_BITS >= 128 and len(ALPHABET) ** 30 == 2**KEY_BITS


def test_a_key_is_the_same_each_time_and_differs_per_purchase_and_per_store():
    assert derive_key(SECRET, SESSION) == derive_key(SECRET, SESSION)
    keys = {derive_key(SECRET, f"cs_test_{n}") for n in range(2000)}
    assert len(keys) == 2000
    assert derive_key("another-store-key", SESSION) != derive_key(SECRET, SESSION)
    # Every character position varies: the bits are spread over the whole key.
    for position in range(35):
        if position % 6 != 5:
            assert len({k[position] for k in keys}) > 20


def test_a_key_typed_in_any_case_with_spaces_or_without_dashes_reads_as_the_same_key():
    key = derive_key(SECRET, SESSION)
    for typed in (
        key.lower(),
        key.replace("-", ""),
        " ".join(key.split("-")),
        f"  {key}\n",
        key.replace("0", "O").replace("1", "I"),
        key.replace("1", "l"),
    ):
        assert canonical(typed) == key, typed
    for junk in ("", "abc", key + "A", key[:-1], key.replace(key[0], "U", 1), None, 42, "x" * 500):
        assert canonical(junk) is None


def test_a_licensed_sale_keeps_only_the_keys_hash_in_every_table(client, product):
    licensed(product, limit=4)
    sell(client, product.id)
    key = mailed_key()

    assert key == derive_key(SECRET, SESSION)
    assert Purchase.get(SESSION).license_hash == key_hash(key)
    item = License.get(item_key(key))
    assert (item.session_id, item.product_id) == (SESSION, product.id)
    assert (item.activation_limit, item.activation_count) == (4, 0)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    settings = config.get_settings()
    for table in (
        settings.products_table,
        settings.purchases_table,
        settings.links_table,
        settings.sales_table,
    ):
        held = json.dumps(dynamodb.scan(TableName=table)["Items"])
        assert key not in held and key.replace("-", "") not in held, table


def test_the_receipt_shows_the_key_in_its_text_and_html_parts(client, product, monkeypatch):
    from chalicelib.platform import aws

    ses, sent = aws.ses_client(), []
    real_send = ses.send_email

    def spy(**kwargs):
        sent.append(kwargs["Message"]["Body"])
        return real_send(**kwargs)

    monkeypatch.setattr(ses, "send_email", spy)
    licensed(product)
    sell(client, product.id)
    [body] = sent
    key = derive_key(SECRET, SESSION)
    assert f"Your license key:\n\n{key}\n" in body["Text"]["Data"]
    assert re.search(rf'id="license-key"[^>]*>{key}<', body["Html"]["Data"])


def test_the_download_page_shows_the_key_and_is_not_cached(client, product):
    licensed(product)
    sell(client, product.id)
    page = client.http.get(f"/download/{mailed_token()}")
    assert page.status_code == 200
    assert derive_key(SECRET, SESSION) in page.body.decode()
    assert page.headers["Cache-Control"] == "no-store"


def test_a_resent_link_and_receipt_keep_the_same_key(client, product):
    licensed(product)
    sell(client, product.id)
    store.current().after_sale().act("resend", SESSION, None)
    assert len(sent_emails()) == 2
    assert mailed_key(1) == mailed_key(0)
    page = client.http.get(f"/download/{mailed_token(1)}")
    assert mailed_key(0) in page.body.decode()


def test_a_product_without_keys_gives_no_key_anywhere(client, product):
    sell(client, product.id)
    assert not KEY.search(sent_emails()[0].body)
    assert "License key" not in sent_emails()[0].body
    page = client.http.get(f"/download/{mailed_token()}").body.decode()
    assert "License key" not in page and not KEY.search(page)
    assert Purchase.get(SESSION).license_hash is None
    assert not [i for i in License.scan() if i.token_hash.startswith("license#")]
    assert not DownloadLink.get(Purchase.get(SESSION).token_hash).licensed


def test_the_library_shows_each_purchases_key(client, product):
    licensed(product)
    sell(client, product.id)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    client.http.post("/library", body="email=buyer@example.test", headers=form)
    token = re.search(r"/library/([A-Za-z0-9_-]{32})", sent_emails()[-1].body).group(1)
    shelf = client.http.get(f"/library/{token}")
    assert shelf.status_code == 200
    assert derive_key(SECRET, SESSION) in shelf.body.decode()
    assert shelf.headers["Cache-Control"] == "no-store"


def test_the_thanks_page_shows_the_key_beside_the_link(shop, client, product):
    licensed(product)
    buy(client, product.id)
    session_id = next(iter(shop.sessions))
    shop.sessions[session_id].update(
        payment_status="paid",
        status="complete",
        payment_intent="pi_test_thanks",
        customer_details={"email": "buyer@example.test"},
    )
    page = client.http.get(f"/thanks?session_id={session_id}")
    key = derive_key(SECRET, session_id)
    assert page.status_code == 200 and key in page.body.decode()
    assert page.headers["Cache-Control"] == "no-store"
    assert key in sent_emails()[0].body
