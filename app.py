"""Bull on Chalice: routes only. Each calls a domain object from `chalicelib.store`."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice import Chalice, Response

from chalicelib import store
from chalicelib.delivery import link_url
from chalicelib.errors import NotFound
from chalicelib.pages import render
from chalicelib.payments import CheckoutFacts, clean_email, verify_event
from chalicelib.web import (
    BODY_TYPES,
    api_route,
    browser_route,
    client_ip,
    header,
    html,
    json_response,
    read_fields,
    redirect,
)
from chalicelib.webhooks import handle_event

app = Chalice(app_name="bull")


@app.route("/", methods=["GET"])
@browser_route
def storefront() -> Response:
    """The storefront: every product on sale with a Buy button."""
    products = store.get_catalog().list_active()
    return html(render("storefront.html", products=products))


@app.route("/products", methods=["GET"])
@api_route
def list_products() -> Response:
    """`{"products": [...]}`: the products on sale (id, name, description, price, currency)."""
    products = store.get_catalog().list_active()
    return json_response({"products": [p.public() for p in products]})


@app.route("/checkout/{product_id}", methods=["POST"], content_types=BODY_TYPES)
@browser_route
def checkout(product_id: str) -> Response:
    """303 to Stripe Checkout for the product at its recorded price.

    Raises NotFound (404) for an unknown or inactive product, BadRequest (400) for an
    unreadable body or email, PaymentProviderError (502) when Stripe is unreachable.
    """
    request = app.current_request
    fields = read_fields(request.raw_body, header(request, "content-type"))
    email = clean_email(fields.get("email"))
    product = store.get_catalog().get_active(product_id)
    return redirect(store.get_checkout().create_session(product, email))


@app.route("/thanks", methods=["GET"])
@browser_route
def thanks() -> Response:
    """After payment: fulfils (idempotently) and shows the download link, or says it is pending.

    Raises NotFound (404) for a missing or unknown session.
    """
    session_id = (app.current_request.query_params or {}).get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise NotFound("We could not find that checkout.")
    session = store.get_checkout().retrieve_session(session_id)
    facts = CheckoutFacts.from_session(session, sold_at=datetime.now(UTC))
    if facts is None:
        raise NotFound("We could not find that checkout.")
    fulfilment = store.get_fulfilment()
    if facts.payment_status not in ("paid", "no_payment_required"):
        return html(render("thanks.html", paid=False, email=facts.email))
    fulfilment.fulfil(facts)
    purchase = fulfilment.purchase(session_id)
    link = link_url(
        store.settings().site_url,
        store.get_link_policy().token(session_id, int(purchase.link_version)),
    )
    return html(
        render("thanks.html", paid=True, purchase=purchase, link=link, email=purchase.email),
        headers={"Cache-Control": "no-store"},
    )


@app.route("/webhooks/stripe", methods=["POST"], content_types=BODY_TYPES)
@api_route
def stripe_webhook() -> Response:
    """200 `{"received": true, "result": ...}` for handled and ignored events.

    Raises BadRequest (400) for a missing or bad signature or a body that is not an event
    (nothing written), Unavailable (503) when the store failed so that Stripe retries.
    """
    request = app.current_request
    event = verify_event(
        request.raw_body or b"", header(request, "stripe-signature"), store.webhook_secret()
    )
    outcome = handle_event(event, store.get_fulfilment())
    return json_response({"received": True, "result": outcome.result})


@app.route("/download/{token}", methods=["GET", "HEAD"])
@browser_route
def download_landing(token: str) -> Response:
    """The link's landing page (200): product, downloads left, expiry. Consumes nothing.

    Raises NotFound (404) for an unknown token, LinkGone (410) for a link that gives no more.
    """
    link = store.get_downloads().landing(token)
    return html(
        render("landing.html", link=link, token=token), headers={"Cache-Control": "no-store"}
    )


@app.route("/download/{token}", methods=["POST"], content_types=BODY_TYPES)
@browser_route
def take_download(token: str) -> Response:
    """Takes one download and answers 303 to a short-lived presigned URL of the file.

    Raises NotFound (404), LinkGone (410, nothing taken) or Unavailable (503, nothing taken).
    """
    request = app.current_request
    grant = store.get_downloads().take(
        token, ip=client_ip(request), user_agent=header(request, "user-agent") or ""
    )
    return redirect(grant.url)
