"""The CLI's error boundary: every `bull` command answers AWS refusing or unreachable, Stripe
refusing or unreachable and network failures with one line on stderr and exit code 1, never a
traceback (`cli_errors`)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    WaiterError,
)
from botocore.parsers import ResponseParserError


def one_line(text: object, limit: int = 300) -> str:
    """`text` on one line, cut to `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def error_code(exc: ClientError) -> str:
    """The AWS error code of a refusal (`ResourceNotFoundException`, `404`, ...)."""
    return exc.response.get("Error", {}).get("Code", "")


def attempt(call: Callable[..., Any], /, *refused: str, **kwargs: Any) -> bool:
    """`call(**kwargs)`; False when AWS refuses it with one of the `refused` error codes (what
    is looked for is missing, or what is made exists already), True when it succeeds."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if error_code(exc) in refused:
            return False
        raise
    return True


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps (`raise ... from`, PynamoDB's `.cause`), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        cause = current.__cause__ or getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else None
    return chain


def _aws_message(exc: BaseException) -> str | None:
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return one_line(
            f"AWS refused {exc.operation_name}: {error.get('Code', '?')}: "
            f"{error.get('Message', '')}".rstrip(": ")
        )
    if isinstance(exc, EndpointConnectionError | HTTPClientError):
        return one_line(f"AWS unreachable: {exc}")
    if isinstance(exc, ResponseParserError):
        return one_line(f"AWS unreachable: the endpoint's answer is not AWS's ({exc})")
    if isinstance(exc, WaiterError):
        return one_line(f"AWS: {exc}")
    if isinstance(exc, BotoCoreError):
        return one_line(f"AWS call failed: {exc}")
    return None


def _stripe_message(exc: BaseException) -> str | None:
    stripe_lib = sys.modules.get("stripe")
    if stripe_lib is None:
        return None
    if isinstance(exc, stripe_lib.APIConnectionError):
        base = os.environ.get("STRIPE_API_BASE") or "https://api.stripe.com"
        return one_line(f"Stripe unreachable: could not connect to {base}")
    if isinstance(exc, stripe_lib.StripeError):
        return one_line(f"Stripe refused: {exc.user_message or exc}")
    return None


def _network_message(exc: BaseException) -> str | None:
    requests_lib = sys.modules.get("requests")
    if requests_lib is None or not isinstance(exc, requests_lib.RequestException):
        return None
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or "the server"
    if isinstance(exc, requests_lib.Timeout):
        return one_line(f"no answer from {url} (timed out)")
    if isinstance(exc, requests_lib.ConnectionError):
        return one_line(f"could not connect to {url}")
    if isinstance(exc, requests_lib.JSONDecodeError):
        return one_line(f"an answer was not the JSON expected ({exc})")
    return one_line(f"request to {url} failed: {exc}")


def failure_message(exc: BaseException) -> str | None:
    """One line naming what failed, for AWS, Stripe and network failures; None otherwise."""
    message = _aws_message(exc) or _stripe_message(exc) or _network_message(exc)
    if message:
        return message
    # PynamoDB and the store wrap the AWS error that caused them: name that one.
    if _is_wrapper(exc):
        for cause in _causes(exc)[1:]:
            inner = failure_message(cause)
            if inner:
                return inner
        return one_line(getattr(exc, "message", None) or exc)
    return None


def _is_wrapper(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith("pynamodb") or (
        module.startswith("chalicelib") and hasattr(exc, "message") and hasattr(exc, "status")
    )


def cli_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Every `bull` command's guard: AWS refusing or unreachable, Stripe refusing or
    unreachable, and network failures become one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            message = failure_message(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

    return wrapped
