"""`bull stripe webhook`: register the store's webhook endpoint with Stripe and keep its
signing secret in SSM."""

from __future__ import annotations

import os
from typing import Any

import click

from bull_chalice.ceiling import throttle_deployed
from bull_chalice.errors import cli_errors
from bull_chalice.stripe_client import stage_client, store_id, webhook_endpoints
from bull_chalice.targets import (
    deployed_url,
    put_secret,
    read_config,
    stage_option,
    target_for,
)


def register_webhook(
    client: Any, url: str, events: list[str], store: str | None = None
) -> tuple[str, str | None]:
    """Create the endpoint, or update the one with the same URL; (id, new secret or None)."""
    for endpoint in webhook_endpoints(client):
        if endpoint.url == url:
            client.v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": events})
            return endpoint.id, None
    params: dict[str, Any] = {"url": url, "enabled_events": events}
    if store:
        params["metadata"] = {"store": store}
    created = client.v1.webhook_endpoints.create(params=params)
    return created.id, created.secret


@click.group()
def stripe() -> None:
    """Connect the store to Stripe."""


@stripe.command("webhook")
@stage_option
@click.option(
    "--url",
    "api_url",
    help="The store's base URL (default: the API chalice deploy made, else SITE_URL).",
)
@cli_errors
def stripe_webhook(stage: str, api_url: str | None) -> None:
    """Register {API}/webhooks/stripe for the handled events and store the signing secret."""
    from chalicelib.payments.webhooks import HANDLED_EVENTS

    if stage == "local":
        raise click.ClickException("the local stand-in delivers to the app already")
    target = target_for(stage)
    env = target.environment()
    api_url = (api_url or deployed_url(stage) or env.get("SITE_URL") or "").rstrip("/")
    if not api_url.startswith("https://") and not os.environ.get("STRIPE_API_BASE"):
        raise click.ClickException(
            f"no deployed API for stage {stage}: run `chalice deploy --stage {stage}` or pass --url"
        )
    ssm = target.client("ssm")
    client = stage_client(ssm, env["STRIPE_SECRET_KEY_PARAM"])
    url = f"{api_url}/webhooks/stripe"
    endpoint_id, secret = register_webhook(client, url, list(HANDLED_EVENTS), store_id(stage, env))
    if secret:
        put_secret(ssm, env["STRIPE_WEBHOOK_SECRET_PARAM"], secret)
        click.echo(f"Created webhook {endpoint_id} for {url}; stored its secret in SSM.")
        click.echo(f"Run `chalice deploy --stage {stage}` once more so every container reads it.")
    else:
        click.echo(f"Updated webhook {endpoint_id} for {url} (secret unchanged).")
    # After chalice deploy, the API exists: apply the stage's throttling (the cost ceiling).
    stage_config = read_config().get("stages", {}).get(stage, {})
    if "bull_throttling" in stage_config:
        click.echo(throttle_deployed(target, stage, stage_config))
