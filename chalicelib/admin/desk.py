"""What the seller's admin API shows and does: products with upload URLs, purchases with their
link and download log. Every response is shaped here on purpose, never a raw item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.catalog.products import Catalog, ProductView
from chalicelib.errors import BadRequest, Unavailable
from chalicelib.platform.tables import DownloadLink, Purchase
from chalicelib.sale.links import download_log

UPLOAD_URL_SECONDS = 900
RECENT_LIMIT = 50


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def purchase_view(purchase: Purchase, link: DownloadLink | None = None) -> dict[str, Any]:
    view = {
        "id": purchase.session_id,
        "product_id": purchase.product_id,
        "product_name": purchase.product_name,
        "amount_cents": int(purchase.amount_cents or 0),
        "refunded_cents": int(purchase.refunded_cents or 0),
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
    if link is not None:
        view["downloads_left"] = int(link.downloads_left)
        view["expires_at"] = _iso(datetime.fromtimestamp(int(link.expires_at), UTC))
        view["download_log"] = [
            {"at": _iso(entry.at), "ip_hash": entry.ip_hash, "user_agent": entry.user_agent}
            for entry in download_log(link)
        ]
    return view


class AdminDesk:
    """The seller's view of products and purchases."""

    def __init__(self, catalog: Catalog, s3: Any, bucket: str) -> None:
        self._catalog = catalog
        self._s3 = s3
        self._bucket = bucket

    def upload_url(self, product: ProductView) -> dict[str, Any]:
        """A presigned PUT for the product's pending file version, else its current one."""
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": product.pending_file_key or product.file_key},
            ExpiresIn=UPLOAD_URL_SECONDS,
        )
        return {"method": "PUT", "url": url, "expires_in": UPLOAD_URL_SECONDS}

    def products(self) -> list[dict[str, Any]]:
        return [p.admin() for p in self._catalog.list_all()]

    def purchase(self, session_id: str, purchase: Purchase) -> dict[str, Any]:
        """A purchase with its current link's downloads left, expiry and download log."""
        link = None
        if purchase.token_hash:
            try:
                link = DownloadLink.get(purchase.token_hash)
            except DoesNotExist:
                link = None
            except PynamoDBException as exc:
                raise Unavailable("The store could not read the purchase.") from exc
        return purchase_view(purchase, link)

    def find(self, email: str | None, now: datetime | None = None) -> list[dict[str, Any]]:
        """Purchases by buyer email (newest first), or the most recent ones."""
        try:
            if email:
                email = email.strip()
                if len(email) > 254 or "@" not in email:
                    raise BadRequest("email does not look like an address")
                items = Purchase.email_index.query(email, scan_index_forward=False, limit=100)
                return [purchase_view(p) for p in items]
            return [purchase_view(p) for p in self.recent(now or datetime.now(UTC))]
        except PynamoDBException as exc:
            raise Unavailable("The store could not read purchases.") from exc

    def recent(self, now: datetime, limit: int = RECENT_LIMIT) -> list[Purchase]:
        """The newest purchases: this month's partition of the recent index, then last month's."""
        found: list[Purchase] = []
        month = now.replace(day=1)
        for _ in range(3):
            key = month.strftime("%Y-%m")
            found += list(
                Purchase.recent_index.query(key, scan_index_forward=False, limit=limit - len(found))
            )
            if len(found) >= limit:
                break
            month = (month - timedelta(days=1)).replace(day=1)
        return found
