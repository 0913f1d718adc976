"""The composition root: every service of the store, built from settings, AWS clients, secrets
and a clock, and nothing else.

Routes call `current()`, the store of this container, built from the environment on first use
(nothing is built at import time). Tests build their own `Store` with their own clock, clients
or key fetcher and `install()` it.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.admin.auth import KeySet, TokenVerifier, fetch_jwks
from chalicelib.admin.desk import AdminDesk
from chalicelib.catalog.files import object_exists
from chalicelib.catalog.products import Catalog
from chalicelib.payments.checkout import Checkout, SellingOptions
from chalicelib.platform import aws, config
from chalicelib.platform.aws import AwsClients
from chalicelib.platform.limits import RateLimiter, route_limits
from chalicelib.platform.secrets import Secrets
from chalicelib.platform.tables import Tables, bind_tables
from chalicelib.platform.transactions import Transactions
from chalicelib.sale.after_sale import AfterSale
from chalicelib.sale.download_ip import IpMarker
from chalicelib.sale.figures import Reports
from chalicelib.sale.fulfilment import Fulfilment
from chalicelib.sale.library import Library
from chalicelib.sale.licenses import Licenses
from chalicelib.sale.links import LinkPolicy, Links
from chalicelib.sale.notices import SellerNotices
from chalicelib.sale.orders import Orders
from chalicelib.sale.privacy import Privacy
from chalicelib.sale.purchases import Purchases
from chalicelib.sale.receipts import Mailer
from chalicelib.sale.thanks import ThankYou, UnknownSessions

T = TypeVar("T")
# Services that write absolute URLs (links in mails, Stripe's redirects) are built per base URL:
# a store answers on a few (API Gateway's URL, a custom domain), so a few are kept.
BASES_KEPT = 8


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Builds each service on first use and keeps it."""

    def __init__(
        self,
        settings: config.Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        clients: AwsClients | None = None,
        secrets: Callable[[str], str] | None = None,
        jwks: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.clients = clients or AwsClients()
        self.secret = secrets or Secrets(os.environ, self.clients.ssm)
        self._jwks = jwks or (lambda: fetch_jwks(settings.cognito_jwks_url))
        self._per_base: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    # -- what every request may need ------------------------------------------------------

    @functools.cached_property
    def tables(self) -> Tables:
        """The models, bound to this stage's tables through the one DynamoDB connection."""
        return bind_tables(self.settings, self.clients.dynamodb())

    @functools.cached_property
    def transactions(self) -> Transactions:
        return Transactions(self.clients.dynamodb)

    @functools.cached_property
    def catalog(self) -> Catalog:
        s = self.settings

        def file_exists(key: str) -> bool:
            return object_exists(self.clients.s3(), s.bucket, key)

        return Catalog(model=self.tables.products, currency=s.currency, file_exists=file_exists)

    @functools.cached_property
    def purchases(self) -> Purchases:
        return Purchases(self.tables.purchases)

    @functools.cached_property
    def mailer(self) -> Mailer:
        s = self.settings
        return Mailer(self.clients.ses(), sender=s.sender_email, site_name=s.site_name)

    @functools.cached_property
    def notices(self) -> SellerNotices:
        """The seller's notices and daily summary to `NOTIFY_EMAIL` (nothing when unset)."""
        s = self.settings
        mailer = Mailer(self.clients.ses_brief(), sender=s.sender_email, site_name=s.site_name)
        return SellerNotices(mailer, s.notify_email, self.clock, self.reports)

    @functools.cached_property
    def links(self) -> Links:
        s = self.settings
        return Links(
            self.clients.s3(),
            bucket=s.bucket,
            presign_seconds=s.presign_seconds,
            model=self.tables.links,
            clock=self.clock,
            mark_ip=IpMarker(lambda: self.secret("LINK_SIGNING_KEY")),
        )

    @functools.cached_property
    def reports(self) -> Reports:
        s = self.settings
        return Reports(
            self.catalog, timezone=s.report_timezone, currency=s.currency, model=self.tables.sales
        )

    @functools.cached_property
    def orders(self) -> Orders:
        return Orders(self.tables.purchases, timezone=self.settings.report_timezone)

    @functools.cached_property
    def privacy(self) -> Privacy:
        """A buyer's requests to see or erase what the store holds about them."""
        t = self.tables
        return Privacy(
            purchases=t.purchases,
            links=t.links,
            tokens=t.library_tokens,
            allowances=t.allowances,
            licenses=t.licenses,
            clock=self.clock,
        )

    @functools.cached_property
    def verifier(self) -> TokenVerifier:
        s = self.settings
        return TokenVerifier(
            KeySet(self._jwks), issuer=s.cognito_issuer, client_id=s.user_pool_client_id
        )

    @functools.cached_property
    def desk(self) -> AdminDesk:
        return AdminDesk(
            catalog=self.catalog,
            purchases=self.purchases,
            links=self.tables.links,
            s3=self.clients.s3(),
            bucket=self.settings.bucket,
            clock=self.clock,
        )

    @functools.cached_property
    def licenses(self) -> Licenses:
        return Licenses(
            secret=self.secret("LINK_SIGNING_KEY"),
            model=self.tables.licenses,
            purchases=self.purchases,
            allowances=self.tables.allowances,
            clock=self.clock,
        )

    @functools.cached_property
    def limiter(self) -> RateLimiter:
        """Per-client limits on the routes that call Stripe or send mail (issue 15)."""
        return RateLimiter(
            self.tables.rate_counts,
            limits=route_limits(self.settings),
            key=lambda: self.secret("LINK_SIGNING_KEY"),
            clock=self.clock,
        )

    @functools.cached_property
    def unknown_sessions(self) -> UnknownSessions:
        """Checkout Session ids Stripe did not know, kept for this container's life."""
        return UnknownSessions(self.tables.unknown_sessions, self.clock)

    def webhook_secret(self) -> str:
        return self.secret("STRIPE_WEBHOOK_SECRET")

    # -- services that write absolute URLs, per base URL ------------------------------------

    def link_policy(self, base: str | None = None) -> LinkPolicy:
        """Links under `base` (default: `SITE_URL`)."""
        s = self.settings
        return self._for_base(
            "links",
            base,
            lambda url: LinkPolicy(
                key=self.secret("LINK_SIGNING_KEY"),
                base_url=url,
                download_limit=s.download_limit,
                ttl_days=s.download_ttl_days,
            ),
        )

    def checkout(self, base: str | None = None) -> Checkout:
        """Checkout whose sessions bring the buyer back under `base`."""
        s = self.settings
        return self._for_base(
            "checkout",
            base,
            lambda url: Checkout(
                self.secret("STRIPE_SECRET_KEY"),
                s.stripe_api_base,
                url,
                store_id=s.store_id,
                options=SellingOptions(
                    allow_promotion_codes=s.allow_promotion_codes,
                    automatic_tax=s.stripe_tax,
                    tax_behavior=s.tax_behavior,
                    managed_payments=s.managed_payments,
                ),
            ),
        )

    def fulfilment(self, base: str | None = None) -> Fulfilment:
        """Fulfilment whose receipts link under `base`."""
        return self._for_base(
            "fulfilment",
            base,
            lambda url: Fulfilment(
                catalog=self.catalog,
                purchases=self.purchases,
                mailer=self.mailer,
                links=self.link_policy(url),
                transactions=self.transactions,
                timezone=self.settings.report_timezone,
                clock=self.clock,
                currency=self.settings.currency,
                notices=self.notices,
                figures_shards=self.settings.sales_shards,
            ),
        )

    def after_sale(self, base: str | None = None) -> AfterSale:
        """Refunds, disputes and the seller's actions; resent links live under `base`."""
        return self._for_base(
            "after_sale",
            base,
            lambda url: AfterSale(
                purchases=self.purchases,
                links=self.link_policy(url),
                mailer=self.mailer,
                transactions=self.transactions,
                timezone=self.settings.report_timezone,
                clock=self.clock,
                store_id=self.settings.store_id,
                refund=lambda intent, key: self.checkout(url).refund(intent, idempotency_key=key),
                refund_on_fraud_warning=self.settings.refund_on_fraud_warning,
                notices=self.notices,
                figures_shards=self.settings.sales_shards,
            ),
        )

    def thank_you(self, public: str, page: str) -> ThankYou:
        """The thank-you page: fulfilment mails under `public`, the page links under `page`."""
        return ThankYou(
            checkout=self.checkout(public),
            fulfilment=self.fulfilment(public),
            page_links=self.link_policy(page),
            clock=self.clock,
            store_id=self.settings.store_id,
            unknown=self.unknown_sessions,
            limiter=self.limiter,
        )

    def library(self, public: str, page: str) -> Library:
        """The buyer's library: sign-in links mailed under `public`, download links shown
        under `page`."""
        return Library(
            purchases=self.purchases,
            mail_links=self.link_policy(public),
            page_links=self.link_policy(page),
            mailer=self.mailer,
            tokens=self.tables.library_tokens,
            allowances=self.tables.allowances,
            clock=self.clock,
        )

    def _for_base(self, kind: str, base: str | None, build: Callable[[str], T]) -> T:
        url = (base or self.settings.site_url).rstrip("/")
        key = (kind, url)
        with self._lock:
            if key in self._per_base:
                self._per_base.move_to_end(key)
                return self._per_base[key]
        made = build(url)
        with self._lock:
            self._per_base[key] = made
            while len(self._per_base) > BASES_KEPT * 4:
                self._per_base.popitem(last=False)
        return made


_current: Store | None = None
_current_lock = threading.Lock()


def current() -> Store:
    """This container's store, built from the environment on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = Store(config.get_settings())
        return _current


def install(store: Store) -> None:
    """Use `store` from now on (tests)."""
    global _current
    with _current_lock:
        _current = store


def reset() -> None:
    """Forget the store, the settings and every AWS client: the next request builds anew."""
    install(None)  # type: ignore[arg-type]
    config.reset()
    aws.reset()
