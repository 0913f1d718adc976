"""`bull orders`: sign in with Cognito as the dashboard does and write the orders of a range of
days as CSV (`GET /admin/orders?format=csv`), for the seller's books."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import click

from bull_chalice.admin_api import admin_pages
from bull_chalice.errors import cli_errors
from bull_chalice.targets import stage_option


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
    """Sign in with Cognito and write every order of the range (store timezone) as CSV, any
    range: the store answers in pages, which are joined under one header."""
    range_ = {k: v for k, v in (("from", start), ("to", end)) if v}
    params = {"format": "csv", **range_}
    pages = admin_pages(stage, base_url, email, password, "/admin/orders", params, "orders")
    first = next(pages)
    text = first.content.decode("utf-8")
    for page in pages:
        text += page.content.decode("utf-8").split("\r\n", 1)[1]  # its rows, not its header
    if out == "-":
        click.echo(text, nl=False)
        return
    named = re.search(r'filename="([\w.-]+)"', first.headers.get("Content-Disposition", ""))
    path = Path(out or (named.group(1) if named else "orders.csv"))
    path.write_text(text, encoding="utf-8", newline="")
    count = max(len(list(csv.reader(io.StringIO(text)))) - 1, 0)
    click.echo(f"Wrote {count} order{'' if count == 1 else 's'} to {path}", err=True)
