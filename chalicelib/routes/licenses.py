"""License keys, asked about by the seller's software: validate a key, activate or deactivate
one instance of it. JSON in and out; errors are `{"error": {"code", "message"}}`."""

from __future__ import annotations

from chalice import Response

from chalicelib import store
from chalicelib.routes.common import api_route, bp, json_fields, limited
from chalicelib.web.responses import BODY_TYPES, NO_STORE, client_ip, json_response


@bp.route("/licenses/validate", methods=["POST"], content_types=BODY_TYPES)
@api_route
@limited("licenses")
def license_validate() -> Response:
    """Whether a license key works: its purchase is paid and not refunded, revoked or disputed
    (and, given an `instance_id`, that instance is active on it).

    Body (JSON):
        license_key (required): the key as the buyer typed it (any case; spaces and dashes
            optional).
        instance_id: an id `activate` gave out.

    Returns:
        200 LicenseState: `{"valid", "status", "product_id", "activations",
        "activation_limit"}` (and `instance_active` with an `instance_id`); `status` is
        `active`, `refunded`, `revoked`, `disputed`, `failed`, `pending` or `unknown`.

    Raises:
        BadRequest (400) for an unreadable body, no `license_key` or a malformed
        `instance_id`; TooManyRequests (429, `Retry-After`) after too many unknown keys from
        this client, or past its license calls a minute (`rate_limited`); Unavailable (503)
        when the store failed.
    """
    answer = store.current().licenses.validate(json_fields(), client_ip(bp.current_request))
    return json_response(answer, headers=NO_STORE)


@bp.route("/licenses/activate", methods=["POST"], content_types=BODY_TYPES)
@api_route
@limited("licenses")
def license_activate() -> Response:
    """Activates a license key on one more instance (a machine, a site), up to the product's
    activation limit, however many activations arrive at once.

    Body (JSON):
        license_key (required): the key.
        instance_name (required): what the buyer calls the instance, at most 200 characters.

    Returns:
        201 LicenseActivated: `{"instance_id", "instance_name", "valid", "status",
        "product_id", "activations", "activation_limit"}`.

    Raises:
        BadRequest (400) for an unreadable body or a missing field, NotFound (404,
        `unknown_key`), Conflict (409, `activation_limit`) when the key is active on as many
        instances as allowed, LinkGone (410, `refunded`, `revoked`, `disputed`) when the
        purchase does not stand, TooManyRequests (429, `Retry-After`), Unavailable (503).
    """
    answer = store.current().licenses.activate(json_fields(), client_ip(bp.current_request))
    return json_response(answer, 201, headers=NO_STORE)


@bp.route("/licenses/deactivate", methods=["POST"], content_types=BODY_TYPES)
@api_route
@limited("licenses")
def license_deactivate() -> Response:
    """Frees one activation of a license key.

    Body (JSON):
        license_key (required): the key.
        instance_id (required): the id `activate` gave out.

    Returns:
        200 LicenseDeactivated: `{"deactivated": true, "instance_id", "product_id",
        "activations", "activation_limit"}`.

    Raises:
        BadRequest (400) for an unreadable body or a missing or malformed field, NotFound
        (404, `unknown_key`, `unknown_instance`), TooManyRequests (429, `Retry-After`),
        Unavailable (503).
    """
    answer = store.current().licenses.deactivate(json_fields(), client_ip(bp.current_request))
    return json_response(answer, headers=NO_STORE)
