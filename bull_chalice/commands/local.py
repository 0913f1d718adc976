"""`bull local`, `bull mail` and `bull refund`: running and poking the local stack."""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import click
import requests

from bull_chalice.errors import cli_errors
from bull_chalice.local import LocalStack, StackError
from bull_chalice.targets import local_state


@click.command()
def local() -> None:
    """Run the whole store locally (moto, Stripe stand-in, chalice local) until Ctrl-C."""
    _run(LocalStack.from_environment(), "chalice local")


@click.command()
def rehearse() -> None:
    """Run the store in its deployed shape until Ctrl-C: the `chalice package` artifact behind
    API Gateway's events under the stage path (BULL_BASE_PATH, default /api)."""
    _run(LocalStack.from_environment(rehearse=True), "the packaged app behind API Gateway's events")


def _run(stack: LocalStack, app: str) -> None:

    def _stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    # Install both explicitly: a process started in the background (as make may start it)
    # inherits SIGINT ignored, and Ctrl-C must still stop every child.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    fresh = " (BULL_FRESH=1: starting empty)" if stack.fresh else ""
    click.echo(f"Starting the store with {app}; state in {stack.state_dir}{fresh}")
    try:
        state = stack.start(say=lambda step: click.echo(f"  {step}"))
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"""
  Store        {state.api_url}/
  Dashboard    {state.api_url}/admin
  Admin        {state.admin_email} / {state.admin_password}
  Stripe       {state.stripe_api_url}  (stand-in; webhook secret {state.webhook_secret})
  AWS (moto)   {state.moto_url}
  State        {stack.state_file}
  Logs         {stack.log_dir}

  Buy the demo product, pay on the stand-in page, then `bull mail` shows the receipt.
  Press Ctrl-C to stop everything.
"""
    )
    try:
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(0.5)
        dead = [name for name, p in stack.processes.items() if p.poll() is not None]
        click.echo(f"{', '.join(dead)} stopped unexpectedly; see {stack.log_dir}", err=True)
    except KeyboardInterrupt:
        click.echo("\nStopping ...")
    finally:
        # A second Ctrl-C (or the TERM that `timeout` forwards) must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        click.echo("Stopped; ports are free.")


# A receipt's download link, or a library mail's sign-in link.
MAILED_LINK = re.compile(
    r'https?://[^"\s<]+/(?:download/[A-Za-z0-9_-]{43}|library/[A-Za-z0-9_-]{32})(?![\w-])'
)


def latest_receipts(moto_url: str, limit: int = 5) -> list[dict[str, str]]:
    """The newest mails moto's SES accepted: to, subject, and the download or library sign-in
    link they carry."""
    data = requests.get(f"{moto_url}/moto-api/data.json", timeout=10).json()
    messages = data.get("ses", {}).get("Message") or []
    receipts = []
    for message in messages[-limit:][::-1]:
        body = message.get("body") or ""
        link = re.search(MAILED_LINK, body)
        receipts.append(
            {
                "to": ", ".join((message.get("destinations") or {}).get("ToAddresses", [])),
                "subject": message.get("subject", ""),
                "link": link.group(0) if link else "",
            }
        )
    return receipts


@click.command()
@click.option("--limit", default=5, show_default=True, help="How many receipts to show.")
@cli_errors
def mail(limit: int) -> None:
    """Print the latest mails sent by the local stack (from moto's SES): receipts with their
    link, library sign-ins, and the seller's notices (to NOTIFY_EMAIL, the admin by default)."""
    state = local_state()
    receipts = latest_receipts(state["moto_url"], limit)
    if not receipts:
        click.echo("No mail sent yet.")
    for receipt in receipts:
        link = f"Link:    {receipt['link']}\n" if receipt["link"] else ""
        click.echo(f"To:      {receipt['to']}\nSubject: {receipt['subject']}\n{link}")


@click.command()
@click.argument("session_id")
@cli_errors
def refund(session_id: str) -> None:
    """Refund a local purchase in full through the Stripe stand-in (sends charge.refunded)."""
    state = local_state()
    base = state["stripe_api_url"]
    session = requests.get(f"{base}/v1/checkout/sessions/{session_id}", timeout=10)
    if session.status_code != 200 or not session.json().get("payment_intent"):
        raise click.ClickException(f"no paid checkout session {session_id} on the stand-in")
    answer = requests.post(
        f"{base}/v1/refunds", data={"payment_intent": session.json()["payment_intent"]}, timeout=60
    )
    if answer.status_code != 200:
        message = answer.json().get("error", {}).get("message", answer.text)
        raise click.ClickException(f"refund refused: {message}")
    click.echo(
        f"Refunded {session_id}: {answer.json()['amount']} cents; charge.refunded delivered."
    )
