"""The shapes of CONTRACT.md's answers as the code returns them, for `bull_chalice.openapi`.

Read from chalicelib/catalog/products.py, chalicelib/admin/desk.py and chalicelib/sale/figures.py;
a test validates the store's real answers against them. Objects allow more fields than they
list (the contract only ever adds). A route names a shape in its docstring's `Returns:`; only
the shapes some route names are emitted.
"""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: str, optional: str = "", **types: Any) -> dict[str, Any]:
    """An object schema: `required` and `optional` name its fields; ints end in `_cents` or are
    named in `types`, which also overrides any field's schema; everything else is a string."""
    fields = required.split() + optional.split()
    props = {
        f: types.get(f, {"type": "integer"} if f.endswith("_cents") else {"type": "string"})
        for f in fields
    }
    return {"type": "object", "required": required.split(), "properties": props}


INT, BOOL, TEXT_OR_NULL = {"type": "integer"}, {"type": "boolean"}, {"type": ["string", "null"]}
DATE = {"type": "string", "format": "date"}
NULLABLE_PURCHASE_FIELDS = (
    "email payment_intent link_state dispute_status created_at receipt_sent_at receipt_error "
    "expires_at"
)
DAY_FIELDS = "orders gross_cents refunded_cents net_cents disputed_cents tax_cents discount_cents"
OTHER_CURRENCY_FIELDS = "currency orders gross_cents refunded_cents disputed_cents net_cents"
LICENSE_FIELDS = {
    "valid": BOOL,
    "instance_active": BOOL,
    "status": {
        "enum": ["active", "refunded", "revoked", "disputed", "failed", "pending", "unknown"]
    },
    "product_id": TEXT_OR_NULL,
    "activations": INT,
    "activation_limit": INT,
}
SHAPES: dict[str, dict[str, Any]] = {
    "Error": _obj(
        "error",
        error={**_obj("code message"), "description": "`code` is stable; `message` is for people."},
    ),
    "Product": _obj(
        "id name description price_cents currency",
        "min_price_cents",
        min_price_cents={
            "type": "integer",
            "description": "pay what you want: the least a buyer may pay; `price_cents` is then "
            "the suggested price",
        },
    ),
    "AdminProduct": _obj(
        "id name description price_cents currency filename file_version active pending_filename",
        "min_price_cents tax_code license_keys activation_limit",
        file_version=INT,
        license_keys={**BOOL, "description": "each paid purchase gets a license key"},
        activation_limit={**INT, "description": "instances one key may be active on"},
        active=BOOL,
        pending_filename={**TEXT_OR_NULL, "description": "a new file version not yet published"},
        min_price_cents={"type": ["integer", "null"], "description": "pay what you want minimum"},
        tax_code={**TEXT_OR_NULL, "description": "Stripe Tax product tax code (null: default)"},
    ),
    "Upload": {
        **_obj("method url expires_in", expires_in=INT, method={"const": "PUT"}),
        "description": "A presigned S3 PUT for the product's file.",
    },
    "ProductList": _obj("products", products={"type": "array", "items": ref("Product")}),
    "AdminProductList": _obj("products", products={"type": "array", "items": ref("AdminProduct")}),
    "ProductCreated": _obj("product upload", product=ref("AdminProduct"), upload=ref("Upload")),
    "ProductChanged": _obj("product", "upload", product=ref("AdminProduct"), upload=ref("Upload")),
    "Purchase": _obj(
        "id product_id product_name amount_cents refunded_cents disputed_cents tax_cents "
        "discount_cents currency email payment_intent status link_state dispute_status "
        "created_at receipt_sent_at receipt_error refunds disputes fraud_warnings fraud_warning",
        "downloads_left expires_at download_log actions subtotal_cents charged_cents "
        "charged_currency",
        refunds={
            "type": "array",
            "items": _obj("id status amount_cents"),
            "description": "every refund by Stripe id, in the charge's currency",
        },
        disputes={
            "type": "array",
            "items": _obj("id status amount_cents", "reason", reason=TEXT_OR_NULL),
            "description": "every dispute by Stripe id: `open`, or how it closed",
        },
        fraud_warnings={
            "type": "array",
            "items": _obj(
                "id actionable at",
                "fraud_type refund_id",
                actionable=BOOL,
                fraud_type=TEXT_OR_NULL,
                refund_id=TEXT_OR_NULL,
            ),
        },
        fraud_warning={**TEXT_OR_NULL, "description": "the latest early fraud warning, as text"},
        **dict.fromkeys(NULLABLE_PURCHASE_FIELDS.split(), TEXT_OR_NULL),
        actions={
            "type": "array",
            "items": {"enum": ["resend", "reset", "revoke", "refund"]},
            "description": "the actions this purchase can take; the others answer 409",
        },
        status={"enum": ["pending", "paid", "failed"]},
        downloads_left=INT,
        download_log={
            "type": "array",
            "items": _obj("at ip_hash user_agent", at=TEXT_OR_NULL, user_agent=TEXT_OR_NULL),
        },
    ),
    "PurchaseList": _obj("purchases", purchases={"type": "array", "items": ref("Purchase")}),
    "PurchaseEnvelope": _obj("purchase", purchase=ref("Purchase")),
    "ReportDay": _obj(f"date {DAY_FIELDS}", date=DATE, orders=INT),
    "Report": _obj(
        "from to timezone currency days totals products other_currencies",
        **dict.fromkeys(("from", "to"), DATE),
        days={"type": "array", "items": ref("ReportDay")},
        totals=_obj(DAY_FIELDS, orders=INT),
        products={"type": "array", "items": _obj("id name orders gross_cents", orders=INT)},
        other_currencies={
            "type": "array",
            "items": _obj(OTHER_CURRENCY_FIELDS, orders=INT),
            "description": "sales in currencies other than the store's, never in `days`",
        },
    ),
    "Order": _obj(
        "date order_id email product_id product_name currency amount_cents tax_cents "
        "discount_cents refunded_cents disputed_cents status",
        date=DATE,
        email=TEXT_OR_NULL,
        status={"enum": ["pending", "paid", "failed"]},
    ),
    "OrderList": _obj(
        "from to timezone orders next",
        orders={"type": "array", "items": ref("Order")},
        next={**TEXT_OR_NULL, "description": "the cursor of the next page; null on the last"},
    ),
    "LicenseState": _obj(
        "valid status product_id activations activation_limit",
        "instance_active",
        **LICENSE_FIELDS,
    ),
    "LicenseActivated": _obj(
        "valid status product_id activations activation_limit instance_id instance_name",
        **LICENSE_FIELDS,
    ),
    "LicenseDeactivated": _obj(
        "deactivated instance_id product_id activations activation_limit",
        deactivated={"const": True},
        activations=INT,
        activation_limit=INT,
    ),
    "WebhookReceipt": _obj(
        "received result",
        received={"const": True},
        result={"type": "string", "description": "e.g. fulfilled, duplicate, ignored"},
    ),
}
