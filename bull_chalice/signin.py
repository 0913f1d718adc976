"""Cognito sign-in for `bull`, as the dashboard does it: USER_PASSWORD_AUTH, then whatever
challenge Cognito asks for.

- `NEW_PASSWORD_REQUIRED` (an admin created with a temporary password, `bull admin add`
  without `--password`): prompts for a new password twice, hidden, and answers the challenge.
- `SOFTWARE_TOKEN_MFA` (an admin who turned on TOTP with `bull admin mfa`): prompts for the
  authenticator app's code.

Every Cognito refusal becomes one clear line (`click.ClickException`), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import click
from botocore.exceptions import BotoCoreError, ClientError

NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 - a challenge name
SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"  # noqa: S105 - a challenge name
MAX_CHALLENGES = 3  # a first sign-in with MFA on: new password, then a code


@dataclass(frozen=True)
class Tokens:
    """What a finished sign-in gives: the ID token the store's API takes, the access token
    Cognito's own user calls (MFA set-up) take, and the refresh token."""

    id_token: str
    access_token: str
    refresh_token: str | None = None


def ask_new_password() -> str:
    """A new password, typed twice, hidden."""
    return click.prompt(
        "New password (12+ characters, upper and lower case, a digit)",
        hide_input=True,
        confirmation_prompt="Repeat the new password",
    )


def prompt_new_password() -> str:
    click.echo("This account must choose a new password (the one you used was temporary).")
    return ask_new_password()


def prompt_mfa_code() -> str:
    return click.prompt("Code from your authenticator app").strip()


def failure(exc: Exception, doing: str = "sign-in failed") -> click.ClickException:
    """One line for a Cognito refusal or an unreachable Cognito."""
    if isinstance(exc, BotoCoreError):
        return click.ClickException(f"{doing}: cannot reach Cognito ({exc})")
    if not isinstance(exc, ClientError):
        return click.ClickException(f"{doing}: {exc}")
    error = exc.response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    known = {
        # PreventUserExistenceErrors answers an unknown user like a wrong password; say the
        # same for both where Cognito does not.
        "NotAuthorizedException": "wrong email or password",
        "UserNotFoundException": "wrong email or password",
        "CodeMismatchException": "that code is wrong",
        "EnableSoftwareTokenMFAException": "that code is wrong",
        "ExpiredCodeException": "that code is wrong or has expired; ask for a new one",
        "InvalidPasswordException": f"Cognito refused the new password: {message}",
        "PasswordResetRequiredException": (
            "this account must reset its password: run `bull admin forgot-password`"
        ),
        "UserNotConfirmedException": "this account is not confirmed yet",
        "LimitExceededException": "too many attempts; wait a few minutes and try again",
        "TooManyRequestsException": "too many attempts; wait a few minutes and try again",
        "TooManyFailedAttemptsException": "too many attempts; wait a few minutes and try again",
    }
    if code == "NotAuthorizedException" and "session" in message.lower():
        return click.ClickException(f"{doing}: the sign-in took too long; start again")
    if code == "NotAuthorizedException" and "disabled" in message.lower():
        return click.ClickException(f"{doing}: this account is disabled")
    return click.ClickException(f"{doing}: {known.get(code) or f'{code}: {message}'.strip(': ')}")


def sign_in(
    cognito: Any,
    client_id: str,
    email: str,
    password: str,
    *,
    new_password: Callable[[], str] = prompt_new_password,
    mfa_code: Callable[[], str] = prompt_mfa_code,
) -> Tokens:
    """Sign `email` in, answering Cognito's challenges by asking the operator."""
    if not client_id:
        raise click.ClickException("sign-in failed: this stage has no user pool client")
    try:
        answer = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        for _ in range(MAX_CHALLENGES):
            if "AuthenticationResult" in answer:
                break
            name = answer.get("ChallengeName", "")
            params = answer.get("ChallengeParameters") or {}
            username = params.get("USER_ID_FOR_SRP") or params.get("USERNAME") or email
            if name == NEW_PASSWORD_REQUIRED:
                responses = {"USERNAME": username, "NEW_PASSWORD": new_password()}
            elif name == SOFTWARE_TOKEN_MFA:
                responses = {"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": mfa_code()}
            else:
                raise click.ClickException(
                    f"sign-in failed: Cognito asks for {name or 'an unknown step'}, "
                    "which bull cannot answer; sign in on the dashboard"
                )
            answer = cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName=name,
                Session=answer.get("Session", ""),
                ChallengeResponses=responses,
            )
    except (ClientError, BotoCoreError) as exc:
        raise failure(exc) from None
    result = answer.get("AuthenticationResult")
    if not result:
        raise click.ClickException("sign-in failed: Cognito asked for too many steps")
    return Tokens(
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken"),
    )


def send_reset_code(cognito: Any, client_id: str, email: str) -> str:
    """ForgotPassword: Cognito mails a code; where it went (masked), as Cognito says."""
    try:
        answer = cognito.forgot_password(ClientId=client_id, Username=email)
    except (ClientError, BotoCoreError) as exc:
        raise failure(exc, "could not send a reset code") from None
    return (answer.get("CodeDeliveryDetails") or {}).get("Destination") or email


def reset_password(cognito: Any, client_id: str, email: str, code: str, password: str) -> None:
    """ConfirmForgotPassword with the mailed code."""
    try:
        cognito.confirm_forgot_password(
            ClientId=client_id, Username=email, ConfirmationCode=code.strip(), Password=password
        )
    except (ClientError, BotoCoreError) as exc:
        raise failure(exc, "password not changed") from None


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The key-URI authenticator apps read (Google Authenticator's format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    return (
        f"otpauth://totp/{label}?secret={quote(secret, safe='')}&issuer={quote(issuer, safe='')}"
        "&algorithm=SHA1&digits=6&period=30"
    )


def start_totp(cognito: Any, access_token: str) -> str:
    """AssociateSoftwareToken: the new TOTP secret (base32) for the signed-in user."""
    try:
        return cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
    except (ClientError, BotoCoreError) as exc:
        raise failure(exc, "could not start MFA set-up") from None


def finish_totp(cognito: Any, access_token: str, code: str, device: str = "bull") -> None:
    """VerifySoftwareToken with a code from the app, then make TOTP the user's MFA."""
    doing = "MFA not turned on"
    try:
        verified = cognito.verify_software_token(
            AccessToken=access_token, UserCode=code.strip(), FriendlyDeviceName=device
        )
        if verified.get("Status") != "SUCCESS":
            raise click.ClickException(f"{doing}: that code is wrong")
        cognito.set_user_mfa_preference(
            AccessToken=access_token,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )
    except (ClientError, BotoCoreError) as exc:
        raise failure(exc, doing) from None
