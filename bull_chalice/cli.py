"""`bull`: the operator's command line. Each group of commands lives in its own module."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="bull-chalice")
def main() -> None:
    """Set up and run a Bull store: infra, config, admins, products, Stripe, local stack."""


def _register() -> None:
    from bull_chalice import admin_cli, deploy_cli, local_cli

    for command in (*local_cli.COMMANDS, *deploy_cli.COMMANDS, *admin_cli.COMMANDS):
        main.add_command(command)


_register()
