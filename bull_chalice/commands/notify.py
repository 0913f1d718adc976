"""`bull notify summary`: the seller's daily summary on demand, for any day, with the operator's
credentials against the stage's tables (the local stack has no scheduler; a deployed stage's
runs every morning on its own). The same report and notice as the scheduled handler's."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from bull_chalice.errors import cli_errors
from bull_chalice.targets import stage_option, target_for


@click.group()
def notify() -> None:
    """The seller's notifications (NOTIFY_EMAIL)."""


@notify.command("summary")
@stage_option
@click.option("--date", "day", help="The day (YYYY-MM-DD; default: yesterday, store timezone).")
@click.option("--to", help="Mail it here instead of the stage's NOTIFY_EMAIL.")
@cli_errors
def summary(stage: str, day: str | None, to: str | None) -> None:
    """Mail the daily summary of a day now: orders, gross, refunded, disputed, net, top
    products and other currencies, as the scheduled handler does every morning."""
    from chalicelib.catalog.products import Catalog
    from chalicelib.errors import BadRequest
    from chalicelib.platform.config import ConfigError, email_address
    from chalicelib.sale.figures import Reports, parse_range
    from chalicelib.sale.receipts import Mailer
    from chalicelib.sale.summary import last_full_day, summary_notice

    target = target_for(stage)
    settings, tables = target.bind_tables()
    local_admin = (target.local or {}).get("admin_email", "")
    try:
        address = email_address("--to", to or settings.notify_email or local_admin)
    except ConfigError as exc:
        raise click.BadParameter(exc.message, param_hint="--to") from None
    if not address:
        raise click.ClickException(
            f"stage {stage} has no NOTIFY_EMAIL: run bull setup --stage {stage} --notify-email "
            "ADDRESS, or pass --to"
        )
    timezone = settings.report_timezone
    when = day or last_full_day(datetime.now(UTC), timezone).isoformat()
    try:
        days = parse_range(when, when, timezone)
    except BadRequest:
        raise click.BadParameter("a day like 2026-11-24", param_hint="--date") from None
    catalog = Catalog(model=tables.products, currency=settings.currency, file_exists=lambda _: True)
    reports = Reports(catalog, timezone, settings.currency, model=tables.sales)
    notice = summary_notice(reports.sales(days))
    mailer = Mailer(target.client("ses"), settings.sender_email, settings.site_name)
    mailer.send_notice(address, notice.subject, "notice", {"n": notice})
    click.echo(f"Mailed {address}: {notice.subject}")
