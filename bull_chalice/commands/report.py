"""`bull report`: sign in with Cognito as the dashboard does and print the sales report."""

from __future__ import annotations

import click

from bull_chalice.errors import cli_errors
from bull_chalice.targets import deployed_url, stage_option, target_for


@click.command()
@stage_option
@click.option("--from", "start", help="First day, YYYY-MM-DD (default: 30 days ago).")
@click.option("--to", "end", help="Last day, YYYY-MM-DD (default: today).")
@click.option("--email", envvar="BULL_ADMIN_EMAIL", prompt=True)
@click.option("--password", envvar="BULL_ADMIN_PASSWORD", prompt=True, hide_input=True)
@click.option(
    "--url",
    "base_url",
    help="The store's base URL (default: SITE_URL, else the API chalice deploy made).",
)
@cli_errors
def report(
    stage: str,
    start: str | None,
    end: str | None,
    email: str,
    password: str,
    base_url: str | None,
) -> None:
    """Sign in with Cognito and print the sales report as a table."""
    import requests

    from bull_chalice import signin
    from chalicelib.money import format_amount

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
    params = {k: v for k, v in (("from", start), ("to", end)) if v}
    answer = requests.get(
        f"{api_url}/reports",
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {tokens.id_token}"},
    )
    if answer.status_code != 200:
        try:
            message = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = answer.text[:200]
        raise click.ClickException(f"report refused ({answer.status_code}): {message}")
    data = answer.json()
    cur = data["currency"]
    click.echo(f"Sales {data['from']} to {data['to']} ({data['timezone']})")
    click.echo(f"{'date':<12}{'orders':>8}{'gross':>14}{'refunded':>14}{'net':>14}")
    for row in [*data["days"], {"date": "total", **data["totals"]}]:
        click.echo(
            f"{row['date']:<12}{row['orders']:>8}{format_amount(row['gross_cents'], cur):>14}"
            f"{format_amount(row['refunded_cents'], cur):>14}"
            f"{format_amount(row['net_cents'], cur):>14}"
        )
