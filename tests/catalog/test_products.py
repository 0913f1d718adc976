"""Products through the admin API: on sale once the file is there, new file versions, prices
typed as text, and every field the catalog refuses, each with its code and reason."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from chalicelib.platform.tables import DownloadLink, Product, Purchase
from tests.helpers import error_of, sell, send_json


def _create(client, admin, **fields):
    body = {"name": "Field guide", "filename": "guide.pdf", **fields}
    return send_json(client, "POST", "/admin/products", admin, body)


def _patch(client, product_id, admin, body):
    return send_json(client, "PATCH", f"/admin/products/{product_id}", admin, body)


def _listed(client, admin):
    return json.loads(client.http.get("/admin/products", headers=admin).body)["products"]


def _upload(upload, content=b"%PDF new"):
    """PUT to the presigned URL as the dashboard does (in-process moto answers it)."""
    import requests

    answer = requests.put(upload["url"], data=content, timeout=10)
    assert answer.status_code == 200


def test_a_new_product_goes_on_sale_only_once_its_file_is_uploaded(client, admin):
    answer = _create(
        client,
        admin,
        name="Video course",
        description="Ten lessons",
        price_cents=4900,
        currency="usd",
        filename="course.zip",
    )
    assert answer.status_code == 201
    body = json.loads(answer.body)
    product_id = body["product"]["id"]
    assert body["product"]["price_cents"] == 4900 and body["product"]["active"] is False
    upload = urlparse(body["upload"]["url"])
    assert body["upload"]["method"] == "PUT" and upload.path.endswith("/v1/course.zip")
    assert json.loads(client.http.get("/products").body)["products"] == []

    early = _patch(client, product_id, admin, {"active": True})
    assert early.status_code == 409
    assert error_of(early)["code"] == "file_missing"
    assert json.loads(client.http.get("/products").body)["products"] == []

    _upload(body["upload"])
    on = _patch(client, product_id, admin, {"active": True})
    assert on.status_code == 200
    listed = json.loads(client.http.get("/products").body)["products"]
    assert [p["name"] for p in listed] == ["Video course"]


@pytest.mark.parametrize(
    ("fields", "code", "reason"),
    [
        ({"name": "", "price_cents": 500}, "bad_request", "name must be 1 to 200 characters"),
        ({"name": "x" * 201, "price_cents": 500}, "bad_request", "name must be 1 to 200"),
        ({"price_cents": 500, "description": "d" * 2001}, "bad_request", "description must be"),
        ({"price_cents": 19.99}, "bad_request", "price_cents must be a whole number of cents"),
        ({"price_cents": "1999"}, "bad_request", "price_cents must be a whole number of cents"),
        ({"price_cents": True}, "bad_request", "price_cents must be a whole number of cents"),
        ({}, "bad_request", "price_cents must be a whole number of cents"),
        ({"price_cents": -5}, "bad_request", "price_cents must be between 50 and 100000000"),
        ({"price_cents": 49}, "bad_request", "price_cents must be between 50 and 100000000"),
        ({"price_cents": 500, "filename": "../../etc/passwd"}, "bad_request", "plain file name"),
        ({"price_cents": 500, "filename": ""}, "bad_request", "plain file name"),
        ({"price_cents": 500, "currency": "dollars"}, "bad_request", "three-letter ISO code"),
        # reports add one currency's cents; a JPY "cent" is a whole yen
        ({"price_cents": 500, "currency": "jpy"}, "bad_currency", "this store sells in USD"),
    ],
    ids=[
        "no-name",
        "long-name",
        "long-description",
        "float-price",
        "string-price",
        "bool-price",
        "no-price",
        "negative",
        "under-50",
        "path-filename",
        "no-filename",
        "bad-currency",
        "other-currency",
    ],
)
def test_bad_product_fields_are_400_with_the_reason_and_create_nothing(
    client, admin, fields, code, reason
):
    answer = _create(client, admin, **fields)
    assert answer.status_code == 400
    error = error_of(answer)
    assert (error["code"], reason in error["message"]) == (code, True), error
    assert _listed(client, admin) == []


def test_a_new_file_version_reaches_buyers_only_once_uploaded(client, admin, product):
    answer = _patch(client, product.id, admin, {"price_cents": 2500, "filename": "handbook-2.pdf"})
    body = json.loads(answer.body)
    assert answer.status_code == 200
    assert body["product"]["price_cents"] == 2500 and body["product"]["file_version"] == 1
    assert body["product"]["pending_filename"] == "handbook-2.pdf"
    assert urlparse(body["upload"]["url"]).path.endswith("/v2/handbook-2.pdf")
    # Still on sale with the file buyers had; the new one is not there yet.
    assert body["product"]["active"] is True
    early = _patch(client, product.id, admin, {"publish_file": True})
    assert early.status_code == 409 and error_of(early)["code"] == "file_missing"
    assert Product.get(product.id).file_key.endswith("/v1/bull-handbook.pdf")

    _upload(body["upload"])
    published = _patch(client, product.id, admin, {"publish_file": True})
    assert published.status_code == 200
    assert json.loads(published.body)["product"]["file_version"] == 2
    sell(client, product.id, session_id="cs_test_v2", payment_intent="pi_v2")
    link = DownloadLink.get(Purchase.get("cs_test_v2").token_hash)
    assert link.file_key.endswith("/v2/handbook-2.pdf") and link.filename == "handbook-2.pdf"


def test_publishing_with_no_new_file_is_409(client, admin, product):
    answer = _patch(client, product.id, admin, {"publish_file": True})
    assert answer.status_code == 409 and error_of(answer)["code"] == "no_pending_file"


def test_unlisting_takes_a_product_off_the_storefront(client, admin, product):
    off = _patch(client, product.id, admin, {"active": False})
    assert json.loads(off.body)["product"]["active"] is False
    assert json.loads(client.http.get("/products").body)["products"] == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"price_cents": "free"}, "price_cents must be a whole number of cents"),
        ({"price_cents": 10}, "price_cents must be between 50 and 100000000"),
        ({"active": "yes"}, "active must be true or false"),
        ({"publish_file": 1}, "publish_file must be true or false"),
        ({"owner": "me"}, "unknown fields: owner"),
        ({"name": 5}, "name must be text"),
        ({"name": " "}, "name must be 1 to 200 characters"),
        ({"filename": "a/b.pdf"}, "plain file name"),
    ],
    ids=["price-text", "price-low", "active-text", "publish-number", "unknown", "name-number",
         "name-blank", "filename-path"],
)  # fmt: skip
def test_bad_patch_is_400_with_the_reason_and_changes_nothing(client, admin, product, body, reason):
    answer = _patch(client, product.id, admin, body)
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == "bad_request" and reason in error["message"], error
    [listed] = _listed(client, admin)
    assert (listed["name"], listed["price_cents"], listed["active"]) == (
        "The Bull Handbook",
        1999,
        True,
    )


def test_patch_of_unknown_product_is_404(client, admin, aws):
    answer = _patch(client, "prod_nope12345678", admin, {"active": False})
    assert answer.status_code == 404 and error_of(answer)["code"] == "not_found"


# -- prices typed as text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents", "shown"),
    [("19.99", 1999, "$19.99"), ("5", 500, "$5.00"), (" 7.5 ", 750, "$7.50")],
)
def test_a_price_typed_in_dollars_is_read_in_cents(client, admin, typed, cents, shown):
    answer = _create(client, admin, price=typed)
    assert answer.status_code == 201, answer.body
    product = json.loads(answer.body)["product"]
    assert product["price_cents"] == cents and product["price"] == shown


def test_a_price_typed_in_yen_is_read_in_whole_yen(yen, client, admin):
    answer = _create(client, admin, price="1500")
    assert answer.status_code == 201, answer.body
    product = json.loads(answer.body)["product"]
    assert (product["price_cents"], product["currency"], product["price"]) == (
        1500,
        "jpy",
        "¥1,500",
    )
    assert [(p["price_cents"], p["price"]) for p in _listed(client, admin)] == [(1500, "¥1,500")]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("19.999", "19.999 has more decimals than USD allows"),
        ("1e3", "plain amount"),
        ("abc", "plain amount"),
        ("", "plain amount"),
        ("-5", "plain amount"),
        ("NaN", "plain amount"),
        ("1,500", "plain amount"),
        (19.99, "plain amount"),
    ],
)
def test_a_price_that_is_not_a_plain_amount_in_dollars_is_400(client, admin, typed, reason):
    answer = _create(client, admin, price=typed)
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == "bad_price" and reason in error["message"], error
    assert _listed(client, admin) == []


def test_a_price_in_yen_has_no_decimals(yen, client, admin):
    answer = _create(client, admin, price="15.5")
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == "bad_price" and "JPY" in error["message"]


def test_price_cents_is_still_taken(client, admin):
    answer = _create(client, admin, price_cents=4900, currency="usd")
    assert answer.status_code == 201
    assert json.loads(answer.body)["product"]["price"] == "$49.00"
