"""`bull report`: sign in with Cognito as the dashboard does and print the sales report."""

from __future__ import annotations

import click

from bull_chalice.admin_api import admin_pages
from bull_chalice.errors import cli_errors
from bull_chalice.targets import stage_option


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
    from chalicelib.money import format_amount

    params = {k: v for k, v in (("from", start), ("to", end)) if v}
    answer = next(admin_pages(stage, base_url, email, password, "/reports", params, "report"))
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
