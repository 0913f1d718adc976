"""The buyer's library: a sign-in link by mail, then every purchase of that address."""

from __future__ import annotations

from chalice import Response

from chalicelib import store
from chalicelib.errors import BadRequest
from chalicelib.payments.checkout import clean_email
from chalicelib.routes.common import (
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
    html,
    page_base,
)


@bp.route("/library", methods=["GET"])
@browser_route
def library_ask() -> Response:
    """Lost your link? A form that asks for the e-mail address the buyer bought with.

    Returns:
        200: the page (HTML): a form with one `email` field that POSTs to `library`.
    """
    return html(page("library.html"))


@bp.route("/library", methods=["POST"], content_types=BODY_TYPES)
@browser_route
@limited("library")
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
        beside it), RateLimited (429, `Retry-After`) past the client's asks a minute,
        Unavailable (503) when the store failed.
    """
    request = bp.current_request
    fields = json_fields()
    try:
        email = clean_email(fields.get("email"))
        if email is None:
            raise BadRequest("Type the email address you bought with.", code="bad_email")
    except BadRequest as exc:
        typed = fields.get("email") if isinstance(fields.get("email"), str) else ""
        fix = {"message": exc.message, "typed": typed}
        return html(page("library.html", fix=fix), 400, NO_STORE)
    store.current().library(public_base(), page_base(request)).ask(email, client_ip(request))
    return html(page("library.html", asked=True), headers=NO_STORE)


@bp.route("/library/{token}", methods=["GET"])
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
    request = bp.current_request
    shelf = store.current().library(public_base(), page_base(request)).open(token)
    return html(page("library_shelf.html", shelf=shelf), headers=NO_STORE)
