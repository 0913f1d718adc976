"""What Stripe refuses of what the stand-in is sent: undocumented parameters, bad prices,
totals too small, clashing options; and Stripe's error and JSON answers."""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Response

# Roughly what Stripe accepts: a local part, "@", and a domain with a dot and no empty label.
STRIPE_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# Stripe's largest amount: eight digits of minor units.
MAX_AMOUNT = 99_999_999
# Stripe's smallest Checkout total (50 cents, ¥50: roughly 50 minor units everywhere).
MIN_TOTAL = 50


def _documented(cls: Any) -> dict[str, Any]:
    """The parameters a `stripe` library TypedDict documents, each with its nested TypedDict
    class (or None): what Stripe's API reference lists for this pinned API version."""
    import sys

    from stripe._request_options import RequestOptions

    module = sys.modules[cls.__module__]
    client_only = set(RequestOptions.__annotations__)
    fields: dict[str, Any] = {}
    for name, hint in cls.__annotations__.items():
        if name in client_only:
            continue
        text = str(hint)
        match = re.search(r"'([A-Za-z]+Params[A-Za-z]*)'", text)
        fields[name] = getattr(module, match.group(1), None) if match else None
    return fields


def unknown_parameter(params: Any, cls: Any, prefix: str = "") -> str | None:
    """The first parameter in `params` that Stripe's documented shape `cls` does not know, as
    Stripe names it (`line_items[0][price_data][colour]`), or None."""
    if not isinstance(params, dict):
        return None
    known = _documented(cls)
    for name, value in params.items():
        path = f"{prefix}[{name}]" if prefix else name
        if name not in known:
            return path
        nested = known[name]
        if nested is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            inner = f"{path}[{index}]" if isinstance(value, list) else path
            if found := unknown_parameter(item, nested, inner):
                return found
    return None


def _true(value: Any) -> bool:
    return value is True or value == "true"


def session_refusal(params: dict[str, Any]) -> Response | None:
    """Stripe's answer to a `checkout.sessions.create` it would refuse, or None. Checked: every
    parameter is documented (stripe library's SessionCreateParams, the API version it pins), the
    price (`unit_amount` an integer from 0 to 99,999,999, a known `tax_behavior`), the total of
    at least 50 minor units, `allow_promotion_codes` beside `discounts`, `automatic_tax` with a
    Customer whose address Checkout may not update, and `automatic_tax` beside
    `managed_payments` (Stripe, the merchant of record, sets tax itself)."""
    from stripe.params.checkout import SessionCreateParams

    unknown = unknown_parameter(params, SessionCreateParams)
    if unknown:
        return error_response(
            400, f"Received unknown parameter: {unknown}", "parameter_unknown", unknown
        )
    if params.get("mode") not in ("payment", "setup", "subscription"):
        return error_response(400, "Missing required param: mode.", "parameter_missing", "mode")
    items = params.get("line_items") or []
    if not isinstance(items, list) or not items or "price_data" not in items[0]:
        return error_response(400, "line_items[0][price_data] is required")
    price = items[0]["price_data"]
    param = "line_items[0][price_data][unit_amount]"
    raw = price.get("unit_amount")
    if not isinstance(raw, str) or not re.fullmatch(r"-?[0-9]+", raw):
        return error_response(400, f"Invalid integer: {raw}", "parameter_invalid_integer", param)
    if not 0 <= int(raw) <= MAX_AMOUNT:
        message = (
            f"This value must be less than or equal to {MAX_AMOUNT} (it currently is '{raw}')."
        )
        if int(raw) < 0:
            message = f"This value must be greater than or equal to 0 (it currently is '{raw}')."
        return error_response(400, message, "parameter_invalid_integer", param)
    behavior = price.get("tax_behavior")
    if behavior is not None and behavior not in ("exclusive", "inclusive", "unspecified"):
        return error_response(
            400,
            "Invalid line_items[0][price_data][tax_behavior]: must be one of exclusive, "
            "inclusive, or unspecified",
            "parameter_invalid_string",
            "line_items[0][price_data][tax_behavior]",
        )
    collection = params.get("billing_address_collection")
    if collection is not None and collection not in ("auto", "required"):
        return error_response(
            400,
            "Invalid billing_address_collection: must be one of auto or required",
            param="billing_address_collection",
        )
    if int(raw) * int(items[0].get("quantity", 1)) < MIN_TOTAL:
        currency = str(price.get("currency", "usd"))
        return error_response(
            400,
            f"The Checkout Session's total amount due must add up to at least {MIN_TOTAL} "
            f"minor units of {currency}.",
            "amount_too_small",
        )
    if _true(params.get("allow_promotion_codes")) and params.get("discounts"):
        return error_response(
            400,
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="allow_promotion_codes",
        )
    automatic_tax = _true((params.get("automatic_tax") or {}).get("enabled"))
    if automatic_tax and params.get("customer"):
        address = (params.get("customer_update") or {}).get("address")
        if address != "auto":
            return error_response(
                400,
                "Automatic tax calculation in Checkout requires a valid address on the "
                "Customer. Add a valid address to the Customer or set either "
                "`customer_update[address]` to 'auto' or `customer_update[shipping]` to 'auto' "
                "to save the address entered in Checkout to the Customer.",
                param="automatic_tax[enabled]",
            )
    if _true((params.get("managed_payments") or {}).get("enabled")) and "automatic_tax" in params:
        return error_response(
            400,
            "automatic_tax cannot be set when managed_payments is enabled: Stripe manages tax.",
            param="automatic_tax",
        )
    return None


def error_response(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    if code:
        body["error"]["code"] = code
    if param:
        body["error"]["param"] = param
    return Response(json.dumps(body), status=status, content_type="application/json")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
