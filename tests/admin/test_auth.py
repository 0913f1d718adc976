"""Admin sign-in: every way a token is refused, and the group check."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bull_chalice import resources, users
from tests.helpers import (
    ADMIN_EMAIL,
    HELPER_EMAIL,
    INTENT,
    SELLER_PASSWORD,
    SESSION,
    error_of,
    moto_private_key,
)

# Each admin route, and what it answers an admin who sends `{}`: the route's own answer, so a
# refusal or a crash fails the admin's case.
ADMIN_ROUTES = [
    ("GET", "/reports", 200, None),
    ("GET", "/reports?format=csv", 200, None),
    ("GET", "/admin/products", 200, None),
    ("POST", "/admin/products", 400, "bad_request"),
    ("PATCH", "/admin/products/prod_abcdef123456", 404, "not_found"),
    ("GET", "/admin/purchases", 200, None),
    ("GET", "/admin/purchases/cs_test_x", 404, "not_found"),
    ("POST", "/admin/purchases/cs_test_x/resend", 404, "not_found"),
    ("POST", "/admin/purchases/cs_test_x/reset", 404, "not_found"),
    ("POST", "/admin/purchases/cs_test_x/revoke", 404, "not_found"),
    ("POST", "/admin/purchases/cs_test_x/refund", 404, "not_found"),
]
# Every kind of caller the admin routes refuse: (status, error code, what the message says).
REFUSED = {
    "none": (401, "unauthorized", "Sign in first"),
    "garbage": (401, "invalid_token", "malformed"),
    "forged": (401, "invalid_token", "not valid for this store"),
    "unsigned": (401, "invalid_token", "not issued by this store"),
    "expired": (401, "expired", "expired"),
    "other_client": (401, "invalid_token", "not valid for this store"),
    "access_token": (401, "invalid_token", "not valid for this store"),
    "non_admin": (403, "not_admin", "not a store admin"),
}


def _claims(pool, **overrides):
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{pool.pool_id}",
        "aud": pool.client_id,
        "token_use": "id",
        "sub": "user-1",
        "email": ADMIN_EMAIL,
        "cognito:groups": ["admins"],
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return claims


def _signed(claims, key=None):
    return jwt.encode(
        claims, key or moto_private_key(), algorithm="RS256", headers={"kid": "dummy"}
    )


def _authorization(kind, pool):
    """The Authorization header of a caller of `kind` (none for "none")."""
    if kind == "none":
        return {}
    if kind == "garbage":
        token = "not-a-token"
    elif kind == "forged":
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = _signed(_claims(pool), key=forger)
    elif kind == "unsigned":
        token = jwt.encode(_claims(pool), key=None, algorithm="none")
    elif kind == "expired":
        token = _signed(_claims(pool, iat=int(time.time()) - 7200, exp=int(time.time()) - 60))
    elif kind == "other_client":
        token = _signed(_claims(pool, aud="someone-elses-client"))
    elif kind == "access_token":
        token = pool.tokens()["AccessToken"]
    elif kind == "non_admin":
        token = pool.id_token(HELPER_EMAIL)
    else:
        token = pool.id_token()
    return {"Authorization": f"Bearer {token}"}


def _refused(client, authorization, status, code, reason):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.http.get("/reports", headers=headers)
    assert response.status_code == status, response.body
    error = error_of(response)
    assert error["code"] == code and reason in error["message"], error


def test_admin_gets_the_report(client, pool, admin):
    response = client.http.get("/reports", headers=admin)
    assert response.status_code == 200
    assert len(json.loads(response.body)["days"]) == 30


def test_token_without_bearer_prefix_is_accepted(client, pool):
    response = client.http.get("/reports", headers={"Authorization": pool.id_token()})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("authorization", "code", "reason"),
    [
        (None, "unauthorized", "Sign in first"),
        ("", "unauthorized", "Sign in first"),
        ("Bearer ", "invalid_token", "malformed"),  # the header arrives trimmed: "Bearer"
        ("garbage", "invalid_token", "malformed"),
        ("Bearer a.b.c", "invalid_token", "not valid for this store"),
        ("Basic dXNlcjpwYXNz", "invalid_token", "malformed"),
        ("Bearer " + "x" * 9000, "invalid_token", "malformed"),
    ],
    ids=["missing", "empty", "bearer-only", "garbage", "three-parts", "basic", "huge"],
)
def test_missing_or_malformed_token_is_401(client, pool, authorization, code, reason):
    _refused(client, authorization, 401, code, reason)


def test_token_of_another_pool_is_401(client, pool):
    other = resources.create_user_pool(pool.cognito, "someone-else")
    users.add_user(pool.cognito, other.pool_id, ADMIN_EMAIL, SELLER_PASSWORD)
    token = pool.cognito.initiate_auth(
        ClientId=other.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": ADMIN_EMAIL, "PASSWORD": SELLER_PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    _refused(client, f"Bearer {token}", 401, "invalid_token", "not valid for this store")


def test_token_of_another_app_client_of_this_pool_is_401(client, pool):
    other = pool.cognito.create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="other",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    token = pool.tokens(client_id=other)["IdToken"]
    _refused(client, f"Bearer {token}", 401, "invalid_token", "not valid for this store")


def test_a_token_whose_signature_was_tampered_with_is_refused(client, pool):
    header, payload, signature = pool.id_token(HELPER_EMAIL).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["cognito:groups"] = ["admins", "owners"]
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    authorization = f"Bearer {header}.{forged_payload}.{signature}"
    _refused(client, authorization, 401, "invalid_token", "not valid for this store")


# -- every admin route -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_every_admin_route_refuses_this_caller_with_its_code(client, pool, kind):
    status, code, reason = REFUSED[kind]
    headers = {"Content-Type": "application/json", **_authorization(kind, pool)}
    for method, path, _, _ in ADMIN_ROUTES:
        answer = client.http.request(method, path, body=b"{}", headers=headers)
        assert answer.status_code == status, (kind, method, path)
        error = error_of(answer)
        assert error["code"] == code and reason in error["message"], (kind, method, path, error)


def test_every_admin_route_lets_an_admin_through_to_its_own_answer(client, pool, product):
    headers = {"Content-Type": "application/json", **_authorization("admin", pool)}
    for method, path, status, code in ADMIN_ROUTES:
        answer = client.http.request(method, path, body=b"{}", headers=headers)
        assert answer.status_code == status, (method, path, answer.body)
        if code:
            assert error_of(answer)["code"] == code, (method, path)


def test_dashboard_page_loads_without_a_token_and_holds_no_data(client, pool, paid_token):
    """The page is public: it carries the sign-in form and the app client's id, and nothing of
    the store's products, purchases or buyers (the script reads those with the admin's token)."""
    response = client.http.get("/admin")
    assert response.status_code == 200
    body = response.body.decode()
    assert 'id="signin-email"' in body and pool.client_id in body
    data = [
        "The Bull Handbook",
        "bull-handbook.pdf",
        "19.99",
        "1999",
        "buyer@example.test",
        SESSION,
        INTENT,
        paid_token,
        ADMIN_EMAIL,
    ]
    assert [item for item in data if item in body] == []


def test_deployed_stages_also_get_api_gateways_cognito_authorizer(monkeypatch):
    from chalicelib.admin.auth import gateway_authorizer

    monkeypatch.delenv("USER_POOL_ARN", raising=False)
    assert gateway_authorizer() is None  # tests and the local stack: the app's check alone
    arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
    monkeypatch.setenv("USER_POOL_ARN", arn)
    authorizer = gateway_authorizer()
    assert authorizer.to_swagger()["x-amazon-apigateway-authorizer"]["providerARNs"] == [arn]
