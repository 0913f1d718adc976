"""The store's domain objects, built on first use and cached for the container's life.

`app.py` calls these getters; nothing is built at import time. Tests call `reset()` after
changing the environment (or inside `mock_aws`) so the next request builds fresh objects.
"""

from __future__ import annotations

import functools

from chalicelib import aws, config
from chalicelib.catalog import Catalog
from chalicelib.delivery import Downloads
from chalicelib.fulfilment import Fulfilment, LinkPolicy
from chalicelib.mail import Mailer
from chalicelib.models import bind_models, transaction_connection
from chalicelib.payments import Checkout


@functools.cache
def _bound() -> config.Settings:
    settings = config.get_settings()
    bind_models(settings)
    return settings


def settings() -> config.Settings:
    """The stage's settings, with the models bound to its tables."""
    return _bound()


@functools.cache
def get_catalog() -> Catalog:
    _bound()
    return Catalog()


@functools.cache
def get_link_policy() -> LinkPolicy:
    s = _bound()
    return LinkPolicy(
        key=config.secret("LINK_SIGNING_KEY"),
        site_url=s.site_url,
        download_limit=s.download_limit,
        ttl_days=s.download_ttl_days,
    )


@functools.cache
def get_mailer() -> Mailer:
    s = _bound()
    return Mailer(aws.ses_client(), sender=s.sender_email, site_name=s.site_name)


@functools.cache
def get_fulfilment() -> Fulfilment:
    s = _bound()
    return Fulfilment(
        catalog=get_catalog(),
        mailer=get_mailer(),
        links=get_link_policy(),
        timezone=s.report_timezone,
        connection_factory=lambda: transaction_connection(s),
    )


@functools.cache
def get_downloads() -> Downloads:
    s = _bound()
    return Downloads(aws.s3_client(), bucket=s.bucket, presign_seconds=s.presign_seconds)


@functools.cache
def get_checkout() -> Checkout:
    s = _bound()
    return Checkout(config.secret("STRIPE_SECRET_KEY"), s.stripe_api_base, s.site_url)


def webhook_secret() -> str:
    return config.secret("STRIPE_WEBHOOK_SECRET")


_GETTERS = (
    _bound,
    get_catalog,
    get_link_policy,
    get_mailer,
    get_fulfilment,
    get_downloads,
    get_checkout,
)


def reset() -> None:
    """Forget every cached object, setting and client."""
    for getter in _GETTERS:
        getter.cache_clear()
    config.reset()
    aws.reset()
