"""Settings of one deployed stage, read from its environment in one place.

Nothing here runs at import time: `get_settings()` reads the environment on first use and
caches the result, so tests can set variables and call `reset()`. Secrets are read by
`chalicelib.platform.secrets`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.errors import StoreError


class ConfigError(StoreError):
    """A required setting is missing or malformed: the store cannot serve until the seller
    fixes it (503, and the reason in the log)."""

    status = 503
    code = "not_configured"


@dataclass(frozen=True)
class Settings:
    region: str
    products_table: str
    purchases_table: str
    links_table: str
    sales_table: str
    bucket: str
    sender_email: str
    site_url: str
    site_name: str
    support_email: str
    currency: str
    download_limit: int
    download_ttl_days: int
    presign_seconds: int
    report_timezone: str
    user_pool_id: str
    user_pool_client_id: str
    stripe_api_base: str | None
    aws_endpoint_url: str | None
    # Tags this store's Stripe objects, so stages sharing one Stripe account ignore each other's.
    store_id: str = "bull"
    # Refund a payment when Stripe's Radar sends an actionable early fraud warning for it.
    refund_on_fraud_warning: bool = False
    # Checkout's selling options (issue 13), each off by default: Stripe promotion codes, Stripe
    # Tax with tax-exclusive or -inclusive prices, Stripe Managed Payments (merchant of record).
    allow_promotion_codes: bool = False
    stripe_tax: bool = False
    tax_behavior: str = "exclusive"
    managed_payments: bool = False
    # The seller's address for a mail per sale, refund, dispute and fraud warning and a daily
    # summary; empty: no notifications.
    notify_email: str = ""
    # Requests one client (API Gateway's source IP) may make (issue 15): per minute to checkout,
    # thanks, the library's form and the license API; and Stripe lookups of /thanks that found
    # no session of this store, per 10 minutes.
    checkout_per_minute: int = 20
    thanks_per_minute: int = 60
    thanks_unknown_per_10_minutes: int = 10
    library_per_minute: int = 30
    licenses_per_minute: int = 60
    # Figures items per product and day (issue 15): concurrent sales spread over them.
    sales_shards: int = 16

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def cognito_jwks_url(self) -> str:
        # moto serves the pool's JWKS under its own endpoint; AWS under the issuer.
        base = self.aws_endpoint_url.rstrip("/") if self.aws_endpoint_url else self.cognito_issuer
        if self.aws_endpoint_url:
            return f"{base}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{base}/.well-known/jwks.json"


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


@functools.cache
def get_settings() -> Settings:
    """Return the stage's settings, read from the environment on first call."""
    return load(os.environ)


def load(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping (the local stack passes its own).

    Raises:
        ConfigError: a number is malformed or out of range.
    """

    def _env(name: str, default: str = "") -> str:
        return environ.get(name, default).strip()

    stage = _env("BULL_STAGE", "dev")
    prefix = f"bull-{stage}"
    # Optional: without it the store derives its base URL from API Gateway's request.
    site_url = _env("SITE_URL").rstrip("/")
    return Settings(
        region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION", "us-east-1"),
        products_table=_env("PRODUCTS_TABLE", f"{prefix}-products"),
        purchases_table=_env("PURCHASES_TABLE", f"{prefix}-purchases"),
        links_table=_env("LINKS_TABLE", f"{prefix}-links"),
        sales_table=_env("SALES_TABLE", f"{prefix}-sales"),
        bucket=_env("PRODUCTS_BUCKET", f"{prefix}-products"),
        sender_email=_env("SENDER_EMAIL", "store@example.com"),
        site_url=site_url,
        site_name=_env("SITE_NAME", "Bull Store"),
        support_email=_env("SUPPORT_EMAIL") or _env("SENDER_EMAIL", "store@example.com"),
        currency=_env("STORE_CURRENCY", "usd").lower(),
        download_limit=_int(environ, "DOWNLOAD_LIMIT", 5, 1, 1000),
        download_ttl_days=_int(environ, "DOWNLOAD_TTL_DAYS", 30, 1, 3650),
        presign_seconds=_int(environ, "PRESIGN_SECONDS", 120, 10, 300),
        report_timezone=_timezone(_env("REPORT_TIMEZONE", "UTC")),
        user_pool_id=_env("USER_POOL_ID"),
        user_pool_client_id=_env("USER_POOL_CLIENT_ID"),
        stripe_api_base=_env("STRIPE_API_BASE") or None,
        aws_endpoint_url=_env("AWS_ENDPOINT_URL") or None,
        store_id=_env("STORE_ID", prefix),
        refund_on_fraud_warning=_bool(environ, "REFUND_ON_FRAUD_WARNING"),
        allow_promotion_codes=_bool(environ, "ALLOW_PROMOTION_CODES"),
        stripe_tax=_bool(environ, "STRIPE_TAX"),
        tax_behavior=_choice(environ, "TAX_BEHAVIOR", ("exclusive", "inclusive")),
        managed_payments=_bool(environ, "MANAGED_PAYMENTS"),
        notify_email=email_address("NOTIFY_EMAIL", _env("NOTIFY_EMAIL")),
        checkout_per_minute=_int(environ, "RATE_LIMIT_CHECKOUT", 20, 1, 100_000),
        thanks_per_minute=_int(environ, "RATE_LIMIT_THANKS", 60, 1, 100_000),
        thanks_unknown_per_10_minutes=_int(environ, "RATE_LIMIT_THANKS_UNKNOWN", 10, 1, 100_000),
        library_per_minute=_int(environ, "RATE_LIMIT_LIBRARY", 30, 1, 100_000),
        licenses_per_minute=_int(environ, "RATE_LIMIT_LICENSES", 60, 1, 100_000),
        sales_shards=_int(environ, "SALES_SHARDS", 16, 1, 99),
    )


# The seller's Checkout choices (issue 13): kept by `bull setup` across runs and passed on by
# the local stack from its own environment.
SELLING_SETTINGS = ("ALLOW_PROMOTION_CODES", "STRIPE_TAX", "TAX_BEHAVIOR", "MANAGED_PAYMENTS")
# The per-client limits (issue 15), passed on the same way.
LIMIT_SETTINGS = (
    "RATE_LIMIT_CHECKOUT",
    "RATE_LIMIT_THANKS",
    "RATE_LIMIT_THANKS_UNKNOWN",
    "RATE_LIMIT_LIBRARY",
    "RATE_LIMIT_LICENSES",
)


# One plain address: a name, an @ and a dotted domain; no spaces, no list, no display name.
ADDRESS = re.compile(r"[^@\s,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def email_address(name: str, raw: str) -> str:
    """`raw` as an address setting: "" when empty (off).

    Raises:
        ConfigError: it is not one plain address like seller@example.com.
    """
    value = raw.strip()
    if value and (len(value) > 254 or not ADDRESS.fullmatch(value)):
        raise ConfigError(f"{name} must be one address like seller@example.com, got {value!r}")
    return value


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when unset)."""
    raw = environ.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory
        raise ConfigError(f"REPORT_TIMEZONE {name!r} is not an IANA time zone name") from None
    return name


def reset() -> None:
    """Forget the cached settings (tests and the local stack call this)."""
    get_settings.cache_clear()
