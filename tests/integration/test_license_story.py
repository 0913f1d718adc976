"""Software sold with license keys, over real HTTP against the local stack (both shapes): the
seller makes a product with keys, a buyer pays, and the seller's software activates the key
the receipt shows, up to its limit."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from bull_chalice.local import local_client

pytestmark = pytest.mark.integration

KEY = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){5}\b")


def _admin(stack) -> dict[str, str]:
    answer = local_client(stack, "cognito-idp").initiate_auth(
        ClientId=stack.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": stack.admin_email, "PASSWORD": stack.admin_password},
    )
    return {"Authorization": answer["AuthenticationResult"]["IdToken"]}


def _licensed_product(stack) -> str:
    admin = _admin(stack)
    made = requests.post(
        f"{stack.api_url}/admin/products",
        json={
            "name": f"Bull App {uuid.uuid4().hex[:6]}",
            "price_cents": 2900,
            "filename": "bull-app.zip",
            "license_keys": True,
            "activation_limit": 2,
        },
        headers=admin,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    upload = body["upload"]
    put = requests.put(upload["url"], data=b"PK the app", timeout=30)
    assert put.status_code == 200
    product_id = body["product"]["id"]
    listed = requests.patch(
        f"{stack.api_url}/admin/products/{product_id}",
        json={"active": True},
        headers=admin,
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    return product_id


def _mailed_key(stack, email: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=10).json()
        for message in data.get("ses", {}).get("Message") or []:
            to = (message.get("destinations") or {}).get("ToAddresses", [])
            found = KEY.search(message.get("body") or "")
            if email in to and found:
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no receipt with a key for {email}")


def test_a_buyer_activates_the_key_from_the_receipt_up_to_its_limit(stack, buyer):
    product_id = _licensed_product(stack)
    email = f"coder-{uuid.uuid4().hex[:8]}@example.com"
    answer = buyer.checkout(product_id, email=email)
    assert answer.status_code == 303, answer.text
    assert buyer.http.post(answer.headers["Location"], allow_redirects=False, timeout=60)
    key = _mailed_key(stack, email)

    landing = requests.get(buyer.receipt_for(email)["link"], timeout=10)
    assert landing.status_code == 200 and key in landing.text

    def call(action: str, **body):
        return requests.post(f"{stack.api_url}/licenses/{action}", json=body, timeout=30)

    assert call("validate", license_key=key.lower()).json()["valid"] is True
    first = call("activate", license_key=key, instance_name="laptop")
    assert first.status_code == 201, first.text
    assert call("activate", license_key=key, instance_name="desktop").status_code == 201
    full = call("activate", license_key=key, instance_name="third")
    assert full.status_code == 409 and full.json()["error"]["code"] == "activation_limit"
    instance = first.json()["instance_id"]
    assert call("deactivate", license_key=key, instance_id=instance).status_code == 200
    state = call("validate", license_key=key, instance_id=instance).json()
    assert (state["valid"], state["activations"], state["activation_limit"]) == (False, 1, 2)
