"""The deployed shape: the artifact `chalice package` builds, behind API Gateway's events.

Every route of the packaged Swagger answers through it; the admin routes' Cognito authorizer
refuses as API Gateway does before the function runs; and the function, run by a clean
interpreter, loads nothing from outside the unzipped package and the standard library.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import stripe

from bench.common import checkout_event
from bull_chalice import users
from bull_chalice.local import local_client
from bull_chalice.rehearse import Package, build_package, gateway

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("local_stack", ["make rehearse"], indirect=True),
]

GATEWAY_403 = {"message": "Missing Authentication Token"}


def _sign_in(stack, email: str, password: str) -> dict[str, str]:
    cognito = local_client(stack, "cognito-idp")
    answer = cognito.initiate_auth(
        ClientId=stack.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return answer["AuthenticationResult"]


def _sample(route: str, stack) -> str:
    values = {
        "{product_id}": stack.demo_product_id,
        "{token}": secrets.token_urlsafe(32),
        "{session_id}": "cs_test_rehearsal_unknown",
        "{action}": "resend",
    }
    for name, value in values.items():
        route = route.replace(name, value)
    return route


def _package(local_stack, stack) -> Package:
    """The package the stack serves (built already: this returns the same one)."""
    pool = local_client(stack, "cognito-idp").describe_user_pool(UserPoolId=stack.user_pool_id)
    arn = pool["UserPool"]["Arn"]
    return build_package(local_stack.log_dir.parent / "package", user_pool_arn=arn)


def test_every_packaged_route_answers_through_api_gateway_events(local_stack, stack):
    api = _package(local_stack, stack).api()
    token = _sign_in(stack, stack.admin_email, stack.admin_password)["IdToken"]
    answered = []
    for route, methods in api.resources.items():
        for verb, method in methods.items():
            headers = {"Authorization": token} if method.authorizer else {}
            answer = requests.request(
                verb,
                stack.api_url + _sample(route, stack),
                headers={**headers, "Content-Type": "application/json"},
                data=b"{}" if verb in ("POST", "PATCH") else None,
                allow_redirects=False,
                timeout=30,
            )
            assert answer.status_code < 500, (verb, route, answer.status_code, answer.text[:300])
            assert answer.status_code != 403 or "error" in answer.json(), (verb, route)
            answered.append((verb, route))
    assert ("GET", "/reports") in answered and ("POST", "/webhooks/stripe") in answered
    assert len(answered) >= 15


def test_admin_routes_are_refused_by_the_authorizer_before_the_function(local_stack, stack):
    url = f"{stack.api_url}/reports"
    tokens = _sign_in(stack, stack.admin_email, stack.admin_password)
    refused = {
        "no header": {},
        "garbage": {"Authorization": "Bearer not.a.token"},
        "access token": {"Authorization": tokens["AccessToken"]},
    }
    for case, headers in refused.items():
        answer = requests.get(url, headers=headers, timeout=30)
        assert answer.status_code == 401, case
        assert answer.json() == {"message": "Unauthorized"}, case  # API Gateway's, not the app's
        _assert_gateway_headers(answer)
    for header in (tokens["IdToken"], f"Bearer {tokens['IdToken']}"):
        assert requests.get(url, headers={"Authorization": header}, timeout=30).status_code == 200


def test_a_signed_in_user_outside_admins_passes_the_authorizer_and_the_app_says_403(
    local_stack, stack
):
    email = f"helper-{secrets.token_hex(4)}@example.com"
    cognito = local_client(stack, "cognito-idp")
    users.add_user(cognito, stack.user_pool_id, email, "Not-An-Admin-42", admin=False)
    token = _sign_in(stack, email, "Not-An-Admin-42")["IdToken"]
    answer = requests.get(f"{stack.api_url}/reports", headers={"Authorization": token}, timeout=30)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "not_admin"


def test_paths_outside_the_stage_or_the_routes_get_api_gateways_answers(local_stack, stack):
    root = stack.api_url.removesuffix("/api")
    outside = requests.get(f"{root}/products", timeout=30)
    assert outside.status_code == 403 and outside.json() == {"message": "Forbidden"}
    unknown = requests.get(f"{stack.api_url}/nope/deeper", timeout=30)
    assert unknown.status_code == 403 and unknown.json() == GATEWAY_403
    wrong_method = requests.delete(f"{stack.api_url}/products", timeout=30)
    assert wrong_method.status_code == 403 and wrong_method.json() == GATEWAY_403
    for answer in (outside, unknown, wrong_method):
        _assert_gateway_headers(answer)


def _assert_gateway_headers(answer: requests.Response) -> None:
    """API Gateway's own answers carry the headers its gateway responses set in the template."""
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Security-Policy"] == "sandbox"


CLEAN_RUN = """
import json, os, sys, sysconfig
task, opt = sys.argv[1], sys.argv[2]
version = "python%d.%d" % sys.version_info[:2]
sys.path[0:0] = [task, f"{opt}/python/lib/{version}/site-packages", f"{opt}/python"]
import app
statuses = [app.app(event, None)["statusCode"] for event in json.load(sys.stdin)]
roots = {os.path.realpath(task), os.path.realpath(opt)} | {
    os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")
}
files = {getattr(m, "__file__", None) for m in list(sys.modules.values())} - {None}
outside = sorted(f for f in files if not any(
    os.path.realpath(f).startswith(root + os.sep) for root in roots))
print(json.dumps({"statuses": statuses, "outside": outside, "path": sys.path}))
"""


def test_the_packaged_function_loads_nothing_from_outside_itself(local_stack, stack):
    """A clean interpreter (-I -S: no site-packages, no user site, no PYTHON* variables) with the
    app and its layer on the path as Lambda puts them runs the routes that load every lazily
    imported library: Jinja2, stripe, PyJWT, boto3."""
    package = _package(local_stack, stack)
    admin = _sign_in(stack, stack.admin_email, stack.admin_password)["IdToken"]
    session_id = f"cs_test_clean_{secrets.token_hex(4)}"
    body = checkout_event(session_id, stack.demo_product_id, "clean@example.com", int(time.time()))
    signature = stripe.WebhookSignature.generate_signature_header(body, stack.webhook_secret)
    requests_to_make = [
        ("GET", "/", {}, b""),
        ("POST", f"/checkout/{stack.demo_product_id}", {}, b""),
        ("POST", "/webhooks/stripe", {"Stripe-Signature": signature}, body.encode()),
        ("GET", "/reports", {"Authorization": admin}, b""),
        ("GET", "/admin", {}, b""),
    ]
    api = package.api()
    events = []
    for verb, path, headers, payload in requests_to_make:
        method, params = api.match(path, verb)
        events.append(
            gateway.build_event(
                stage=gateway.Stage(),
                method=method,
                params=params,
                verb=verb,
                resource_path=path,
                raw_query="",
                headers=[("Content-Type", "application/json"), *headers.items()],
                body=payload,
                source_ip="127.0.0.1",
                domain_name=stack.api_url.split("/")[2],
                binary=False,
            )
        )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CLEAN_RUN, str(package.task), str(package.opt)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        cwd=package.task,
        env={**local_stack.app_environment(stack.user_pool_id, stack.user_pool_client_id)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 303, 200, 200, 200]
    assert result["outside"] == []
    layer = f"{package.opt}/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}"
    assert [p for p in result["path"][1:] if "site-packages" in p] == [f"{layer}/site-packages"]
    # The app ships alone; its dependencies come from the layer (Chalice's automatic_layer).
    assert not (package.task / "stripe").exists()
    assert (Path(layer) / "site-packages" / "stripe").is_dir()


def _environments(local_stack) -> list[int]:
    """The PIDs of the rehearsal's execution environments (the front's children)."""
    front = local_stack.processes["app"].pid
    children = Path(f"/proc/{front}/task/{front}/children").read_text().split()
    return [int(pid) for pid in children]


def test_an_execution_environment_that_dies_loses_no_request(local_stack, stack):
    victim = _environments(local_stack)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while victim in _environments(local_stack) and time.monotonic() < deadline:
        time.sleep(0.1)  # until the runtime has seen it die (and started another)
    answers = [requests.get(f"{stack.api_url}/products", timeout=10) for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 8


def test_a_forged_host_never_reaches_a_page_or_a_checkout(local_stack, stack):
    forged = {"Host": "evil.example"}
    page = requests.get(f"{stack.api_url}/", headers=forged, timeout=30)
    assert page.status_code == 200 and "evil.example" not in page.text
    checkout = requests.post(
        f"{stack.api_url}/checkout/{stack.demo_product_id}",
        headers=forged,
        allow_redirects=False,
        timeout=30,
    )
    session_id = checkout.headers["Location"].rsplit("/", 1)[1]
    session = requests.get(f"{stack.stripe_api_url}/v1/checkout/sessions/{session_id}", timeout=10)
    assert "evil.example" not in session.json()["success_url"]


@pytest.mark.parametrize(
    ("head", "status"),
    [
        ("Content-Length: abc\r\n", 400),
        ("Content-Length: -5\r\n", 400),
        ("Content-Length: 20000000\r\n", 413),
        ("".join(f"X-Padding-{n}: {'a' * 1000}\r\n" for n in range(12)), 431),
    ],
)
def test_requests_api_gateway_refuses_get_its_answer_not_a_dropped_connection(
    local_stack, stack, head, status
):
    host, port = stack.api_url.split("/")[2].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST /api/products HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):  # API Gateway closes the connection after refusing
            answer += chunk
    assert answer.decode().startswith(f"HTTP/1.1 {status} ")
    assert b'{"message": ' in answer
