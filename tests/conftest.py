"""Fixtures: an in-process moto AWS with the store's resources, a Chalice test client, a
Cognito pool with an admin, the Stripe stand-in, and a paid purchase's link. Plain helpers
(events, signatures, snapshots) are in `tests/helpers.py`; the names tests used to import from
here still resolve."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from bull_chalice import resources, users
from chalicelib import store
from chalicelib.platform import aws as aws_clients
from chalicelib.platform import config
from tests.helpers import (  # noqa: F401  (re-exported for `from tests.conftest import ...`)
    ADMIN_EMAIL,
    CLEARED_ENV,
    HELPER_EMAIL,
    REGION,
    SELLER_PASSWORD,
    TEST_ENV,
    WEBHOOK_SECRET,
    MovableClock,
    checkout_session,
    completed,
    deliver,
    fresh_store,
    mailed_token,
    moto_jwks,
    sent_emails,
    signed_headers,
    stripe_event,
)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


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
def yen(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that sells in JPY (request it before `client`)."""
    monkeypatch.setenv("STORE_CURRENCY", "jpy")
    store.reset()


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="test") as chalice_client:
        yield chalice_client


@pytest.fixture
def stripe_api(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clock: MovableClock
) -> Iterator[Any]:
    """The local Stripe stand-in on a free port; the app's STRIPE_API_BASE points at it."""
    from bull_chalice.standin.server import StandIn, StandInServer

    server = StandInServer(StandIn("http://127.0.0.1:9/unused", WEBHOOK_SECRET), 0).start()
    monkeypatch.setenv("STRIPE_API_BASE", server.url)
    fresh_store(clock)
    try:
        yield server.standin
    finally:
        server.stop()


@pytest.fixture
def shop(stripe_api: Any, client: Client, product: Any) -> Any:
    """The store with its product, selling through the Stripe stand-in (whose `sessions` are
    the Checkout Sessions the store made)."""
    return stripe_api


class Pool:
    """A Cognito user pool in mock_aws with an admin and a plain user."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, clock: MovableClock) -> None:
        self.cognito = boto3.client("cognito-idp", region_name=REGION)
        made = resources.create_user_pool(self.cognito, "test")
        self.pool_id, self.client_id = made.pool_id, made.client_id
        users.add_user(self.cognito, self.pool_id, ADMIN_EMAIL, SELLER_PASSWORD)
        users.add_user(self.cognito, self.pool_id, HELPER_EMAIL, SELLER_PASSWORD, admin=False)
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


@pytest.fixture
def paid_token(client: Client, product: Any) -> str:
    """A paid purchase of `product` (session `cs_test_a1`, intent `pi_test_a1`): the token of
    its link, with 5 downloads, as the receipt mailed it."""
    assert deliver(client, completed(product.id)).status_code == 200
    return mailed_token()
