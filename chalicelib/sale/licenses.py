"""What the seller's software asks about a license key: is it valid, and activate or deactivate
one instance of it.

A key is valid while its purchase is paid and stands (`license_status`: not refunded in full,
revoked, disputed or failed). Every activation is one conditional update of the key's
`License` item (`activation_count < activation_limit` and the new instance not there yet), so
any number of concurrent activations, from any number of Lambda containers, never pass the
limit; a deactivation is conditional on its instance being there.

Guessing: each client (its source IP) gets `GUESSES_PER_CLIENT` unknown-key answers an hour;
past that every license call from it is answered 429 with `Retry-After`, before the key is
looked up, so an answer never tells whether a key exists. A key's 150 secret bits make guessing
hopeless anyway; the limit keeps it from costing the seller.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.errors import (
    BadRequest,
    Conflict,
    LinkGone,
    NotFound,
    StoreError,
    TooManyRequests,
    Unavailable,
)
from chalicelib.platform.tables import License, MailAllowance, Purchase
from chalicelib.platform.transactions import condition_failed
from chalicelib.sale.allowances import Allowances
from chalicelib.sale.license_keys import canonical, derive_key, item_key
from chalicelib.sale.purchases import PAID_STATUSES, Purchases

logger = logging.getLogger("bull")

GUESSES_PER_CLIENT = 20
GUESS_WINDOW = timedelta(hours=1)
INSTANCE_ID = re.compile(r"^inst_[0-9a-f]{20}$")
MAX_INSTANCE_NAME = 200
STANDING_MESSAGES = {
    "refunded": "This purchase was refunded, so its license key no longer works.",
    "revoked": "The seller has turned this license key off.",
    "disputed": "This purchase is disputed, so its license key does not work for now.",
    "failed": "This purchase was never paid.",
    "pending": "This purchase is not paid yet.",
}


def license_status(purchase: Purchase) -> str:
    """Where a key's purchase stands: `active`, or why the key does not work (`refunded` in
    full, `disputed` while a dispute is open or after one was lost, `revoked` by the seller,
    `failed` or `pending` payment)."""
    if purchase.status not in PAID_STATUSES:
        return purchase.status or "pending"
    if purchase.link_state == "refunded":
        return "refunded"
    if purchase.dispute_status in ("open", "lost") or purchase.link_state == "on_hold":
        return "disputed"
    if purchase.link_state == "revoked":
        return "revoked"
    return "active"


def _text(fields: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required (text)", code=f"bad_{name}")
    return value.strip()


def _instance_id(fields: dict[str, Any], required: bool) -> str | None:
    value = _text(fields, "instance_id", required)
    if value is not None and not INSTANCE_ID.match(value):
        raise BadRequest("instance_id is not one this store gave out", code="bad_instance_id")
    return value


class Licenses:
    """Shows, validates, activates and deactivates license keys."""

    def __init__(
        self,
        *,
        secret: str,
        model: type[License],
        purchases: Purchases,
        allowances: type[MailAllowance],
        client_key: Callable[[str], str],
        clock: Callable[[], datetime],
        guesses_per_client: int = GUESSES_PER_CLIENT,
    ) -> None:
        self._client_key = client_key
        self._secret = secret
        self._model = model
        self._purchases = purchases
        self._allowances = Allowances(allowances, clock, GUESS_WINDOW)
        self._clock = clock
        self._guesses = guesses_per_client

    def key_for(self, session_id: str | None) -> str | None:
        """The license key of a purchase that has one (given its session id), recomputed."""
        return derive_key(self._secret, session_id) if session_id else None

    def validate(self, fields: dict[str, Any], client: str) -> dict[str, Any]:
        """`{"valid", "status", "product_id", "activations", "activation_limit"}` for
        `license_key` (and with `instance_id`, whether that instance is active:
        `instance_active`, which `valid` then requires). An unknown key is `valid: false`,
        `status: "unknown"`.

        Raises:
            BadRequest: no `license_key`, or a malformed `instance_id`.
            TooManyRequests: the client had its unknown-key answers for the hour.
            Unavailable: DynamoDB failed.
        """
        typed, instance = _text(fields, "license_key"), _instance_id(fields, required=False)
        item = self._find(typed, client, unknown_is_error=False)
        if item is None:
            answer = {"valid": False, "status": "unknown", "product_id": None}
            return {**answer, "activations": 0, "activation_limit": 0}
        status = license_status(self._purchases.get(item.session_id))
        answer = self._answer(item, status)
        if instance is not None:
            answer["instance_active"] = instance in (item.activations or {})
            answer["valid"] = answer["valid"] and answer["instance_active"]
        return answer

    def activate(self, fields: dict[str, Any], client: str) -> dict[str, Any]:
        """Activate `license_key` on a new instance called `instance_name`: the answer of
        `validate` with the new `instance_id` (and `instance_name`).

        Raises:
            BadRequest: no `license_key` or `instance_name`, or a name over 200 characters.
            NotFound (`unknown_key`): no such key.
            LinkGone (`refunded`, `revoked`, `disputed`, ...): the purchase does not stand.
            Conflict (`activation_limit`): the key is active on as many instances as allowed.
            TooManyRequests, Unavailable.
        """
        typed, name = _text(fields, "license_key"), _text(fields, "instance_name")
        if len(name) > MAX_INSTANCE_NAME:
            message = f"instance_name must be at most {MAX_INSTANCE_NAME} characters"
            raise BadRequest(message, code="bad_instance_name")
        item = self._find(typed, client)
        status = license_status(self._purchases.get(item.session_id))
        if status != "active":
            raise LinkGone(status, STANDING_MESSAGES.get(status, "This key does not work."))
        model, instance = self._model, f"inst_{secrets.token_hex(10)}"
        at = int(self._clock().timestamp())
        try:
            item.update(
                actions=[
                    model.activations[instance].set({"name": name, "at": at}),
                    model.activation_count.add(1),
                ],
                condition=(
                    model.token_hash.exists()
                    & (model.activation_count < model.activation_limit)
                    & model.activations[instance].does_not_exist()
                ),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                limit = int(item.activation_limit)
                message = f"This key is active on {limit} instances already, its limit."
                raise Conflict(message, code="activation_limit") from None
            raise Unavailable("The store could not activate the key. Try again.") from exc
        # A refund or dispute that committed between the read above and the activation wins:
        # read the purchase again and take the activation back if it no longer stands.
        try:
            status = license_status(self._purchases.get(item.session_id))
        except StoreError:
            self._take_back(item, instance)  # unconfirmed: the retry must not use a second seat
            raise
        if status != "active":
            self._take_back(item, instance)
            raise LinkGone(status, STANDING_MESSAGES.get(status, "This key does not work."))
        return {**self._answer(item, status), "instance_id": instance, "instance_name": name}

    def _take_back(self, item: License, instance: str) -> None:
        try:
            self._release(item, instance)
        except PynamoDBException as exc:  # left active on a key that no longer validates
            logger.warning("activation %s not taken back: %s", instance, exc)

    def _release(self, item: License, instance: str) -> None:
        """Free `instance`'s activation, if it holds one (UpdateError on its condition)."""
        model = self._model
        item.update(
            actions=[model.activations[instance].remove(), model.activation_count.add(-1)],
            condition=model.activations[instance].exists(),
        )

    def deactivate(self, fields: dict[str, Any], client: str) -> dict[str, Any]:
        """Free the activation of `instance_id` on `license_key`: `{"deactivated": true,
        "instance_id", "product_id", "activations", "activation_limit"}`.

        Raises:
            BadRequest: no `license_key`, or no or a malformed `instance_id`.
            NotFound (`unknown_key`, `unknown_instance`): no such key, or no such instance on
                it (already deactivated).
            TooManyRequests, Unavailable.
        """
        typed, instance = _text(fields, "license_key"), _instance_id(fields, required=True)
        item = self._find(typed, client)
        try:
            self._release(item, instance)
        except UpdateError as exc:
            if condition_failed(exc):
                message = "That instance is not active on this key."
                raise NotFound(message, code="unknown_instance") from None
            raise Unavailable("The store could not deactivate the key. Try again.") from exc
        return {
            "deactivated": True,
            "instance_id": instance,
            "product_id": item.product_id,
            "activations": int(item.activation_count),
            "activation_limit": int(item.activation_limit),
        }

    # -- internals ----------------------------------------------------------------------

    def _answer(self, item: License, status: str) -> dict[str, Any]:
        return {
            "valid": status == "active",
            "status": status,
            "product_id": item.product_id,
            "activations": int(item.activation_count or 0),
            "activation_limit": int(item.activation_limit),
        }

    def _find(self, typed: str, client: str, unknown_is_error: bool = True) -> License | None:
        """The key's item (read strongly consistent). An unknown key uses one of the client's
        guesses: NotFound (`unknown_key`), or None when `unknown_is_error` is false.

        Raises:
            TooManyRequests: the client has no guesses left, whatever the key.
        """
        subject = self._client_key(client)
        wait = self._allowances.wait("license", subject, self._guesses)
        if wait:
            raise TooManyRequests(
                "Too many unknown license keys from this address; try again later.",
                retry_after=wait,
            )
        key = canonical(typed)
        item = None
        if key is not None:
            try:
                item = self._model.get(item_key(key), consistent_read=True)
            except DoesNotExist:
                item = None
            except PynamoDBException as exc:
                raise Unavailable("The store could not read the license key.") from exc
        if item is not None:
            return item
        self._allowances.take("license", subject, self._guesses)
        if unknown_is_error:
            raise NotFound("No such license key.", code="unknown_key")
        return None
