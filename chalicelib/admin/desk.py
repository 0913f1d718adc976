"""What the seller's admin API shows and does: products with upload URLs, purchases with their
link and download log. Every response is shaped here on purpose, never a raw item."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.catalog.products import Catalog
from chalicelib.catalog.view import ProductView
from chalicelib.errors import BadRequest, Conflict, NotFound, Unavailable
from chalicelib.money import displayed, format_amount, parse_amount
from chalicelib.platform.tables import DownloadLink, Purchase
from chalicelib.sale.download_log import download_log
from chalicelib.sale.links import link_view, read_links
from chalicelib.sale.purchases import Purchases

UPLOAD_URL_SECONDS = 900
RECENT_LIMIT = 50
# The seller's actions on a purchase (POST /admin/purchases/{id}/{action}).
ACTIONS = ("resend", "reset", "revoke", "refund")


PLAIN_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _when(value: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
    """A time as the dashboard shows it: UTC, to the minute."""
    return value.astimezone(UTC).strftime(form + " UTC") if value else ""


def typed_price(fields: dict[str, Any], currency: str, name: str = "price") -> Any:
    """The price a seller typed, as text in `currency` (`price`: "19.99", or "1500" in yen),
    parsed into minor units with the currency's own exponent; without `price`, `price_cents`
    as sent (the catalog checks it). `name` "min_price" reads the pay-what-you-want minimum
    the same way (an empty `min_price`: none).

    Raises:
        BadRequest (`bad_price`): `price` is not a plain amount in `currency`.
    """
    if name not in fields:
        return fields.get(f"{name}_cents")
    text = fields[name].strip() if isinstance(fields[name], str) else ""
    if name != "price" and not text:
        return None
    if not PLAIN_AMOUNT.fullmatch(text):
        raise BadRequest("Type the price as a plain amount such as 19.99.", code="bad_price")
    try:
        return parse_amount(text, currency, plain=True)
    except ValueError:
        message = f"{text} has more decimals than {currency.upper()} allows."
        raise BadRequest(message, code="bad_price") from None


def link_shown(status: str | None, dispute_status: str | None, link_state: str | None) -> str:
    """The link's state as the seller reads it: the payment's status until it is paid, then on
    hold while a dispute is open, else the link's own state."""
    if status != "paid":
        return status or "pending"
    if dispute_status == "open":
        return "on_hold"
    return link_state or "active"


def _receipt(purchase: Purchase) -> str:
    if purchase.receipt_error:
        return f"Not delivered: {purchase.receipt_error}"
    if purchase.receipt_sent_at:
        return f"Sent {_when(purchase.receipt_sent_at)}"
    return "Not sent yet"


def refusal(purchase: Purchase, action: str) -> Conflict | None:
    """Why the seller's `action` means nothing for this purchase (a 409 to raise), or None
    when the purchase can take it. The dashboard offers only the actions this allows.

    A purchase that is unpaid, refunded or revoked takes none; while a dispute holds the link
    only revoke is left (Stripe refuses to refund a disputed charge)."""
    if purchase.status != "paid" or not purchase.token_hash:
        return Conflict(
            "This purchase has not been paid, so there is nothing to do yet.", code="not_paid"
        )
    if purchase.link_state in ("refunded", "revoked"):
        message = f"This purchase is {purchase.link_state}: its link is dead for good."
        return Conflict(message, code=f"link_{purchase.link_state}")
    if purchase.dispute_status == "open" and action != "revoke":
        return Conflict("A dispute is open: the link is on hold until it closes.", code="on_hold")
    if action == "resend" and not purchase.email:
        return Conflict("This purchase has no email address to send to.", code="no_email")
    if action == "refund" and not purchase.payment_intent and not int(purchase.amount_cents or 0):
        # A 100 % promotion code: Stripe took no payment (`no_payment_required`).
        return Conflict("Nothing was paid for this purchase, so there is nothing to refund.",
                        code="nothing_paid")  # fmt: skip
    if action == "refund" and (
        not purchase.payment_intent
        or int(purchase.refunded_cents or 0) >= int(purchase.amount_cents or 0) > 0
    ):
        return Conflict("This payment is already refunded.", code="already_refunded")
    return None


def after_sale_view(purchase: Purchase) -> dict[str, Any]:
    """What happened after the sale, each amount also as text in the purchase's currency: the
    subtotal, what the charge was in when Stripe converted the sale, every refund and dispute by
    id, and Radar's early fraud warnings (`fraud_warning`: a line for the seller, or None)."""
    currency = purchase.currency or "usd"
    view: dict[str, Any] = {}
    if purchase.subtotal_cents is not None:
        view["subtotal_cents"] = int(purchase.subtotal_cents)
        view["subtotal"] = format_amount(int(purchase.subtotal_cents), currency)
    if purchase.charged_cents is not None and purchase.charged_currency:
        view["charged_cents"] = int(purchase.charged_cents)
        view["charged_currency"] = purchase.charged_currency
        view["charged"] = format_amount(int(purchase.charged_cents), purchase.charged_currency)
    charged_currency = purchase.charged_currency or currency
    view["refunds"] = [
        {
            "id": r.refund_id,
            "status": r.status,
            "amount_cents": int(r.amount_cents or 0),
            "amount": format_amount(int(r.amount_cents or 0), charged_currency),
        }
        for r in purchase.refunds or []
    ]
    view["disputes"] = [
        {
            "id": d.dispute_id,
            "status": d.status,
            "reason": d.reason,
            "amount_cents": int(d.amount_cents or 0),
            "amount": format_amount(int(d.amount_cents or 0), charged_currency),
        }
        for d in purchase.disputes or []
    ]
    warnings = [
        {
            "id": w.warning_id,
            "fraud_type": w.fraud_type,
            "actionable": bool(w.actionable),
            "at": _iso(w.warned_at),
            "refund_id": w.refund_id,
        }
        for w in purchase.fraud_warnings or []
    ]
    view["fraud_warnings"] = warnings
    view["fraud_warning"] = None
    if warnings:
        last = warnings[-1]
        kind = (last["fraud_type"] or "fraud").replace("_", " ")
        refunded = ", refunded" if last["refund_id"] else ""
        view["fraud_warning"] = (
            f"Early fraud warning ({kind}) {_when(purchase.fraud_warnings[-1].warned_at)}{refunded}"
        )
    return view


def product_view(product: ProductView) -> dict[str, Any]:
    """A product as the admin API shows it, its price also as text (`price`: "¥1,500")."""
    view = product.admin()
    return {**view, **displayed(view, product.currency)}


def purchase_view(
    purchase: Purchase,
    link: DownloadLink | None = None,
    now: datetime | None = None,
    log: bool = True,
) -> dict[str, Any]:
    """A purchase as the admin API shows it; with its current `link`, the link's own state
    once it gives no more downloads (`used_up`, `expired` at `now`), its downloads left and
    expiry, and (`log`) its download log."""
    view = {
        "id": purchase.session_id,
        "product_id": purchase.product_id,
        "product_name": purchase.product_name,
        "amount_cents": int(purchase.amount_cents or 0),
        "refunded_cents": int(purchase.refunded_cents or 0),
        "disputed_cents": int(purchase.disputed_cents or 0),
        "tax_cents": int(purchase.tax_cents or 0),
        "discount_cents": int(purchase.discount_cents or 0),
        "currency": purchase.currency,
        "email": purchase.email,
        "payment_intent": purchase.payment_intent,
        "status": purchase.status,
        "link_state": purchase.link_state,
        "dispute_status": purchase.dispute_status,
        "created_at": _iso(purchase.created_at),
        "receipt_sent_at": _iso(purchase.receipt_sent_at),
        "receipt_error": purchase.receipt_error,
    }
    # What the dashboard shows as it is: amounts, the link's state, the receipt, times.
    state = link_shown(purchase.status, purchase.dispute_status, purchase.link_state)
    if link is not None and state == "active" and now is not None:
        state = link_view(link).gone_reason(now.timestamp()) or state
    view.update(displayed(view, purchase.currency or "usd"))
    view.update(state=state, state_label=state.replace("_", " "), receipt=_receipt(purchase))
    view["created"] = _when(purchase.created_at)
    view.update(after_sale_view(purchase))
    view["actions"] = [a for a in ACTIONS if refusal(purchase, a) is None]
    if link is not None:
        expires = datetime.fromtimestamp(int(link.expires_at), UTC)
        view["downloads_left"] = int(link.downloads_left)
        view["expires_at"] = _iso(expires)
        view["expires"] = _when(expires)
    if link is not None and log:
        view["download_log"] = [
            {
                "at": _iso(entry.at),
                "when": _when(entry.at, "%Y-%m-%d %H:%M:%S"),
                "ip_hash": entry.ip_hash,
                "user_agent": entry.user_agent,
            }
            for entry in download_log(link)
        ]
    return view


class AdminDesk:
    """The seller's view of products and purchases."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        purchases: Purchases,
        links: type[DownloadLink],
        s3: Any,
        bucket: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._purchases = purchases
        self._links = links
        self._s3 = s3
        self._bucket = bucket
        self._clock = clock

    def upload_url(self, product: ProductView) -> dict[str, Any]:
        """A presigned PUT for the product's pending file version, else its current one."""
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": product.pending_file_key or product.file_key},
            ExpiresIn=UPLOAD_URL_SECONDS,
        )
        return {"method": "PUT", "url": url, "expires_in": UPLOAD_URL_SECONDS}

    def products(self) -> list[dict[str, Any]]:
        return [product_view(p) for p in self._catalog.list_all()]

    def purchase(self, purchase: Purchase) -> dict[str, Any]:
        """A purchase with its current link's downloads left, expiry and download log."""
        link = None
        if purchase.token_hash:
            try:
                link = self._links.get(purchase.token_hash)
            except DoesNotExist:
                link = None
            except PynamoDBException as exc:
                raise Unavailable("The store could not read the purchase.") from exc
        return purchase_view(purchase, link, self._clock())

    def allow(self, purchase: Purchase, action: str) -> None:
        """Refuse an action the purchase cannot take, as the dashboard does not offer it.

        Raises:
            NotFound: no such action.
            Conflict (409): the purchase cannot take it (`not_paid`, `link_refunded`,
                `link_revoked`, `on_hold`, `no_email`, `already_refunded`).
        """
        if action not in ACTIONS:
            raise NotFound("No such action.")
        refused = refusal(purchase, action)
        if refused is not None:
            raise refused

    def find(self, email: str | None) -> list[dict[str, Any]]:
        """Purchases by buyer email (newest first), or the most recent ones.

        Raises:
            BadRequest: the email does not look like an address.
            Unavailable: DynamoDB failed.
        """
        if email:
            email = email.strip()
            if len(email) > 254 or "@" not in email:
                raise BadRequest("email does not look like an address")
            found = self._purchases.by_buyer(email, limit=RECENT_LIMIT)
        else:
            found = self._purchases.recent(self._clock(), RECENT_LIMIT)
        links = read_links(self._links, (p.token_hash for p in found if p.token_hash))
        now = self._clock()
        return [purchase_view(p, links.get(p.token_hash or ""), now, log=False) for p in found]
