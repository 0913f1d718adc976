"""A product's license keys through the admin API: `license_keys` and `activation_limit` are
set on create and change, shown to the seller, and refused with a clear 400 when malformed."""

from __future__ import annotations

import json

import pytest

from chalicelib.platform.tables import Product
from tests.helpers import error_of, send_json


def _create(client, admin, **fields):
    body = {"name": "Field app", "filename": "app.zip", "price_cents": 2900, **fields}
    return send_json(client, "POST", "/admin/products", admin, body)


def test_a_product_sells_without_keys_unless_told(client, admin):
    made = json.loads(_create(client, admin).body)["product"]
    assert (made["license_keys"], made["activation_limit"]) == (False, 3)


def test_a_product_with_license_keys_keeps_its_limit_and_the_seller_sees_it(client, admin):
    answer = _create(client, admin, license_keys=True, activation_limit=5)
    assert answer.status_code == 201
    made = json.loads(answer.body)["product"]
    assert (made["license_keys"], made["activation_limit"]) == (True, 5)
    listed = json.loads(client.http.get("/admin/products", headers=admin).body)["products"]
    assert [(p["license_keys"], p["activation_limit"]) for p in listed] == [(True, 5)]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"license_keys": "yes"}, "bad_request"),
        ({"license_keys": 1}, "bad_request"),
        ({"license_keys": True, "activation_limit": 0}, "bad_activation_limit"),
        ({"license_keys": True, "activation_limit": 1001}, "bad_activation_limit"),
        ({"license_keys": True, "activation_limit": -3}, "bad_activation_limit"),
        ({"license_keys": True, "activation_limit": 2.5}, "bad_activation_limit"),
        ({"license_keys": True, "activation_limit": "3"}, "bad_activation_limit"),
        ({"license_keys": True, "activation_limit": True}, "bad_activation_limit"),
    ],
)
def test_malformed_license_fields_are_400_and_nothing_is_made(client, admin, fields, code):
    answer = _create(client, admin, **fields)
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == code
    assert "license_keys" in error["message"] or "activation_limit" in error["message"]
    assert list(Product.scan()) == []


def test_the_seller_turns_keys_on_and_changes_the_limit_and_a_bad_change_changes_nothing(
    client, admin
):
    made = json.loads(_create(client, admin).body)["product"]
    path = f"/admin/products/{made['id']}"
    changed = send_json(
        client, "PATCH", path, admin, {"license_keys": True, "activation_limit": 10}
    )
    assert changed.status_code == 200
    assert json.loads(changed.body)["product"]["activation_limit"] == 10
    refused = send_json(
        client, "PATCH", path, admin, {"license_keys": False, "activation_limit": 0}
    )
    assert refused.status_code == 400 and error_of(refused)["code"] == "bad_activation_limit"
    item = Product.get(made["id"])
    assert (item.license_keys, item.activation_limit) == (True, 10)
