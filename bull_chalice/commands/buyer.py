"""`bull buyer export|erase EMAIL`: a buyer's privacy requests, answered with the operator's
credentials straight against the stage's tables (no route, no Lambda permission), through the
same service the store would use (`chalicelib.sale.privacy.Privacy`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from bull_chalice.errors import cli_errors
from bull_chalice.targets import stage_option, target_for


@click.group()
def buyer() -> None:
    """A buyer's privacy requests: what the store holds about them, and erasing it."""


def _address(email: str) -> str:
    """The address as the store takes it (`clean_email`), or a usage error (exit 2)."""
    from chalicelib.errors import StoreError
    from chalicelib.payments.checkout import clean_email

    try:
        cleaned = clean_email(email)
    except StoreError as exc:
        raise click.BadParameter(exc.message, param_hint="EMAIL") from None
    if not cleaned:
        raise click.BadParameter("give the buyer's e-mail address", param_hint="EMAIL")
    return cleaned


def _privacy(stage: str) -> Any:
    from chalicelib.sale.privacy import Privacy

    _, tables = target_for(stage).bind_tables()
    return Privacy(
        purchases=tables.purchases,
        links=tables.links,
        tokens=tables.library_tokens,
        allowances=tables.allowances,
        licenses=tables.licenses,
        clock=lambda: datetime.now(UTC),
    )


@buyer.command("export")
@click.argument("email")
@stage_option
@cli_errors
def buyer_export(email: str, stage: str) -> None:
    """Print, as JSON, everything the store holds about EMAIL (any case): purchases, download
    links and their logs, live library sign-in links (count and expiry) and library mails."""
    address = _address(email)
    data = _privacy(stage).export(address)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    if not data["found"]:
        click.echo(f"The store holds nothing about {data['email']}.", err=True)


@buyer.command("erase")
@click.argument("email")
@stage_option
@click.option("--yes", is_flag=True, help="Erase without asking.")
@cli_errors
def buyer_erase(email: str, stage: str, yes: bool) -> None:
    """Erase EMAIL (any case) from the store: the address on its purchases, the IP hashes and
    user agents of its downloads, its library sign-in links and mail allowance. Amounts,
    refunds, disputes and the sales figures stay for the seller's books. Safe to run again."""
    address = _address(email)
    privacy = _privacy(stage)
    if not yes:
        held = privacy.export(address)
        if not held["found"]:
            click.echo(f"The store holds nothing about {held['email']}: nothing to erase.")
            return
        orders = len(held["purchases"])
        click.echo(
            f"{held['email']}: {orders} order{'' if orders == 1 else 's'} "
            f"({', '.join(p['order_id'] for p in held['purchases']) or 'none'})."
        )
        click.confirm(
            "Erase the address and the buyer's download traces? The orders stay, without it",
            abort=True,
        )
    done = privacy.erase(address)
    if not done.found:
        click.echo(f"The store holds nothing about {done.email}: nothing to erase.")
        return
    click.echo(f"Erased {done.email}:")
    click.echo(f"  address removed from {done.purchases} order(s): {', '.join(done.kept) or '-'}")
    click.echo(
        f"  IP hashes and user agents removed from {done.downloads} download(s) "
        f"on {done.links} link(s)"
    )
    click.echo(f"  library sign-in links deleted: {done.sign_in_links}")
    click.echo(f"  library mail allowance deleted: {'yes' if done.allowances else 'none held'}")
    click.echo(
        "Kept for the books: amounts, currency, dates, products, status, refunds, disputes "
        "and the sales figures. Mails already sent and Stripe's records are outside the store."
    )
