"""The one way `bull` talks to Stripe: a client with the stage's secret key from SSM, pointed
at the local stand-in when `STRIPE_API_BASE` is set."""

from __future__ import annotations

import os
from typing import Any


def stripe_client(secret_key: str) -> Any:
    """A Stripe client; `STRIPE_API_BASE` points it at the stand-in."""
    import stripe as stripe_lib

    kwargs: dict[str, Any] = {}
    if os.environ.get("STRIPE_API_BASE"):
        kwargs["base_addresses"] = {"api": os.environ["STRIPE_API_BASE"]}
    return stripe_lib.StripeClient(secret_key, **kwargs)


def stage_client(ssm: Any, key_param: str) -> Any:
    """A Stripe client with the secret key stored in the SSM parameter `key_param`."""
    key = ssm.get_parameter(Name=key_param, WithDecryption=True)
    return stripe_client(key["Parameter"]["Value"])


def store_id(stage: str, env: dict[str, str]) -> str:
    """What the stage tags its Stripe objects with (`metadata.store`), as the app does."""
    return env.get("STORE_ID") or f"bull-{stage}"


def webhook_endpoints(client: Any) -> Any:
    """Every webhook endpoint of the account (all pages)."""
    return client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter()
