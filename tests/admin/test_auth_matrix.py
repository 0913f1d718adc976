"""Every admin route against every kind of caller: none, garbage, forged, expired, another
app client, a signed-in non-admin, and an admin."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.admin.test_auth import ADMIN_ROUTES, _claims, _signed

EXPECTED = {
    "none": 401,
    "garbage": 401,
    "forged": 401,
    "expired": 401,
    "other_client": 401,
    "access_token": 401,
    "non_admin": 403,
}


def _authorization(kind, pool):
    if kind == "none":
        return {}
    if kind == "garbage":
        token = "not-a-token"
    elif kind == "forged":
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = _signed(_claims(pool), key=forger)
    elif kind == "expired":
        token = _signed(_claims(pool, iat=int(time.time()) - 7200, exp=int(time.time()) - 60))
    elif kind == "other_client":
        token = _signed(_claims(pool, aud="someone-elses-client"))
    elif kind == "access_token":
        token = pool.tokens()["AccessToken"]
    elif kind == "non_admin":
        token = pool.id_token("helper@example.test")
    else:
        token = pool.id_token()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_admin_route_refuses_this_caller_with_json(client, pool, kind):
    headers = {"Content-Type": "application/json", **_authorization(kind, pool)}
    for method, path in ADMIN_ROUTES:
        answer = client.http.request(method, path, body=b"{}", headers=headers)
        assert answer.status_code == EXPECTED[kind], (kind, method, path)
        assert json.loads(answer.body)["error"]["code"]


def test_every_admin_route_lets_an_admin_through(client, pool, product):
    headers = {"Content-Type": "application/json", **_authorization("admin", pool)}
    for method, path in ADMIN_ROUTES:
        answer = client.http.request(method, path, body=b"{}", headers=headers)
        assert answer.status_code not in (401, 403), (method, path, answer.body)


def test_a_token_whose_signature_was_tampered_with_is_refused(client, pool):
    token = pool.id_token()
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["cognito:groups"] = ["admins", "owners"]
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    answer = client.http.get(
        "/reports", headers={"Authorization": f"Bearer {header}.{forged_payload}.{signature}"}
    )
    assert answer.status_code == 401
