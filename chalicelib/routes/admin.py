"""The admin API behind the dashboard: products and purchases."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import store
from chalicelib.admin.desk import product_view, typed_price
from chalicelib.routes.common import (
    ADMIN_AUTHORIZER,
    admin_only,
    bp,
    json_fields,
    public_base,
)
from chalicelib.web.responses import (
    BODY_TYPES,
    json_response,
)


@bp.route("/admin/products", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def admin_products() -> Response:
    """Every product, on sale or not, with its file.

    Returns:
        200 AdminProductList: `{"products": [...]}`, by name.

    Raises:
        Unavailable (503) when the store cannot read its products.
    """
    return json_response({"products": store.current().desk.products()})


@bp.route(
    "/admin/products", methods=["POST"], authorizer=ADMIN_AUTHORIZER, content_types=BODY_TYPES
)
@admin_only
def admin_create_product() -> Response:
    """A new product, off sale until its file is uploaded and it is put on sale.

    Body (JSON or form):
        name (required): 1 to 200 characters.
        description: at most 2000 characters.
        price: the price as typed, in the currency's own exponent ("19.99", "1500" in JPY).
        price_cents (integer, required without price): the price in minor units, 50 to 100000000.
        min_price: pay what you want: the least a buyer may pay, as typed ("5.00"); the price
            is then the suggested price, at least this.
        min_price_cents (integer): the same minimum in minor units.
        tax_code: Stripe Tax's product tax code (default txcd_10000000, electronically
            supplied services), used when the store collects tax.
        currency: the store's currency, e.g. `usd` (the default).
        filename (required): a plain file name such as `guide.pdf`.
        license_keys (boolean): each paid purchase gets a license key (default false).
        activation_limit (integer): instances one key may be active on, 1 to 1000 (default 3).

    Returns:
        201 ProductCreated: the new product and a presigned `upload` URL (PUT) for its file.

    Raises:
        BadRequest (400) for a missing or malformed field or another currency,
        Unavailable (503) when the product cannot be saved.
    """
    fields, shop = json_fields(), store.current()
    currency = str(fields.get("currency") or shop.settings.currency)
    product = shop.catalog.create(
        name=str(fields.get("name") or ""),
        description=str(fields.get("description") or ""),
        price_cents=typed_price(fields, currency),
        currency=currency,
        filename=str(fields.get("filename") or ""),
        min_price_cents=typed_price(fields, currency, "min_price"),
        tax_code=fields.get("tax_code"),
        license_keys=fields.get("license_keys", False),
        activation_limit=fields.get("activation_limit"),
    )
    upload = shop.desk.upload_url(product)
    return json_response({"product": product_view(product), "upload": upload}, 201)


@bp.route(
    "/admin/products/{product_id}",
    methods=["PATCH"],
    authorizer=ADMIN_AUTHORIZER,
    content_types=BODY_TYPES,
)
@admin_only
def admin_update_product(product_id: str) -> Response:
    """Changes a product's price, text, availability or file.

    A new `filename` starts a new file version with a presigned `upload` URL; buyers get it
    once `publish_file` finds it uploaded.

    Body (JSON or form):
        price_cents (integer): the new price in minor units, 50 to 100000000.
        min_price_cents (integer): pay what you want from this minimum (the price is then
            the suggested price); null sells at the fixed price again.
        tax_code: Stripe Tax's product tax code such as txcd_10202000; null: the default.
        active (boolean): put on sale (its file must be uploaded) or take off sale.
        filename: start a new file version under this name.
        publish_file (boolean): publish the uploaded new version to buyers.
        license_keys (boolean): purchases from now on get a license key.
        activation_limit (integer): instances a new purchase's key may be active on, 1 to 1000.
        name: 1 to 200 characters.
        description: at most 2000 characters.

    Returns:
        200 ProductChanged: the changed product, and an `upload` URL with a new `filename`.

    Raises:
        BadRequest (400) for an unknown or malformed field, NotFound (404) for an unknown
        product, Conflict (409) while a needed file is missing or when the product changed
        meanwhile, Unavailable (503) when the store failed.
    """
    fields, shop = json_fields(), store.current()
    product = shop.catalog.update(product_id, fields)
    body: dict[str, Any] = {"product": product_view(product)}
    if "filename" in fields:
        body["upload"] = shop.desk.upload_url(product)
    return json_response(body)


@bp.route("/admin/purchases", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def admin_purchases() -> Response:
    """Purchases by buyer e-mail (newest first), or the most recent ones.

    Query:
        email: the buyer's address (without it, the 50 most recent purchases).

    Returns:
        200 PurchaseList: `{"purchases": [...]}`.

    Raises:
        BadRequest (400) for an email that does not look like an address,
        Unavailable (503) when the store cannot read purchases.
    """
    email = (bp.current_request.query_params or {}).get("email")
    return json_response({"purchases": store.current().desk.find(email)})


@bp.route("/admin/purchases/{session_id}", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def admin_purchase(session_id: str) -> Response:
    """One purchase with downloads left, expiry and its download log.

    Returns:
        200 PurchaseEnvelope: `{"purchase": ...}`.

    Raises:
        NotFound (404) for an unknown purchase, Unavailable (503) when the store failed.
    """
    shop = store.current()
    purchase = shop.purchases.get(session_id)
    return json_response({"purchase": shop.desk.purchase(purchase)})


@bp.route(
    "/admin/purchases/{session_id}/{action}",
    methods=["POST"],
    authorizer=ADMIN_AUTHORIZER,
    content_types=BODY_TYPES,
)
@admin_only
def admin_purchase_action(session_id: str, action: str) -> Response:
    """Resends, resets, revokes or refunds a purchase.

    `resend` mails a new link (the old one dies), `reset` restores the default downloads and
    expiry, `revoke` kills the link, `refund` refunds through Stripe (the link dies when
    Stripe's charge.refunded arrives).

    Path:
        action: `resend`, `reset`, `revoke` or `refund`.

    Returns:
        200 PurchaseEnvelope: the purchase after the action.

    Raises:
        NotFound (404) for an unknown purchase or action, Conflict (409) when the purchase
        cannot take the action, with a code saying why (`not_paid`, `link_refunded`,
        `link_revoked`, `on_hold`, `no_email`, `already_refunded`; the purchase's `actions`
        lists those it can take), PaymentProviderError (502) when Stripe refuses a refund.
    """
    shop = store.current()
    shop.desk.allow(shop.purchases.get(session_id), action)
    purchase = shop.after_sale(public_base()).act(action, session_id, shop.checkout())
    return json_response({"purchase": shop.desk.purchase(purchase)})
