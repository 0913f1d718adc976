"""`bull admin forgot-password` and `bull admin mfa`: an admin's own account, through Cognito's
user API (what the dashboard does in the browser).

Both take `--stage` like every command; `--stage local` uses the running local stack. Every
failure is one line on stderr and exit code 1.
"""

from __future__ import annotations

from typing import Any

import click

from bull_chalice import signin
from bull_chalice.deploy_cli import _aws_errors, admin, stage_option, target_for


def _pool_client(stage: str) -> tuple[Any, str, dict[str, str]]:
    target = target_for(stage)
    env = target.environment()
    client_id = env.get("USER_POOL_CLIENT_ID")
    if not client_id:
        raise click.ClickException(f"stage {stage} has no user pool: run `bull setup` first")
    return target.client("cognito-idp"), client_id, env


@admin.command("forgot-password")
@click.argument("email")
@stage_option
@_aws_errors
def forgot_password(email: str, stage: str) -> None:
    """Reset a forgotten password: Cognito mails EMAIL a code, then choose a new password."""
    cognito, client_id, _ = _pool_client(stage)
    destination = signin.send_reset_code(cognito, client_id, email)
    click.echo(f"If {email} is an admin, Cognito has mailed a code to {destination}.")
    code = click.prompt("Code from the email").strip()
    password = click.prompt(
        "New password (12+ characters, upper and lower case, a digit)",
        hide_input=True,
        confirmation_prompt="Repeat the new password",
    )
    signin.reset_password(cognito, client_id, email, code, password)
    click.echo(f"Password changed for {email}: sign in with the new one.")


@admin.command("mfa")
@click.argument("email")
@stage_option
@click.option("--password", envvar="BULL_ADMIN_PASSWORD", prompt=True, hide_input=True)
@_aws_errors
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


COMMANDS: list[click.Command] = []  # adds to deploy_cli's `admin` group on import
