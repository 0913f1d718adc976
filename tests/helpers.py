"""What the unit tests share besides fixtures (those are in `tests/conftest.py`): the test
stage's environment, Stripe's events and signatures, charges and disputes, the mails moto's SES
took, and snapshots of what the store holds."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import html
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto.cognitoidp
from botocore.exceptions import ClientError
from pynamodb.connection.base import Connection

from chalicelib import store
from chalicelib.platform import config
from chalicelib.platform.tables import DailySales, DownloadLink, Product, Purchase
from chalicelib.store import Store

WEBHOOK_SECRET = "whsec_test_" + "s" * 24
REGION = "us-east-1"
SESSION = "cs_test_a1"  # the Checkout Session of `checkout_session()` and `paid_token`
INTENT = "pi_test_a1"  # its payment intent, which charges and disputes name
ADMIN_EMAIL = "admin@example.test"
HELPER_EMAIL = "helper@example.test"  # signed in, but not in the admins group
SELLER_PASSWORD = "Correct-Horse-42"

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
CLEARED_ENV = ("AWS_ENDPOINT_URL", "STRIPE_API_BASE", "AWS_PROFILE", "NOTIFY_EMAIL")


# -- the store ---------------------------------------------------------------------------------


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

    def freeze_at_window_start(self, second: int = 5) -> datetime:
        """Stop at `second` past the start of the current ten minutes, so that a test counting
        requests in per-minute (or ten-minute) windows never straddles two of them."""
        now = datetime.now(UTC)
        self.frozen = now.replace(minute=now.minute - now.minute % 10, second=second, microsecond=0)
        return self.frozen


def moto_jwks() -> dict[str, Any]:
    """The public keys moto's Cognito signs every pool's tokens with."""
    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))


def moto_private_key() -> Any:
    """The private key behind `moto_jwks()`: tokens signed with it verify as moto's."""
    import jwt

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes())), algorithm="RS256").key


def no_pause(seconds: float) -> None:
    """A test's store does not wait out answer floors (tests/sale/test_library.py checks them)."""


def fresh_store(clock: MovableClock) -> Store:
    """A store built from the environment as it is now (a new container), on the test's clock,
    verifying tokens with the keys moto signs them with."""
    store.reset()
    built = Store(config.get_settings(), clock=clock, jwks=moto_jwks, pause=no_pause)
    store.install(built)
    return built


# -- Stripe's events ---------------------------------------------------------------------------


def checkout_session(
    session_id: str = SESSION,
    product_id: str = "prod_x",
    amount: int = 1999,
    payment_status: str = "paid",
    email: str | None = "buyer@example.test",
    payment_intent: str = INTENT,
    currency: str = "usd",
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount,
        "currency": currency,
        "customer_details": {"email": email} if email else None,
        "customer_email": None,
        "metadata": {"product_id": product_id},
        "payment_intent": payment_intent,
        "payment_status": payment_status,
        "mode": "payment",
    }


def charge(
    amount_refunded: int = 0,
    *,
    amount: int = 1999,
    intent: str = INTENT,
    charge_id: str = "ch_1",
    **extra: Any,
) -> dict[str, Any]:
    """A card charge of `intent`, refunded by `amount_refunded` so far (`extra`: e.g. metadata)."""
    return {
        "id": charge_id,
        "object": "charge",
        "payment_intent": intent,
        "amount": amount,
        "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= amount,
        "currency": "usd",
        **extra,
    }


def dispute(status: str = "needs_response", *, intent: str = INTENT) -> dict[str, Any]:
    """A dispute of the charge `ch_1` of `intent`."""
    return {
        "id": "dp_1",
        "object": "dispute",
        "payment_intent": intent,
        "charge": "ch_1",
        "amount": 1999,
        "status": status,
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


def completed(product_id: str, *, created: int | None = None, **session: Any) -> bytes:
    """`checkout.session.completed` for a session of `product_id` (paid unless told)."""
    obj = checkout_session(product_id=product_id, **session)
    return stripe_event("checkout.session.completed", obj, created=created)


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """Stripe's `Stripe-Signature` header, computed as Stripe does: HMAC-SHA256 of
    `{t}.{raw body}` under the endpoint's secret, over the bytes as sent."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed_headers(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    return {
        "Stripe-Signature": stripe_signature(payload, secret, timestamp),
        "Content-Type": "application/json",
    }


def deliver(client: Any, payload: bytes, **kwargs: Any) -> Any:
    """POST `payload` to the webhook as Stripe would, signed."""
    headers = signed_headers(payload, **kwargs)
    return client.http.post("/webhooks/stripe", body=payload, headers=headers)


def sell(client: Any, product_id: str, **session: Any) -> None:
    """A paid checkout of `product_id` delivered and acknowledged (`session`: its fields, and
    `created` for the event's time)."""
    assert deliver(client, completed(product_id, **session)).status_code == 200


# -- HTTP --------------------------------------------------------------------------------------


def send_json(client: Any, method: str, path: str, headers: dict[str, str], body: Any = None):
    """`body` as JSON (`{}` when none) with `headers`, e.g. an admin's."""
    return client.http.request(
        method,
        path,
        body=json.dumps({} if body is None else body),
        headers={**headers, "Content-Type": "application/json"},
    )


def buy(client: Any, product_id: str, form: str | None = None) -> Any:
    """The storefront's Buy button: POST /checkout, with `form` as the form body if given."""
    if form is None:
        return client.http.post(f"/checkout/{product_id}")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.http.post(f"/checkout/{product_id}", body=form, headers=headers)


def page_message(response: Any) -> str:
    """The message an HTML error page shows the buyer."""
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    shown = re.search(r'<p id="message">(.*?)</p>', response.body.decode(), re.S)
    assert shown, response.body[:500]
    return html.unescape(shown.group(1)).strip()


def error_of(response: Any) -> dict[str, str]:
    """The `{"code", "message"}` of a JSON error answer."""
    assert response.headers["Content-Type"] == "application/json", response.headers
    return json.loads(response.body)["error"]


# -- faults ----------------------------------------------------------------------------------


class Outage:
    """Makes the Nth DynamoDB call of one operation fail, as throttling or a 500."""

    def __init__(
        self, monkeypatch, operation, nth=1, code="ProvisionedThroughputExceededException"
    ):
        self.operation, self.nth, self.code, self.seen = operation, nth, code, 0
        real = Connection._make_api_call
        outage = self

        def failing(conn, operation_name, operation_kwargs):
            if operation_name == outage.operation:
                outage.seen += 1
                if outage.seen == outage.nth:
                    raise ClientError(
                        {"Error": {"Code": outage.code, "Message": "injected"}}, operation_name
                    )
            return real(conn, operation_name, operation_kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", failing)


# -- what the store holds and sent -------------------------------------------------------------


def sent_emails() -> list[Any]:
    """The messages moto's SES accepted in this test."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = get_backend("ses")[DEFAULT_ACCOUNT_ID][REGION]
    return list(backend.sent_messages)


def mailed_token(index: int = 0) -> str:
    """The download token in the `index`th mail sent."""
    return re.search(r"/download/([A-Za-z0-9_-]{43})", sent_emails()[index].body).group(1)


def rows(model: Any) -> list[Any]:
    return list(model.scan())


def only_link() -> DownloadLink:
    """The one download link the store holds."""
    [link] = rows(DownloadLink)
    return link


def counts() -> dict[str, int]:
    """How much the store holds: rows of each table, orders in the rollups, receipts sent."""
    rollups = rows(DailySales)
    return {
        "products": len(rows(Product)),
        "purchases": len(rows(Purchase)),
        # The rate limiter's counts and remembered unknown sessions are not what the store holds.
        "links": len(
            [r for r in rows(DownloadLink) if not r.token_hash.startswith(("limit#", "unknown#"))]
        ),
        "sales_days": len(rollups),
        "orders": sum(r.orders for r in rollups),
        "receipts": len(sent_emails()),
    }


def sale_state(session_id: str = SESSION) -> dict[str, Any]:
    """One purchase as the seller and the buyer see it: its status, refunds, dispute, the state
    the purchase and its link record, the rollups' figures and the receipts sent."""
    purchase = Purchase.get(session_id)
    link = DownloadLink.get(purchase.token_hash)
    rollups = rows(DailySales)
    return {
        "status": purchase.status,
        "refunded": purchase.refunded_cents,
        "dispute": purchase.dispute_status,
        "link": (purchase.link_state, link.state),
        "orders": sum(r.orders for r in rollups),
        "gross": sum(r.gross_cents for r in rollups),
        "refunded_rollup": sum(r.refunded_cents for r in rollups),
        "receipts": len(sent_emails()),
    }


def from_ip(
    source_ip: str,
    verb: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request from the client at `source_ip`, as API Gateway sends it (a REST proxy
    event whose `requestContext.identity.sourceIp` is that address), answered by the app the
    way Lambda does: its proxy result (`statusCode`, `headers`, `body`)."""
    from app import app
    from bull_chalice.rehearse import gateway

    api = gateway.RestApi(
        {r: {m: gateway.Method(r, m, None) for m in e} for r, e in app.routes.items()}
    )
    method, params = api.match(path.split("?")[0], verb)
    event = gateway.build_event(
        stage=gateway.Stage("api", ""),
        method=method,
        params=params,
        verb=verb,
        resource_path=path.split("?")[0],
        raw_query=path.partition("?")[2],
        headers=[("Host", "store.example.test"), *(headers or {}).items()],
        body=body,
        source_ip=source_ip,
        domain_name="store.example.test",
        binary=False,
    )
    return app(event, None)


def requests_per_thread(monkeypatch: Any) -> None:
    """Each thread sees its own Chalice request, as each Lambda container does (a Chalice app
    keeps one `current_request`: threads sharing it would read each other's)."""
    import threading

    from chalice import Chalice

    local = threading.local()

    class PerThread:
        def __get__(self, obj: Any, owner: Any = None) -> Any:
            return getattr(local, "request", None)

        def __set__(self, obj: Any, value: Any) -> None:
            local.request = value

    monkeypatch.setattr(Chalice, "current_request", PerThread(), raising=False)
