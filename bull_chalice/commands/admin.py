"""`bull admin add`, `bull admin forgot-password` and `bull admin mfa`: the store's admins in
its Cognito user pool (group `admins`).

`add` creates them; `forgot-password` and `mfa` act on an admin's own account through
Cognito's user API (what the dashboard does in the browser). Every command takes `--stage`;
`--stage local` uses the running local stack.
"""

from __future__ import annotations

from typing import Any

import click

from bull_chalice import signin, users
from bull_chalice.errors import cli_errors
from bull_chalice.targets import stage_option, target_for


@click.group()
def admin() -> None:
    """Manage the store's admins (Cognito group `admins`)."""


@admin.command("add")
@click.argument("email")
@stage_option
@click.option(
    "--password",
    envvar="BULL_ADMIN_PASSWORD",
    help="Set a permanent password (else Cognito mails a temporary one).",
)
@cli_errors
def admin_add(email: str, stage: str, password: str | None) -> None:
    """Create an admin (or add an existing user to `admins`)."""
    target = target_for(stage)
    pool_id = target.user_pool("USER_POOL_ID")
    cognito = target.client("cognito-idp")
    if password:
        users.add_user(cognito, pool_id, email, password)
        click.echo(f"Admin {email} is ready in {pool_id} with the given password.")
        return
    if users.create_invited(cognito, pool_id, email):
        click.echo(f"Created {email}; Cognito mailed a temporary password.")
    else:
        click.echo(f"{email} exists already.")
    users.add_to_admins(cognito, pool_id, email)
    click.echo(f"{email} is in the admins group of {pool_id}.")


def _pool_client(stage: str) -> tuple[Any, str, dict[str, str]]:
    target = target_for(stage)
    client_id = target.user_pool("USER_POOL_CLIENT_ID")
    return target.client("cognito-idp"), client_id, target.environment()


@admin.command("forgot-password")
@click.argument("email")
@stage_option
@cli_errors
def forgot_password(email: str, stage: str) -> None:
    """Reset a forgotten password: Cognito mails EMAIL a code, then choose a new password."""
    cognito, client_id, _ = _pool_client(stage)
    destination = signin.send_reset_code(cognito, client_id, email)
    click.echo(f"If {email} is an admin, Cognito has mailed a code to {destination}.")
    code = click.prompt("Code from the email").strip()
    password = signin.ask_new_password()
    signin.reset_password(cognito, client_id, email, code, password)
    click.echo(f"Password changed for {email}: sign in with the new one.")


@admin.command("mfa")
@click.argument("email")
@stage_option
@click.option("--password", envvar="BULL_ADMIN_PASSWORD", prompt=True, hide_input=True)
@cli_errors
def mfa(email: str, stage: str, password: str) -> None:
    """Turn on TOTP MFA for EMAIL: sign in, add the key to an authenticator app, confirm a
    code. Every later sign-in (dashboard and `bull`) then asks for a code."""
    cognito, client_id, env = _pool_client(stage)
    tokens = signin.sign_in(cognito, client_id, email, password)
    secret = signin.start_totp(cognito, tokens.access_token)
    issuer = env.get("SITE_NAME") or "Bull Store"
    click.echo("Add this key to your authenticator app (or open the otpauth link):")
    click.echo(f"  key: {secret}")
    click.echo(f"  {signin.otpauth_uri(secret, email, issuer)}")
    code = click.prompt("Code the app shows now")
    signin.finish_totp(cognito, tokens.access_token, code)
    click.echo(f"MFA is on for {email}: every sign-in now asks for a code from the app.")
