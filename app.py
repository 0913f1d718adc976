"""Bull on Chalice: routes only. Each calls a domain object from `chalicelib.store`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from chalicelib import store
from chalicelib.admin.auth import gateway_authorizer
from chalicelib.admin.desk import product_view, typed_price
from chalicelib.errors import BadRequest, NotFound
from chalicelib.payments.checkout import chosen_amount, clean_email
from chalicelib.payments.events import verify_event
from chalicelib.payments.webhooks import handle_event
from chalicelib.sale.figures import as_csv, parse_range
from chalicelib.sale.orders import orders_csv
from chalicelib.web import security, static
from chalicelib.web.base_url import public_url
from chalicelib.web.pages import render
from chalicelib.web.responses import (
    BODY_TYPES,
    NO_STORE,
    client_ip,
    error_boundaries,
    framework_errors,
    header,
    html,
    is_form,
    json_response,
    page_base,
    read_fields,
    redirect,
)

app = Chalice(app_name="bull")
app.register_middleware(framework_errors(app.routes), "http")
ADMIN_AUTHORIZER = gateway_authorizer()
browser_route, api_route = error_boundaries(lambda: app.current_request)


def admin_only(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run `handler` only for a signed-in admin (401 / 403 JSON otherwise)."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        store.current().verifier.admin(header(app.current_request, "authorization"))
        return handler(*args, **kwargs)

    return api_route(wrapped)


def _page(template: str, **context: Any) -> str:
    """A page whose links, forms and script calls stay under the base URL that served it."""
    return render(template, base=page_base(app.current_request), **context)


def _public_base() -> str:
    """The base URL for mails and Stripe redirects (`SITE_URL`, else API Gateway's)."""
    return public_url(app.current_request, store.current().settings.site_url)


def _json_fields() -> dict[str, Any]:
    request = app.current_request
    return read_fields(request.raw_body, header(request, "content-type"))


@app.route("/", methods=["GET"])
@browser_route
def storefront() -> Response:
    """The storefront: every product on sale with a Buy button.

    Returns:
        200: the storefront page (HTML): name, price and a Buy form per product.

    Raises:
        Unavailable (503) when the store cannot read its products.
    """
    products = store.current().catalog.list_active()
    return html(_page("storefront.html", products=products))


@app.route("/products", methods=["GET"])
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


@app.route("/checkout/{product_id}", methods=["POST"], content_types=BODY_TYPES)
@browser_route
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
        PaymentProviderError (502) when Stripe is unreachable.
    """
    request = app.current_request
    fields = read_fields(request.raw_body, header(request, "content-type"))
    try:
        email = clean_email(fields.get("email"))
        product = store.current().catalog.get_active(product_id)
        amount = chosen_amount(product, fields.get("amount"))
        checkout = store.current().checkout(_public_base())
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
    return html(_page("storefront.html", products=products, fix=fix), 400, NO_STORE)


@app.route("/thanks", methods=["GET"])
@browser_route
def thanks() -> Response:
    """After payment: fulfils (idempotently) and shows the download link, or says it is pending.

    Query:
        session_id (required): the Checkout Session id (`cs_...`) Stripe sends the buyer back with.

    Returns:
        200: the thanks page (HTML): the download link once paid, else that the receipt follows.

    Raises:
        NotFound (404) for a missing or unknown session, PaymentProviderError (502) when Stripe
        is unreachable, Unavailable (503) when the store failed.
    """
    request = app.current_request
    session_id = (request.query_params or {}).get("session_id", "")
    shown = store.current().thank_you(_public_base(), page_base(request)).page(session_id)
    page = _page(
        "thanks.html", paid=shown.paid, purchase=shown.purchase, link=shown.link, email=shown.email
    )
    return html(page, headers=NO_STORE)


@app.route("/webhooks/stripe", methods=["POST"], content_types=BODY_TYPES)
@api_route
def stripe_webhook() -> Response:
    """Stripe's events: checkouts completed or failed, refunds, disputes, early fraud warnings.

    Fulfilment is exactly once however often and in whatever order Stripe delivers.

    Headers:
        Stripe-Signature (required): Stripe's signature of the raw body (tolerance 300 s).

    Body (JSON):
        id (required): the event id, `evt_...`.
        type (required): the event type, e.g. `checkout.session.completed`.
        created (integer, required): when the event happened, in epoch seconds.
        data (object, required): `{"object": ...}`, the Checkout Session, charge, refund,
            dispute or early fraud warning.

    Returns:
        200 WebhookReceipt: `{"received": true, "result": ...}` for handled and ignored events.

    Raises:
        BadRequest (400) for a missing or bad signature or a body that is not an event
        (nothing written), Conflict (409) for a refund, dispute or warning of ours whose
        checkout has not arrived yet or while another delivery is sending the receipt,
        Unavailable (503) when the store failed, PaymentProviderError (502) when Stripe refused
        the refund an early fraud warning asked for; Stripe redelivers after a 409 or 5xx.
    """
    request, shop = app.current_request, store.current()
    event = verify_event(
        request.raw_body or b"", header(request, "stripe-signature"), shop.webhook_secret()
    )
    base = _public_base()
    outcome = handle_event(
        event, shop.fulfilment(base), shop.after_sale(base), shop.settings.store_id
    )
    return json_response({"received": True, "result": outcome.result})


@app.route("/library", methods=["GET"])
@browser_route
def library_ask() -> Response:
    """Lost your link? A form that asks for the e-mail address the buyer bought with.

    Returns:
        200: the page (HTML): a form with one `email` field that POSTs to `library`.
    """
    return html(_page("library.html"))


@app.route("/library", methods=["POST"], content_types=BODY_TYPES)
@browser_route
def library_mail() -> Response:
    """Mails a sign-in link to the buyer's library, valid for an hour, to an address that
    bought anything; answers the same words whether or not it did (no enumeration).

    At most 3 mails per address an hour, and a limit of asks per client (its source IP); asks
    over either limit are answered the same and send nothing.

    Body (form or JSON):
        email (required): the address the buyer bought with.

    Returns:
        200: the page (HTML) saying a link is on its way if the address bought anything.

    Raises:
        BadRequest (400) for a missing or malformed address (the form again, what to fix
        beside it), Unavailable (503) when the store failed.
    """
    request = app.current_request
    fields = read_fields(request.raw_body, header(request, "content-type"))
    try:
        email = clean_email(fields.get("email"))
        if email is None:
            raise BadRequest("Type the email address you bought with.", code="bad_email")
    except BadRequest as exc:
        typed = fields.get("email") if isinstance(fields.get("email"), str) else ""
        fix = {"message": exc.message, "typed": typed}
        return html(_page("library.html", fix=fix), 400, NO_STORE)
    store.current().library(_public_base(), page_base(request)).ask(email, client_ip(request))
    return html(_page("library.html", asked=True), headers=NO_STORE)


@app.route("/library/{token}", methods=["GET"])
@browser_route
def library_shelf(token: str) -> Response:
    """The buyer's library: every paid purchase of the address, with its date, state, the
    link to its download page (its current link) and its license key. Consumes nothing.

    Returns:
        200: the library (HTML).

    Raises:
        NotFound (404) for an unknown or malformed token, LinkGone (410) for an expired one,
        Unavailable (503) when the store failed.
    """
    request = app.current_request
    shelf = store.current().library(_public_base(), page_base(request)).open(token)
    return html(_page("library_shelf.html", shelf=shelf), headers=NO_STORE)


@app.route("/{page}", methods=["GET", "HEAD"])
@browser_route
def unknown_page(page: str) -> Response:
    """Any other page at the top level (a mistyped address, `/favicon.ico`): a 404 page that
    links back to the store, instead of API Gateway's bare 403.

    Raises:
        NotFound (404) always.
    """
    raise NotFound("There is no page at this address.")


@app.route("/download/{token}", methods=["GET", "HEAD"])
@browser_route
def download_landing(token: str) -> Response:
    """The link's landing page: product, downloads left, expiry. Consumes nothing.

    Returns:
        200: the landing page (HTML) with a form that POSTs to the same link.

    Raises:
        NotFound (404) for an unknown token, LinkGone (410) for a link that gives no more.
    """
    link = store.current().links.landing(token)
    return html(
        _page("landing.html", link=link, token=token), headers={"Cache-Control": "no-store"}
    )


@app.route("/download/{token}", methods=["POST"], content_types=BODY_TYPES)
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
    request = app.current_request
    grant = store.current().links.take(
        token, ip=client_ip(request), user_agent=header(request, "user-agent") or ""
    )
    return redirect(grant.url)


# -- admin --------------------------------------------------------------------------------


@app.route("/admin", methods=["GET"])
@browser_route
def dashboard() -> Response:
    """The admin dashboard page; it signs in with Cognito and reads the admin API.

    The page itself holds no data and needs no token.

    Returns:
        200: the dashboard (HTML).
    """
    s, nonce = store.current().settings, security.new_nonce()
    page = _page(
        "admin.html",
        nonce=nonce,
        script_version=static.dashboard_script().version,
        cognito_url=security.cognito_url(s),
        client_id=s.user_pool_client_id,
        currency=s.currency,
    )
    return html(page, headers=security.dashboard_headers(s, nonce))


@app.route("/admin/dashboard.js", methods=["GET"])
@browser_route
def dashboard_script() -> Response:
    """The dashboard's script. Public: it holds no data.

    Returns:
        200: JavaScript, cached for a year (the page asks for it by its version).
    """
    script = static.dashboard_script()
    return Response(body=script.body, status_code=200, headers=script.headers)


@app.route("/reports", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def sales_report() -> Response:
    """Sales per day, totals and per product, as JSON or CSV (`format=csv`, `Accept: text/csv`).

    One row per day of the range, zero days included; `net_cents` = gross - refunded - disputed
    (lost disputes, on the day they closed). Sales in another currency than the store's are in
    `other_currencies`, never in the days.

    Query:
        from (date): the first day, YYYY-MM-DD, in the store timezone (default: 29 days
            before `to`).
        to (date): the last day, YYYY-MM-DD (default: today in the store timezone).
        format: `json` (the default) or `csv`.

    Returns:
        200 Report: the report as JSON; as `text/csv` headed
            `date,orders,gross_cents,refunded_cents,net_cents,disputed_cents,tax_cents,discount_cents`
            with `format=csv`.

    Raises:
        BadRequest (400) for a bad date or format, a reversed range or more than 366 days,
        Unavailable (503) when the store cannot read its sales.
    """
    request = app.current_request
    query = request.query_params or {}
    shop = store.current()
    if query.get("format") not in (None, "csv", "json"):
        raise BadRequest("format must be json or csv")
    days = parse_range(query.get("from"), query.get("to"), shop.settings.report_timezone)
    report = shop.reports.sales(days)
    wants_csv = query.get("format") == "csv" or "text/csv" in (header(request, "accept") or "")
    if wants_csv:
        return Response(
            body=as_csv(report),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="sales-{days.start}-{days.end}.csv"',
            },
        )
    return json_response(report)


@app.route("/admin/orders", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def admin_orders() -> Response:
    """Every order whose sale day (store timezone) falls in the range, oldest first, as JSON
    or CSV (`format=csv`, `Accept: text/csv`): for the seller's books.

    Cost grows with the orders in the range, not with all orders stored. `status` is the
    payment's (`paid`, `pending`, `failed`); refunds and disputes have their own columns.

    Query:
        from (date): the first day, YYYY-MM-DD, in the store timezone (default: 29 days
            before `to`).
        to (date): the last day, YYYY-MM-DD (default: today in the store timezone).
        format: `json` (the default) or `csv`.

    Returns:
        200 OrderList: `{"from", "to", "timezone", "orders": [...]}`; as `text/csv` headed
            `date,order_id,email,product_id,product_name,currency,amount_cents,tax_cents,discount_cents,refunded_cents,disputed_cents,status`
            with `format=csv`.

    Raises:
        BadRequest (400) for a bad date or format, a reversed range or more than 366 days,
        Unavailable (503) when the store cannot read its orders.
    """
    request = app.current_request
    query = request.query_params or {}
    shop = store.current()
    if query.get("format") not in (None, "csv", "json"):
        raise BadRequest("format must be json or csv")
    timezone = shop.settings.report_timezone
    days = parse_range(query.get("from"), query.get("to"), timezone, shop.clock())
    orders = shop.orders.between(days)
    if query.get("format") == "csv" or "text/csv" in (header(request, "accept") or ""):
        return Response(
            body=orders_csv(orders),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="orders-{days.start}-{days.end}.csv"',
                **NO_STORE,
            },
        )
    body = {"from": str(days.start), "to": str(days.end), "timezone": timezone, "orders": orders}
    return json_response(body, headers=NO_STORE)


@app.route("/admin/products", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def admin_products() -> Response:
    """Every product, on sale or not, with its file.

    Returns:
        200 AdminProductList: `{"products": [...]}`, by name.

    Raises:
        Unavailable (503) when the store cannot read its products.
    """
    return json_response({"products": store.current().desk.products()})


@app.route(
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

    Returns:
        201 ProductCreated: the new product and a presigned `upload` URL (PUT) for its file.

    Raises:
        BadRequest (400) for a missing or malformed field or another currency,
        Unavailable (503) when the product cannot be saved.
    """
    fields, shop = _json_fields(), store.current()
    currency = str(fields.get("currency") or shop.settings.currency)
    product = shop.catalog.create(
        name=str(fields.get("name") or ""),
        description=str(fields.get("description") or ""),
        price_cents=typed_price(fields, currency),
        currency=currency,
        filename=str(fields.get("filename") or ""),
        min_price_cents=typed_price(fields, currency, "min_price"),
        tax_code=fields.get("tax_code"),
    )
    upload = shop.desk.upload_url(product)
    return json_response({"product": product_view(product), "upload": upload}, 201)


@app.route(
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
        name: 1 to 200 characters.
        description: at most 2000 characters.

    Returns:
        200 ProductChanged: the changed product, and an `upload` URL with a new `filename`.

    Raises:
        BadRequest (400) for an unknown or malformed field, NotFound (404) for an unknown
        product, Conflict (409) while a needed file is missing or when the product changed
        meanwhile, Unavailable (503) when the store failed.
    """
    fields, shop = _json_fields(), store.current()
    product = shop.catalog.update(product_id, fields)
    body: dict[str, Any] = {"product": product_view(product)}
    if "filename" in fields:
        body["upload"] = shop.desk.upload_url(product)
    return json_response(body)


@app.route("/admin/purchases", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
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
    email = (app.current_request.query_params or {}).get("email")
    return json_response({"purchases": store.current().desk.find(email)})


@app.route("/admin/purchases/{session_id}", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
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


@app.route(
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
    purchase = shop.after_sale(_public_base()).act(action, session_id, shop.checkout())
    return json_response({"purchase": shop.desk.purchase(purchase)})
