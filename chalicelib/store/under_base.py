"""The store's services that write absolute URLs (links in mails, Stripe's redirects), built
per base URL: a store answers on a few (API Gateway's URL, a custom domain), so a few of each
are kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.payments.checkout import Checkout, SellingOptions
from chalicelib.sale.after_sale import AfterSale
from chalicelib.sale.fulfilment import Fulfilment
from chalicelib.sale.library import Library
from chalicelib.sale.links import LinkPolicy
from chalicelib.sale.thanks import ThankYou

T = TypeVar("T")
BASES_KEPT = 8


class ServicesUnderBase:
    """The half of `Store` whose services live under a base URL. Relies on the store's
    `settings`, `secret`, `clock`, shared services and its `_per_base` cache and `_lock`."""

    settings: Any
    pause: Any
    _per_base: Any
    _lock: Any

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
            links=self.links,
            mail_links=self.link_policy(public),
            page_links=self.link_policy(page),
            mailer=self.mailer,
            tokens=self.tables.library_tokens,
            allowances=self.tables.allowances,
            client_key=self.limiter.client_key,
            clock=self.clock,
            pause=self.pause,
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
