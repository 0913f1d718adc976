"""The store's services that every request may need, built from settings, AWS clients,
secrets and a clock, and nothing else (the half that writes absolute URLs is
`chalicelib.store.under_base`)."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.admin.auth import KeySet, TokenVerifier, fetch_jwks
from chalicelib.admin.desk import AdminDesk
from chalicelib.catalog.files import object_exists
from chalicelib.catalog.products import Catalog
from chalicelib.platform import config
from chalicelib.platform.aws import AwsClients
from chalicelib.platform.limits import RateLimiter, route_limits
from chalicelib.platform.secrets import Secrets
from chalicelib.platform.tables import Tables, bind_tables
from chalicelib.platform.transactions import Transactions
from chalicelib.sale.download_ip import IpMarker
from chalicelib.sale.figures import Reports
from chalicelib.sale.licenses import Licenses
from chalicelib.sale.links import Links
from chalicelib.sale.notices import SellerNotices
from chalicelib.sale.orders import Orders
from chalicelib.sale.privacy import Privacy
from chalicelib.sale.purchases import Purchases
from chalicelib.sale.receipts import Mailer
from chalicelib.sale.thanks import UnknownSessions
from chalicelib.store.under_base import ServicesUnderBase


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store(ServicesUnderBase):
    """Builds each service on first use and keeps it."""

    def __init__(
        self,
        settings: config.Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        clients: AwsClients | None = None,
        secrets: Callable[[str], str] | None = None,
        jwks: Callable[[], dict[str, Any]] | None = None,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.pause = pause  # how a request waits out its answer floor (the library's ask)
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
        return SellerNotices(
            mailer, s.notify_email, self.clock, self.reports, self.tables.rate_counts
        )

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
            client_key=self.limiter.client_key,
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
