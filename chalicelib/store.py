"""The store's domain objects, built on first use and cached for the container's life.

`app.py` calls these getters; nothing is built at import time. Tests call `reset()` after
changing the environment (or inside `mock_aws`) so the next request builds fresh objects.
"""

from __future__ import annotations

import functools

from pynamodb.connection import Connection

from chalicelib.admin.auth import KeySet, TokenVerifier, fetch_jwks
from chalicelib.catalog.products import Catalog, object_exists
from chalicelib.payments.checkout import Checkout
from chalicelib.platform import aws, config
from chalicelib.platform.tables import bind_models
from chalicelib.sale.after_sale import AfterSale
from chalicelib.sale.figures import Reports
from chalicelib.sale.fulfilment import Fulfilment, LinkPolicy
from chalicelib.sale.links import Downloads
from chalicelib.sale.receipts import Mailer


@functools.cache
def _bound() -> config.Settings:
    settings = config.get_settings()
    bind_models(settings, aws.dynamodb_connection())
    return settings


def settings() -> config.Settings:
    """The stage's settings, with the models bound to its tables."""
    return _bound()


def _transactions() -> Connection:
    """Transactions go through the models' shared connection (built once per container)."""
    _bound()
    return aws.dynamodb_connection()


@functools.cache
def get_catalog() -> Catalog:
    s = _bound()

    def file_exists(key: str) -> bool:
        return object_exists(aws.s3_client(), s.bucket, key)

    return Catalog(currency=s.currency, file_exists=file_exists)


# Services that write absolute URLs (links in mails, Stripe's redirects) are built per base URL:
# a store answers on a few (API Gateway's URL, a custom domain), so a small cache holds them all.
BASES_CACHED = 8


def _base(base: str | None) -> str:
    return (base or _bound().site_url).rstrip("/")


def get_link_policy(base: str | None = None) -> LinkPolicy:
    """Links under `base` (default: `SITE_URL`)."""
    return _link_policy(_base(base))


@functools.lru_cache(maxsize=BASES_CACHED)
def _link_policy(base: str) -> LinkPolicy:
    s = _bound()
    return LinkPolicy(
        key=config.secret("LINK_SIGNING_KEY"),
        site_url=base,
        download_limit=s.download_limit,
        ttl_days=s.download_ttl_days,
    )


@functools.cache
def get_mailer() -> Mailer:
    s = _bound()
    return Mailer(aws.ses_client(), sender=s.sender_email, site_name=s.site_name)


def get_fulfilment(base: str | None = None) -> Fulfilment:
    """Fulfilment whose receipts link under `base` (default: `SITE_URL`)."""
    return _fulfilment(_base(base))


@functools.lru_cache(maxsize=BASES_CACHED)
def _fulfilment(base: str) -> Fulfilment:
    s = _bound()
    return Fulfilment(
        catalog=get_catalog(),
        mailer=get_mailer(),
        links=get_link_policy(base),
        timezone=s.report_timezone,
        connection_factory=_transactions,
    )


@functools.cache
def get_downloads() -> Downloads:
    s = _bound()
    return Downloads(aws.s3_client(), bucket=s.bucket, presign_seconds=s.presign_seconds)


def get_checkout(base: str | None = None) -> Checkout:
    """Checkout whose sessions return the buyer under `base` (default: `SITE_URL`)."""
    return _checkout(_base(base))


@functools.lru_cache(maxsize=BASES_CACHED)
def _checkout(base: str) -> Checkout:
    s = _bound()
    return Checkout(
        config.secret("STRIPE_SECRET_KEY"), s.stripe_api_base, base, store_id=s.store_id
    )


def get_after_sale(base: str | None = None) -> AfterSale:
    """After-sale actions whose mails link under `base` (default: `SITE_URL`)."""
    return _after_sale(_base(base))


@functools.lru_cache(maxsize=BASES_CACHED)
def _after_sale(base: str) -> AfterSale:
    s = _bound()
    return AfterSale(
        store_id=s.store_id,
        links=get_link_policy(base),
        mailer=get_mailer(),
        timezone=s.report_timezone,
        connection_factory=_transactions,
    )


@functools.cache
def get_reports() -> Reports:
    s = _bound()
    return Reports(get_catalog(), timezone=s.report_timezone, currency=s.currency)


@functools.cache
def get_verifier() -> TokenVerifier:
    s = _bound()
    keys = KeySet(lambda: fetch_jwks(s.cognito_jwks_url))
    return TokenVerifier(keys, issuer=s.cognito_issuer, client_id=s.user_pool_client_id)


def webhook_secret() -> str:
    return config.secret("STRIPE_WEBHOOK_SECRET")


_GETTERS = (
    _bound,
    get_catalog,
    _link_policy,
    get_mailer,
    _fulfilment,
    get_downloads,
    _checkout,
    _after_sale,
    get_reports,
    get_verifier,
)


def reset() -> None:
    """Forget every cached object, setting and client."""
    for getter in _GETTERS:
        getter.cache_clear()
    config.reset()
    aws.reset()
