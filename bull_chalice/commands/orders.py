"""`bull orders`: sign in with Cognito as the dashboard does and write the orders of a range of
days as CSV (`GET /admin/orders?format=csv`), for the seller's books."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import click

from bull_chalice.errors import cli_errors
from bull_chalice.targets import deployed_url, stage_option, target_for


@click.command()
@stage_option
@click.option("--from", "start", help="First day, YYYY-MM-DD (default: 30 days ago).")
@click.option("--to", "end", help="Last day, YYYY-MM-DD (default: today).")
@click.option(
    "--out",
    "out",
    help="Where to write the CSV; `-` prints it (default: orders-FROM-TO.csv here).",
)
@click.option("--email", envvar="BULL_ADMIN_EMAIL", prompt=True)
@click.option("--password", envvar="BULL_ADMIN_PASSWORD", prompt=True, hide_input=True)
@click.option(
    "--url",
    "base_url",
    help="The store's base URL (default: SITE_URL, else the API chalice deploy made).",
)
@cli_errors
def orders(
    stage: str,
    start: str | None,
    end: str | None,
    out: str | None,
    email: str,
    password: str,
    base_url: str | None,
) -> None:
    """Sign in with Cognito and write every order of the range (store timezone) as CSV."""
    import requests

    from bull_chalice import signin

    target = target_for(stage)
    env = target.environment()
    api_url = (base_url or env.get("SITE_URL") or deployed_url(stage) or "").rstrip("/")
    if not api_url:
        raise click.ClickException(
            f"no API URL for stage {stage}: run `chalice deploy --stage {stage}` or pass --url"
        )
    tokens = signin.sign_in(
        target.client("cognito-idp"), env.get("USER_POOL_CLIENT_ID", ""), email, password
    )
    params = {"format": "csv", **{k: v for k, v in (("from", start), ("to", end)) if v}}
    answer = requests.get(
        f"{api_url}/admin/orders",
        params=params,
        timeout=60,
        headers={"Authorization": f"Bearer {tokens.id_token}"},
    )
    if answer.status_code != 200:
        try:
            message = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = answer.text[:200]
        raise click.ClickException(f"orders refused ({answer.status_code}): {message}")
    text = answer.content.decode("utf-8")
    if out == "-":
        click.echo(text, nl=False)
        return
    named = re.search(r'filename="([\w.-]+)"', answer.headers.get("Content-Disposition", ""))
    path = Path(out or (named.group(1) if named else "orders.csv"))
    path.write_text(text, encoding="utf-8", newline="")
    count = max(len(list(csv.reader(io.StringIO(text)))) - 1, 0)
    click.echo(f"Wrote {count} order{'' if count == 1 else 's'} to {path}", err=True)
