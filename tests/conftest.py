"""Fixtures: an in-process moto AWS with the store's resources, and a Chalice test client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import stripe
from chalice.test import Client
from moto import mock_aws

from bull_chalice import resources, users
from chalicelib import store
from chalicelib.platform import aws as aws_clients
from chalicelib.platform import config
from chalicelib.store import Store

WEBHOOK_SECRET = "whsec_test_" + "s" * 24
REGION = "us-east-1"

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "BULL_STAGE": "test",
    # Explicit names: chalice.test.Client applies the dev stage's environment from
    # .chalice/config.json, which must not move the app to other tables mid-test.
    "PRODUCTS_TABLE": "bull-test-products",
    "PURCHASES_TABLE": "bull-test-purchases",
    "LINKS_TABLE": "bull-test-links",
    "SALES_TABLE": "bull-test-sales",
    "PRODUCTS_BUCKET": "bull-test-products",
    "SITE_URL": "https://store.example.test",
    "SENDER_EMAIL": "store@example.test",
    "STRIPE_SECRET_KEY": "sk_test_unit",
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "LINK_SIGNING_KEY": "link-key-for-tests-only-" + "k" * 16,
    "REPORT_TIMEZONE": "UTC",
    "DOWNLOAD_LIMIT": "5",
    "DOWNLOAD_TTL_DAYS": "30",
}
CLEARED_ENV = ("AWS_ENDPOINT_URL", "STRIPE_API_BASE", "AWS_PROFILE")


class MovableClock:
    """The store's clock in a test: now, unless the test moves it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return (self.frozen or datetime.now(UTC)) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def freeze(self) -> datetime:
        self.frozen = datetime.now(UTC)
        return self.frozen


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def fresh_store(clock: MovableClock) -> Store:
    """A store built from the environment as it is now (a new container), on the test's clock,
    verifying tokens with the keys moto signs them with."""
    store.reset()
    built = Store(config.get_settings(), clock=clock, jwks=moto_jwks)
    store.install(built)
    return built


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, clock: MovableClock) -> dict[str, str]:
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    fresh_store(clock)
    yield TEST_ENV
    store.reset()


def _serialise_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """One mocked AWS call at a time: moto's backends take no locks, so concurrent
    conditional writes could both win, which DynamoDB never allows (see
    bull_chalice/moto_server.py)."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    real = BotocoreStubber.__call__

    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return real(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialised)


@pytest.fixture
def aws(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clock: MovableClock
) -> Iterator[None]:
    _serialise_moto(monkeypatch)
    with mock_aws():
        fresh_store(clock)
        settings = config.get_settings()
        resources.create_tables(settings, aws_clients.dynamodb_connection())
        resources.create_bucket(boto3.client("s3", region_name=REGION), settings)
        resources.verify_sender(boto3.client("ses", region_name=REGION), settings)
        yield
        store.reset()


@pytest.fixture
def product(aws: None) -> Any:
    """A $19.99 e-book on sale, with its file in the bucket."""
    return resources.add_product(
        store.current().catalog,
        boto3.client("s3", region_name=REGION),
        config.get_settings(),
        name="The Bull Handbook",
        description="Everything about selling files.",
        price_cents=1999,
        filename="bull-handbook.pdf",
        content=b"%PDF-1.4 the handbook",
    )


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="test") as chalice_client:
        yield chalice_client


def sent_emails() -> list[dict[str, Any]]:
    """The messages moto's SES accepted in this test."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = get_backend("ses")[DEFAULT_ACCOUNT_ID][REGION]
    return list(backend.sent_messages)


def checkout_session(
    session_id: str = "cs_test_a1",
    product_id: str = "prod_x",
    amount: int = 1999,
    payment_status: str = "paid",
    email: str | None = "buyer@example.test",
    payment_intent: str = "pi_test_a1",
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount,
        "currency": "usd",
        "customer_details": {"email": email} if email else None,
        "customer_email": None,
        "metadata": {"product_id": product_id},
        "payment_intent": payment_intent,
        "payment_status": payment_status,
        "mode": "payment",
    }


def stripe_event(
    event_type: str, obj: dict[str, Any], created: int | None = None, event_id: str = ""
) -> bytes:
    created = created if created is not None else int(time.time())
    event = {
        "id": event_id or f"evt_{event_type.replace('.', '_')}_{obj.get('id', '')}",
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "api_version": "2024-06-20",
    }
    return json.dumps(event).encode()


def signed_headers(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp=timestamp
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def deliver(client: Client, payload: bytes, **kwargs: Any) -> Any:
    headers = signed_headers(payload, **kwargs)
    return client.http.post("/webhooks/stripe", body=payload, headers=headers)


@pytest.fixture
def stripe_api(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clock: MovableClock
) -> Iterator[Any]:
    """The local Stripe stand-in on a free port; the app's STRIPE_API_BASE points at it."""
    from bull_chalice.stripe_standin import StandIn, StandInServer

    server = StandInServer(StandIn("http://127.0.0.1:9/unused", WEBHOOK_SECRET), 0).start()
    monkeypatch.setenv("STRIPE_API_BASE", server.url)
    fresh_store(clock)
    try:
        yield server.standin
    finally:
        server.stop()


ADMIN_EMAIL = "admin@example.test"
SELLER_PASSWORD = "Correct-Horse-42"


def moto_jwks() -> dict[str, Any]:
    """The public keys moto's Cognito signs every pool's tokens with."""
    import gzip
    from pathlib import Path

    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))


class Pool:
    """A Cognito user pool in mock_aws with an admin and a plain user."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, clock: MovableClock) -> None:
        self.cognito = boto3.client("cognito-idp", region_name=REGION)
        made = resources.create_user_pool(self.cognito, "test")
        self.pool_id, self.client_id = made.pool_id, made.client_id
        users.add_user(self.cognito, self.pool_id, ADMIN_EMAIL, SELLER_PASSWORD)
        users.add_user(
            self.cognito, self.pool_id, "helper@example.test", SELLER_PASSWORD, admin=False
        )
        monkeypatch.setenv("USER_POOL_ID", self.pool_id)
        monkeypatch.setenv("USER_POOL_CLIENT_ID", self.client_id)
        fresh_store(clock)

    def tokens(self, email: str = ADMIN_EMAIL, client_id: str | None = None) -> dict[str, str]:
        answer = self.cognito.initiate_auth(
            ClientId=client_id or self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": SELLER_PASSWORD},
        )
        return answer["AuthenticationResult"]

    def id_token(self, email: str = ADMIN_EMAIL) -> str:
        return self.tokens(email)["IdToken"]

    def headers(self, email: str = ADMIN_EMAIL) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token(email)}"}


@pytest.fixture
def pool(aws: None, monkeypatch: pytest.MonkeyPatch, clock: MovableClock) -> Pool:
    return Pool(monkeypatch, clock)


@pytest.fixture
def admin(pool: Pool) -> dict[str, str]:
    """Headers that sign the request in as a store admin."""
    return pool.headers()
