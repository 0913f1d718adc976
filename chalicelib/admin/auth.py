"""Admin sign-in: Cognito user-pool ID tokens verified in the app, and the `admins` group.

API Gateway's Cognito authorizer also guards the admin routes when deployed, but neither
`chalice local` nor `chalice.test.Client` enforces it, so every admin route runs this check
itself: RS256 signature against the pool's JWKS (cached, refetched once for an unknown key),
issuer = this pool, audience = this app client, `token_use` = `id`, not expired.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import Forbidden, Unauthorized

ADMIN_GROUP = "admins"
JWKS_REFRESH_SECONDS = 300
LEEWAY_SECONDS = 30
MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class Admin:
    """A signed-in admin."""

    sub: str
    email: str
    groups: tuple[str, ...]


def fetch_jwks(url: str) -> dict[str, Any]:
    """GET a JWKS document (the pool's public keys)."""
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ValueError("JWKS must come over HTTPS")
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - scheme checked above
        return json.loads(answer.read())


class KeySet:
    """The pool's signing keys by `kid`, fetched on first use and refreshed at most every
    `JWKS_REFRESH_SECONDS` when a token names a key we have not seen (key rotation)."""

    def __init__(self, fetch: Callable[[], dict[str, Any]], clock=time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        with self._lock:
            if kid not in self._keys and self._may_refresh():
                self._refresh()
            return self._keys.get(kid)

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > JWKS_REFRESH_SECONDS

    def _refresh(self) -> None:
        import jwt

        self._fetched_at = self._clock()
        try:
            document = self._fetch()
        except Exception:  # unreachable JWKS: no key, so the token is refused (401)
            self._fetched_at = None
            return
        keys = {}
        for jwk in document.get("keys", []):
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
            except (KeyError, jwt.PyJWTError):
                continue
        self._keys = keys


class TokenVerifier:
    """Turns an `Authorization` header into an `Admin`, or refuses it."""

    def __init__(self, keys: KeySet, issuer: str, client_id: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._client_id = client_id

    def admin(self, authorization: str | None) -> Admin:
        """The admin the header's ID token names.

        Raises:
            Unauthorized: missing, malformed, forged, expired, an access token, or a token of
                another pool or app client.
            Forbidden: a valid token of a user who is not in the `admins` group.
        """
        claims = self.claims(authorization)
        groups = claims.get("cognito:groups") or []
        if not isinstance(groups, list) or ADMIN_GROUP not in groups:
            raise Forbidden("This account is not a store admin.", code="not_admin")
        return Admin(
            sub=str(claims.get("sub", "")),
            email=str(claims.get("email", "")),
            groups=tuple(str(g) for g in groups),
        )

    def claims(self, authorization: str | None) -> dict[str, Any]:
        import jwt

        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Unauthorized("Sign in first: send your ID token in Authorization.")
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise Unauthorized("The token is malformed.", code="invalid_token")
        if not self._client_id:
            raise Unauthorized("Sign-in is not configured for this store.", code="no_pool")
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.key(str(header.get("kid", "")))
            if key is None or header.get("alg") != "RS256":
                raise Unauthorized("The token was not issued by this store.", code="invalid_token")
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The session has expired: sign in again.", code="expired") from None
        except jwt.PyJWTError:
            raise Unauthorized(
                "The token is not valid for this store.", code="invalid_token"
            ) from None
        if claims.get("token_use") != "id":
            raise Unauthorized("Send the ID token, not the access token.", code="invalid_token")
        return claims


def gateway_authorizer() -> Any:
    """API Gateway's Cognito authorizer for the admin routes, when deployed.

    Chalice imports the app with the stage's environment set (deploy, package, local), so the
    pool ARN comes from the stage config. Without one (tests, the local stack) the routes rely
    on the app's own check alone, which runs in every case.
    """
    import os

    arn = os.environ.get("USER_POOL_ARN", "")
    if not arn:
        return None
    from chalice import CognitoUserPoolAuthorizer

    return CognitoUserPoolAuthorizer("BullAdmins", provider_arns=[arn])
