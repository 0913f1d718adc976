"""`bull`: the operator's command line. Each group of commands lives in its own module under
`bull_chalice.commands`."""

from __future__ import annotations

import click

from bull_chalice.commands import (
    admin,
    buyer,
    local,
    notify,
    orders,
    product,
    report,
    setup,
    stripe,
    teardown,
)


@click.group()
@click.version_option(package_name="bull-chalice")
def main() -> None:
    """Set up and run a Bull store: infra, config, admins, products, Stripe, local stack."""


for command in (
    local.local,
    local.rehearse,
    local.mail,
    local.refund,
    setup.setup,
    admin.admin,
    product.product,
    stripe.stripe,
    report.report,
    orders.orders,
    buyer.buyer,
    notify.notify,
    teardown.teardown,
):
    main.add_command(command)
