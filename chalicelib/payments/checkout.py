"""Stripe Checkout: sessions out (at the product's recorded price, or the amount a buyer chose
for a pay-what-you-want product), sessions and refunds read.

`stripe` is imported inside the methods that need it, so a cold start that serves a download
or a report never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.catalog.view import ProductView
from chalicelib.errors import BadRequest, Conflict, NotFound, PaymentProviderError
from chalicelib.money import MAX_CHARGE, decimals, format_amount, parse_amount

MAX_EMAIL_LENGTH = 254
# Stripe Tax's "General - Electronically Supplied Services" (https://docs.stripe.com/tax/tax-codes):
# any electronically supplied good or service, the code for a downloaded file.
DEFAULT_TAX_CODE = "txcd_10000000"


@dataclass(frozen=True)
class SellingOptions:
    """How the store sells at Checkout, each a store setting, off by default."""

    # Stripe promotion codes (made in the seller's Stripe dashboard) on the Checkout page.
    allow_promotion_codes: bool = False
    # Stripe Tax computes and collects tax (the seller registers where they must collect).
    automatic_tax: bool = False
    # Whether prices include tax ("inclusive") or tax is added on top ("exclusive").
    tax_behavior: str = "exclusive"
    # Stripe Managed Payments: Stripe is the merchant of record (it handles the tax itself).
    managed_payments: bool = False


def chosen_amount(product: ProductView, raw: Any) -> int:
    """What the buyer pays in minor units: the product's price, or for a pay-what-you-want
    product the `amount` the buyer typed (missing: the suggested price). The typed amount is a
    plain decimal in the product's currency with at most its decimals, at least the minimum and
    at most Stripe's largest charge. A fixed-price product ignores `amount`.

    Raises:
        BadRequest (`bad_amount`, `amount_too_low`, `amount_too_high`): saying what to type.
    """
    minimum = product.min_price_cents
    if minimum is None or raw is None:
        return product.price_cents
    currency = product.currency
    example = "7.50" if decimals(currency) else "750"
    text = raw.strip() if isinstance(raw, str) else None
    if not text:
        raise BadRequest(f"Type the amount you want to pay, such as {example}.", code="bad_amount")
    try:
        cents = parse_amount(text, currency, plain=True)
    except ValueError:
        if decimals(currency) == 0:
            how = f"{currency.upper()} has no decimals: type whole units such as {example}."
        else:
            how = (
                f"Type the amount with digits and a point, at most {decimals(currency)} "
                f"decimals, such as {example}."
            )
        raise BadRequest(how, code="bad_amount") from None
    if cents < minimum:
        message = f"The least you can pay is {format_amount(minimum, currency)}."
        raise BadRequest(message, code="amount_too_low")
    if cents > MAX_CHARGE:
        message = f"The most you can pay is {format_amount(MAX_CHARGE, currency)}."
        raise BadRequest(message, code="amount_too_high")
    return cents


class Checkout:
    """Creates and reads Checkout Sessions through the Stripe API."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None,
        site_url: str,
        store_id: str = "bull",
        options: SellingOptions | None = None,
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base
        self._site_url = site_url
        self._store_id = store_id
        self._options = options or SellingOptions()
        self._client: Any = None

    def _stripe(self) -> Any:
        if self._client is None:
            import stripe

            kwargs: dict[str, Any] = {"max_network_retries": 2}
            if self._api_base:
                kwargs["base_addresses"] = {"api": self._api_base}
            self._client = stripe.StripeClient(self._api_key, **kwargs)
        return self._client

    def session_params(
        self, product: ProductView, email: str | None, amount_cents: int | None = None
    ) -> dict[str, Any]:
        """The parameters of `checkout.sessions.create` for `product` at `amount_cents` (its
        recorded price when None), with the store's selling options."""
        options = self._options
        # The session's and the PaymentIntent's (Stripe copies the latter onto the charge).
        metadata = {"product_id": product.id, "store": self._store_id}
        product_data: dict[str, Any] = {"name": product.name}
        price_data: dict[str, Any] = {
            "currency": product.currency,
            "unit_amount": product.price_cents if amount_cents is None else amount_cents,
            "product_data": product_data,
        }
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": price_data}],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": f"{self._site_url}/thanks?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{self._site_url}/",
        }
        if options.allow_promotion_codes:
            params["allow_promotion_codes"] = True
        if options.managed_payments:
            # Stripe, the merchant of record, computes the tax from the product's tax code and
            # collects the address itself: automatic_tax and tax_behavior are its to set.
            product_data["tax_code"] = product.tax_code or DEFAULT_TAX_CODE
            params["managed_payments"] = {"enabled": True}
        elif options.automatic_tax:
            product_data["tax_code"] = product.tax_code or DEFAULT_TAX_CODE
            price_data["tax_behavior"] = options.tax_behavior
            params["automatic_tax"] = {"enabled": True}
            # No Customer object is made, so Checkout itself collects the address tax needs.
            params["billing_address_collection"] = "required"
        if email:
            params["customer_email"] = email
        return params

    def create_session(
        self, product: ProductView, email: str | None, amount_cents: int | None = None
    ) -> str:
        """Start a Checkout Session for `product` at its recorded price (or at `amount_cents`,
        a pay-what-you-want amount already checked by `chosen_amount`); return its URL.

        Raises:
            BadRequest: Stripe refused the buyer's email address.
            PaymentProviderError: Stripe refused or could not be reached.
        """
        import stripe

        params = self.session_params(product, email, amount_cents)
        try:
            session = self._stripe().v1.checkout.sessions.create(params=params)
        except stripe.StripeError as exc:
            if getattr(exc, "param", None) == "customer_email":
                message = "Check the email address and try again."
                raise BadRequest(message, code="bad_email") from exc
            raise PaymentProviderError(
                "The payment provider is not answering. Please try again in a minute."
            ) from exc
        return str(session.url)

    def retrieve_session(self, session_id: str) -> dict[str, Any]:
        """Fetch a Checkout Session as a plain dict.

        Raises:
            NotFound: Stripe knows no such session.
            PaymentProviderError: Stripe could not be reached.
        """
        import stripe

        try:
            session = self._stripe().v1.checkout.sessions.retrieve(session_id)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing" or exc.http_status == 404:
                raise NotFound("We could not find that checkout.") from None
            raise PaymentProviderError("The payment provider refused the request.") from exc
        except stripe.StripeError as exc:
            raise PaymentProviderError(
                "The payment provider is not answering. Please try again in a minute."
            ) from exc
        return session.to_dict()

    def refund(self, payment_intent: str, idempotency_key: str | None = None) -> str:
        """Refund a payment in full; return the refund id. Stripe then sends charge.refunded.

        With `idempotency_key`, asking again with the same key returns the same refund (Stripe
        keeps keys for 24 hours) instead of refunding again.

        Raises:
            Conflict: Stripe says the charge is already refunded (a second click, say).
            PaymentProviderError: Stripe refused or could not be reached.
        """
        import stripe

        try:
            options = {"idempotency_key": idempotency_key} if idempotency_key else None
            refund = self._stripe().v1.refunds.create(
                params={"payment_intent": payment_intent}, options=options
            )
        except stripe.StripeError as exc:
            if exc.code == "charge_already_refunded":
                message = "This payment is already refunded."
                raise Conflict(message, code="already_refunded") from exc
            raise PaymentProviderError("The payment provider refused the refund.") from exc
        return str(refund.id)


def clean_email(value: Any) -> str | None:
    """An optional buyer email from a form: None when empty, BadRequest (`bad_email`, saying
    what to fix) when it cannot be an address Stripe and SES would take."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("The email address must be text.", code="bad_email")
    email = value.strip()
    try:
        email.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") from JSON: no mail system can carry it.
        raise BadRequest(
            "The email address contains a character that is not valid text; retype it.",
            code="bad_email",
        ) from None
    if any(c.isspace() or not c.isprintable() for c in email):
        raise BadRequest(
            "The email address must not contain spaces or control characters.", code="bad_email"
        )
    if len(email) > MAX_EMAIL_LENGTH:
        raise BadRequest(
            f"The email address is longer than {MAX_EMAIL_LENGTH} characters.", code="bad_email"
        )
    local, at, domain = email.rpartition("@")
    if not at or not local:
        raise BadRequest(
            "The email address needs a name before an @, like name@example.com.",
            code="bad_email",
        )
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise BadRequest(
            "The email address needs a domain after the @, like name@example.com.",
            code="bad_email",
        )
    return email
