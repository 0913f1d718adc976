"""Admin sign-in: every way a token is refused, and the group check."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import jwt
import moto.cognitoidp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bull_chalice import resources, users

ADMIN_ROUTES = [
    ("GET", "/reports"),
    ("GET", "/reports?format=csv"),
    ("GET", "/admin/products"),
    ("POST", "/admin/products"),
    ("PATCH", "/admin/products/prod_abcdef123456"),
    ("GET", "/admin/purchases"),
    ("GET", "/admin/purchases/cs_test_x"),
    ("POST", "/admin/purchases/cs_test_x/resend"),
    ("POST", "/admin/purchases/cs_test_x/reset"),
    ("POST", "/admin/purchases/cs_test_x/revoke"),
    ("POST", "/admin/purchases/cs_test_x/refund"),
]


def _moto_private_key():
    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes())), algorithm="RS256").key


def _claims(pool, **overrides):
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{pool.pool_id}",
        "aud": pool.client_id,
        "token_use": "id",
        "sub": "user-1",
        "email": "admin@example.test",
        "cognito:groups": ["admins"],
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return claims


def _signed(claims, key=None):
    return jwt.encode(
        claims, key or _moto_private_key(), algorithm="RS256", headers={"kid": "dummy"}
    )


def _refused(client, pool, authorization, status):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.http.get("/reports", headers=headers)
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    error = json.loads(response.body)["error"]
    assert error["code"] and error["message"]
    return error


def test_admin_gets_the_report(client, pool, admin):
    response = client.http.get("/reports", headers=admin)
    assert response.status_code == 200
    assert len(json.loads(response.body)["days"]) == 30


def test_token_without_bearer_prefix_is_accepted(client, pool):
    response = client.http.get("/reports", headers={"Authorization": pool.id_token()})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer ", "garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 9000],
    ids=["missing", "empty", "bearer-only", "garbage", "three-parts", "basic", "huge"],
)
def test_missing_or_malformed_token_is_401(client, pool, authorization):
    _refused(client, pool, authorization, 401)


def test_token_signed_by_another_key_is_401(client, pool):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused(client, pool, "Bearer " + _signed(_claims(pool), key=forger), 401)


def test_unsigned_token_is_401(client, pool):
    token = jwt.encode(_claims(pool), key=None, algorithm="none")
    _refused(client, pool, f"Bearer {token}", 401)


def test_expired_token_is_401(client, pool):
    expired = _claims(pool, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    error = _refused(client, pool, "Bearer " + _signed(expired), 401)
    assert error["code"] == "expired"


def test_token_of_another_app_client_is_401(client, pool):
    other = pool.cognito.create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="other",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    token = pool.tokens(client_id=other)["IdToken"]
    _refused(client, pool, f"Bearer {token}", 401)


def test_token_of_another_pool_is_401(client, pool):
    other = resources.create_user_pool(pool.cognito, "someone-else")
    users.add_user(pool.cognito, other.pool_id, "admin@example.test", "Correct-Horse-42")
    token = pool.cognito.initiate_auth(
        ClientId=other.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "admin@example.test", "PASSWORD": "Correct-Horse-42"},
    )["AuthenticationResult"]["IdToken"]
    _refused(client, pool, f"Bearer {token}", 401)


def test_access_token_is_401(client, pool):
    _refused(client, pool, "Bearer " + pool.tokens()["AccessToken"], 401)


def test_signed_in_user_outside_the_admins_group_is_403(client, pool):
    error = _refused(client, pool, "Bearer " + pool.id_token("helper@example.test"), 403)
    assert error["code"] == "not_admin"


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_every_admin_route_refuses_anonymous_and_non_admin_callers(client, pool, method, path):
    anonymous = client.http.request(
        method, path, body=b"{}", headers={"Content-Type": "application/json"}
    )
    helper = client.http.request(
        method,
        path,
        body=b"{}",
        headers={"Content-Type": "application/json", **pool.headers("helper@example.test")},
    )
    assert anonymous.status_code == 401
    assert helper.status_code == 403


def test_dashboard_page_loads_without_a_token_and_holds_no_data(client, pool):
    response = client.http.get("/admin")
    assert response.status_code == 200
    body = response.body.decode()
    assert 'id="signin-email"' in body and pool.client_id in body
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", policy).group(1)
    assert re.search(rf'<script src="[^"]+/admin/dashboard\.js\?v=\w+" nonce="{nonce}"', body)
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_deployed_stages_also_get_api_gateways_cognito_authorizer(monkeypatch):
    from chalicelib.admin.auth import gateway_authorizer

    monkeypatch.delenv("USER_POOL_ARN", raising=False)
    assert gateway_authorizer() is None  # tests and the local stack: the app's check alone
    arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
    monkeypatch.setenv("USER_POOL_ARN", arn)
    authorizer = gateway_authorizer()
    assert authorizer.to_swagger()["x-amazon-apigateway-authorizer"]["providerARNs"] == [arn]
