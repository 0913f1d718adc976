"""What a buyer's data export shows of a purchase and its download links (`privacy.Privacy`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.platform.tables import DownloadLink, License, Purchase
from chalicelib.sale.download_log import download_log
from chalicelib.sale.licenses import license_status


def iso(value: datetime | None) -> str | None:
    """A stored UTC time in ISO 8601; None stays None."""
    return value.astimezone(UTC).isoformat() if value else None


def epoch_iso(value: Any) -> str | None:
    """Epoch seconds in ISO 8601 (UTC); None stays None."""
    return datetime.fromtimestamp(int(value), UTC).isoformat() if value is not None else None


def purchase_data(
    p: Purchase, links: list[DownloadLink], license: License | None = None
) -> dict[str, Any]:
    """A purchase as its buyer's export shows it, with its links (`links`: current and
    replaced ones) and its license key's activations, if it has one."""
    return {
        "order_id": p.session_id,
        "email": p.email,
        "product_id": p.product_id,
        "product_name": p.product_name,
        "status": p.status,
        "currency": p.currency,
        "amount_cents": int(p.amount_cents or 0),
        "subtotal_cents": None if p.subtotal_cents is None else int(p.subtotal_cents),
        "tax_cents": int(p.tax_cents or 0),
        "discount_cents": int(p.discount_cents or 0),
        "charged_cents": None if p.charged_cents is None else int(p.charged_cents),
        "charged_currency": p.charged_currency,
        "refunded_cents": int(p.refunded_cents or 0),
        "disputed_cents": int(p.disputed_cents or 0),
        "payment_intent": p.payment_intent,
        "created_at": iso(p.created_at),
        "paid_at": iso(p.paid_at),
        "sale_day": p.sale_day,
        "download_state": p.link_state,
        "revoked_at": iso(p.revoked_at),
        "refunds": [
            {
                "refund_id": r.refund_id,
                "amount_cents": int(r.amount_cents or 0),
                "status": r.status,
                "created_at": epoch_iso(r.created),
            }
            for r in p.refunds or ()
        ],
        "disputes": [
            {
                "dispute_id": d.dispute_id,
                "amount_cents": int(d.amount_cents or 0),
                "status": d.status,
                "reason": d.reason,
                "closed_at": epoch_iso(d.closed_at),
            }
            for d in p.disputes or ()
        ],
        "fraud_warnings": [
            {"warning_id": w.warning_id, "fraud_type": w.fraud_type, "at": iso(w.warned_at)}
            for w in p.fraud_warnings or ()
        ],
        "receipt": {
            "sent_at": iso(p.receipt_sent_at),
            "refused": bool(p.receipt_error),
        },
        "license": license_data(p, license) if license is not None else None,
        "links": [link_data(link, link.token_hash == p.token_hash) for link in links],
    }


def link_data(link: DownloadLink, current: bool) -> dict[str, Any]:
    """A download link as the export shows it: its state and every download logged."""
    return {
        "current": current,
        "state": link.state,
        "downloads_left": int(link.downloads_left),
        "expires_at": epoch_iso(link.expires_at),
        "created_at": iso(link.created_at),
        "downloads": [
            {"at": e.at.isoformat(), "ip_hash": e.ip_hash, "user_agent": e.user_agent}
            for e in download_log(link)
        ],
    }


def activations_of(item: License) -> dict[str, dict[str, Any]]:
    """A license's activations as plain data: instance id to `{"name", "at"}`."""
    return item.activations.as_dict() if item.activations is not None else {}


def license_data(purchase: Purchase, item: License) -> dict[str, Any]:
    """A license key as the export shows it: whether it works, its limit and each activation
    (the key itself is not stored, only its SHA-256; the buyer has it in the receipt)."""
    activations = activations_of(item)
    oldest_first = sorted(activations.items(), key=lambda kv: int((kv[1] or {}).get("at") or 0))
    return {
        "status": license_status(purchase),
        "activation_limit": int(item.activation_limit),
        "activations": [
            {
                "instance_id": instance,
                "instance_name": (entry or {}).get("name", ""),
                "activated_at": epoch_iso((entry or {}).get("at")),
            }
            for instance, entry in oldest_first
        ],
    }
