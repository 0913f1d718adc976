"""Every `bull` command answers AWS, Stripe and network failures with one line on stderr and
exit code 1, never a traceback.

AWS refusing is a local server that answers every call with AccessDenied (in each protocol's
shape); AWS unreachable is `AWS_ENDPOINT_URL` at a closed 127.0.0.1 port; AWS answering garbage
is a server that answers 200 with a body no AWS parser accepts. Stripe unreachable is
`STRIPE_API_BASE` at a closed port (AWS itself is moto, so the command gets as far as Stripe);
Stripe refusing answers 401 as Stripe does. `bull mail` and `bull refund` talk to the local
stack's moto server and Stripe stand-in, so those are what fails for them.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import click
import pytest
from click.testing import CliRunner

from bull_chalice import infra, users
from bull_chalice.cli import main

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_test_" + "k" * 24
API = "https://abc123.execute-api.us-east-1.amazonaws.com/api"
SETUP = ["setup", "--region", "us-east-1"]
PASSWORD = ["--password", "Sturdy-Password-9"]

# Each command, as an operator would run it against stage dev (or the local stack).
COMMANDS = {
    "setup": [*SETUP, "--sender-email", "a@example.test", "--stripe-secret-key", KEY],
    "admin add": ["admin", "add", "boss@example.test", "--password", "Sturdy-Password-9"],
    "admin forgot-password": ["admin", "forgot-password", "boss@example.test"],
    "admin mfa": ["admin", "mfa", "boss@example.test", "--password", "Sturdy-Password-9"],
    "product add": ["product", "add", "--name", "Guide", "--price", "9.99", "--file", "{file}"],
    "stripe webhook": ["stripe", "webhook", "--url", API],
    "report": ["report", "--email", "boss@example.test", *PASSWORD, "--url", API],
    "orders": ["orders", "--email", "boss@example.test", *PASSWORD, "--url", API],
    "teardown": ["teardown", "--region", "us-east-1", "--yes"],
    "buyer export": ["buyer", "export", "buyer@example.test"],
    "buyer erase": ["buyer", "erase", "buyer@example.test", "--yes"],
    "notify summary": ["notify", "summary", "--date", "2026-11-20", "--to", "me@example.test"],
    "mail": ["mail"],
    "refund": ["refund", "cs_test_1"],
}
TALKS_TO_STRIPE = ("stripe webhook", "teardown", "refund")
# `bull local` and `bull rehearse` start their own moto server and Stripe stand-in: they
# talk to no outside AWS or Stripe.
NOT_COVERED = {"local", "rehearse"}


def _leaf_commands(group: click.Group, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            names |= _leaf_commands(command, f"{full} ")
        else:
            names.add(full)
    return names


def test_every_command_is_covered():
    assert _leaf_commands(main) == set(COMMANDS) | NOT_COVERED


_HELD: list[socket.socket] = []


def _closed_port() -> int:
    """A port that refuses connections and that no other test's server can take meanwhile:
    bound and kept (never listening) for the rest of the run."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    return sock.getsockname()[1]


class _Answers(BaseHTTPRequestHandler):
    """`aws`: AccessDenied in the caller's protocol; `garbage`: 200 and junk; `stripe`: 401."""

    mode = "aws"

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        if self.mode == "garbage":
            status, kind, text = 200, "text/html", "<html>this is not AWS"
        elif self.mode == "stripe":
            status, kind = 401, "application/json"
            text = json.dumps(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
            )
        elif self.headers.get("X-Amz-Target"):
            status, kind = 400, "application/x-amz-json-1.1"
            text = json.dumps({"__type": "AccessDeniedException", "message": "Not authorized"})
        elif "Action=" in body:
            status, kind = 403, "text/xml"
            text = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                "<Message>Not authorized</Message></Error><RequestId>1</RequestId></ErrorResponse>"
            )
        else:
            status, kind = 403, "application/xml"
            text = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer


@pytest.fixture
def answering():
    """Start a server on 127.0.0.1 answering in a mode; stopped after the test."""
    servers = []

    def start(mode: str) -> str:
        handler = type("Handler", (_Answers,), {"mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def project(env, tmp_path, monkeypatch):
    """Stage dev set up in a copy of the project; a local stack state file; fast failures."""
    shutil.copytree(
        ROOT / ".chalice",
        tmp_path / ".chalice",
        ignore=shutil.ignore_patterns("deployed", "deployments"),
    )
    monkeypatch.setenv("BULL_PROJECT_DIR", str(tmp_path))
    outputs = infra.kept_names("dev", "123456789012", "us-east-1")
    outputs.update(
        UserPoolId="us-east-1_abcdefghi",
        UserPoolArn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abcdefghi",
        UserPoolClientId="client123",
        SenderEmail="store@example.test",
        SiteName="Test Store",
    )
    config_path = tmp_path / ".chalice" / "config.json"
    conf = json.loads(config_path.read_text())
    conf["stages"]["dev"]["environment_variables"] = infra.environment_from_outputs(outputs, "dev")
    config_path.write_text(json.dumps(conf))
    for name in ("AWS_PROFILE", "BULL_ADMIN_EMAIL", "BULL_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4")
    state = tmp_path / "local.json"
    monkeypatch.setenv("BULL_STATE_FILE", str(state))

    def state_at(moto_url: str, stripe_url: str) -> None:
        state.write_text(json.dumps({"moto_url": moto_url, "stripe_api_url": stripe_url}))

    return {"file": str(book), "state_at": state_at, "outputs": outputs}


def _run(project, command: str):
    args = [arg.replace("{file}", project["file"]) for arg in COMMANDS[command]]
    return CliRunner().invoke(main, args, input="123456\n")


def _assert_one_line(result, *expected: str):
    print(result.stderr)  # shown with -s, to read the messages
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert any(word in lines[0] for word in expected), lines[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_aws_refusing(project, answering, monkeypatch, command):
    url = answering("aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    project["state_at"](url, url)
    result = _run(project, command)
    expected = {
        "mail": ("not the JSON expected",),
        "refund": ("no paid checkout session",),
    }.get(command, ("AWS refused", "not authorized", "Not authorized", "Cognito"))
    _assert_one_line(result, *expected)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_aws_unreachable(project, monkeypatch, command):
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    project["state_at"](url, url)
    result = _run(project, command)
    expected = {"mail": (url,), "refund": (url,)}.get(command, ("AWS unreachable", "reach"))
    _assert_one_line(result, *expected)


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"mail", "refund"}))
def test_aws_answering_garbage(project, answering, monkeypatch, command):
    url = answering("garbage")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    result = _run(project, command)
    _assert_one_line(result, "AWS unreachable", "Cognito")


@pytest.fixture
def stripe_ready(project, aws):
    """AWS (moto) answers: the Stripe key is in SSM, so the command reaches Stripe."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(
        Name=project["outputs"]["StripeSecretKeyParam"], Value=KEY, Type="SecureString"
    )
    return project


@pytest.mark.parametrize("command", TALKS_TO_STRIPE)
def test_stripe_unreachable(stripe_ready, monkeypatch, command):
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("STRIPE_API_BASE", url)
    stripe_ready["state_at"]("http://127.0.0.1:9", url)
    result = _run(stripe_ready, command)
    expected = (url,) if command == "refund" else ("Stripe unreachable",)
    _assert_one_line(result, *expected)


@pytest.mark.parametrize("command", TALKS_TO_STRIPE)
def test_stripe_refusing(stripe_ready, answering, monkeypatch, command):
    url = answering("stripe")
    monkeypatch.setenv("STRIPE_API_BASE", url)
    stripe_ready["state_at"]("http://127.0.0.1:9", url)
    result = _run(stripe_ready, command)
    expected = ("no paid checkout session",) if command == "refund" else ("Stripe refused",)
    _assert_one_line(result, *expected)


@pytest.mark.parametrize(("command", "path"), [("report", "reports"), ("orders", "admin/orders")])
def test_report_with_the_store_unreachable(project, aws, monkeypatch, command, path):
    """Signed in, but the store's API does not answer: the `requests` failure, one line."""
    from bull_chalice import resources

    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool = resources.create_user_pool(cognito, "dev")
    users.add_user(cognito, pool.pool_id, "boss@example.test", "Sturdy-Password-9")
    config_path = Path(project["file"]).parent / ".chalice" / "config.json"
    conf = json.loads(config_path.read_text())
    conf["stages"]["dev"]["environment_variables"]["USER_POOL_CLIENT_ID"] = pool.client_id
    config_path.write_text(json.dumps(conf))
    store = f"http://127.0.0.1:{_closed_port()}/api"
    args = [command, "--email", "boss@example.test", "--password", "Sturdy-Password-9"]
    result = CliRunner().invoke(main, [*args, "--url", store])
    _assert_one_line(result, f"could not connect to {store}/{path}")
