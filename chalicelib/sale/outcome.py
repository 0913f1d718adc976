"""What handling one Stripe event (or a seller's action) did, for the webhook's answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """`fulfilled`, `duplicate`, `pending`, `failed`, `ignored`, or the change after a sale."""

    result: str
    session_id: str = ""
    detail: str = ""
