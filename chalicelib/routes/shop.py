"""The buyer's pages: the storefront, checkout, the thank-you page, the download link's
landing page and the download itself, and a 404 page for any other address."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import store
from chalicelib.errors import BadRequest, NotFound
from chalicelib.payments.checkout import chosen_amount, clean_email
from chalicelib.routes.common import (
    api_route,
    bp,
    browser_route,
    json_fields,
    limited,
    page,
    public_base,
)
from chalicelib.web.responses import (
    BODY_TYPES,
    NO_STORE,
    client_ip,
    header,
    html,
    is_form,
    json_response,
    page_base,
    redirect,
)


@bp.route("/", methods=["GET"])
@browser_route
def storefront() -> Response:
    """The storefront: every product on sale with a Buy button.

    Returns:
        200: the storefront page (HTML): name, price and a Buy form per product.

    Raises:
        Unavailable (503) when the store cannot read its products.
    """
    products = store.current().catalog.list_active()
    return html(page("storefront.html", products=products))


@bp.route("/products", methods=["GET"])
@api_route
def list_products() -> Response:
    """The products on sale (id, name, description, price, currency).

    Returns:
        200 ProductList: `{"products": [...]}`, oldest first.

    Raises:
        Unavailable (503) when the store cannot read its products.
    """
    products = store.current().catalog.list_active()
    return json_response({"products": [p.public() for p in products]})


@bp.route("/checkout/{product_id}", methods=["POST"], content_types=BODY_TYPES)
@browser_route
@limited("checkout")
def checkout(product_id: str) -> Response:
    """303 to Stripe Checkout for the product at its recorded price, or at the amount the buyer
    chose for a pay-what-you-want product.

    The price comes from the product record (or the validated `amount`), never from anything
    else in the request. Stripe sends the buyer back to `thanks?session_id=...` once paid, or to
    the storefront when they cancel. From the storefront's form (a form body), an email or
    amount the store or Stripe refuses answers 400 with the storefront again: the entries as
    typed, what to fix beside the field.

    Body (form or JSON; no body at all is fine):
        email: the buyer's address, given to Stripe Checkout.
        amount: for a pay-what-you-want product (one with `min_price_cents`), what the buyer
            pays, as text in the product's currency ("7.50"; "750" in JPY): digits and at most
            the currency's decimals, at least the minimum, at most 999,999.99 (99,999,999 in a
            zero-decimal currency). Missing: the suggested `price_cents`. Ignored otherwise.

    Returns:
        303: to the Stripe Checkout page (`Location`).

    Raises:
        NotFound (404) for an unknown or inactive product, BadRequest (400) for an unreadable
        body, email or amount (`bad_email`, `bad_amount`, `amount_too_low`, `amount_too_high`),
        RateLimited (429, `Retry-After`) past the client's checkouts a minute,
        PaymentProviderError (502) when Stripe is unreachable.
    """
    request = bp.current_request
    fields = json_fields()
    try:
        email = clean_email(fields.get("email"))
        product = store.current().catalog.get_active(product_id)
        amount = chosen_amount(product, fields.get("amount"))
        checkout = store.current().checkout(public_base())
        return redirect(checkout.create_session(product, email, amount))
    except BadRequest as exc:
        if not is_form(request):
            raise
        return _storefront_to_fix(product_id, fields, exc)


def _storefront_to_fix(product_id: str, fields: dict[str, Any], exc: BadRequest) -> Response:
    """The storefront again (400) with the buyer's entries kept and the message beside the
    field to fix, for a form the storefront posted; an error page if that product is gone."""
    products = store.current().catalog.list_active()
    if not any(p.id == product_id for p in products):
        raise exc
    field = "amount" if "amount" in exc.code else "email"
    typed = {k: v for k, v in fields.items() if isinstance(v, str)}
    fix = {
        "product_id": product_id,
        "field": field,
        "message": exc.message,
        "code": exc.code,
        "typed": typed,
    }
    return html(page("storefront.html", products=products, fix=fix), 400, NO_STORE)


@bp.route("/thanks", methods=["GET"])
@browser_route
@limited("thanks")
def thanks() -> Response:
    """After payment: fulfils (idempotently) and shows the download link, or says it is pending.

    Query:
        session_id (required): the Checkout Session id (`cs_...`) Stripe sends the buyer back with.

    Returns:
        200: the thanks page (HTML): the download link once paid, else that the receipt follows.

    Raises:
        NotFound (404) for a missing, malformed or unknown session, RateLimited (429,
        `Retry-After`) past the client's requests a minute or its lookups that found nothing,
        PaymentProviderError (502) when Stripe is unreachable, Unavailable (503) when the store
        failed.
    """
    request = bp.current_request
    session_id = (request.query_params or {}).get("session_id", "")
    thank_you = store.current().thank_you(public_base(), page_base(request))
    shown = thank_you.page(session_id, client_ip(request))
    body = page(
        "thanks.html",
        paid=shown.paid,
        purchase=shown.purchase,
        link=shown.link,
        email=shown.email,
        license_key=shown.license_key,
    )
    return html(body, headers=NO_STORE)


@bp.route("/{page}", methods=["GET", "HEAD"])
@browser_route
def unknownpage(page: str) -> Response:
    """Any other page at the top level (a mistyped address, `/favicon.ico`): a 404 page that
    links back to the store, instead of API Gateway's bare 403.

    Raises:
        NotFound (404) always.
    """
    raise NotFound("There is no page at this address.")


@bp.route("/download/{token}", methods=["GET", "HEAD"])
@browser_route
def download_landing(token: str) -> Response:
    """The link's landing page: product, downloads left, expiry, the license key where the
    product has them. Consumes nothing.

    Returns:
        200: the landing page (HTML) with a form that POSTs to the same link.

    Raises:
        NotFound (404) for an unknown token, LinkGone (410) for a link that gives no more.
    """
    shop = store.current()
    link = shop.links.landing(token)
    key = shop.licenses.key_for(link.licensed_session)
    return html(page("landing.html", link=link, token=token, license_key=key), headers=NO_STORE)


@bp.route("/download/{token}", methods=["POST"], content_types=BODY_TYPES)
@browser_route
def take_download(token: str) -> Response:
    """Takes one download and answers 303 to a short-lived presigned URL of the file.

    Returns:
        303: to a presigned S3 URL of the file (`Location`), valid for a short while.

    Raises:
        NotFound (404) for an unknown token, LinkGone (410, nothing taken) when no downloads
        are left or the link expired, was refunded, revoked or is on hold, Unavailable (503,
        nothing taken) when the store failed.
    """
    request = bp.current_request
    grant = store.current().links.take(
        token, ip=client_ip(request), user_agent=header(request, "user-agent") or ""
    )
    return redirect(grant.url)
