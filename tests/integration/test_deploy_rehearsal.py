"""The README's "Deploy to AWS" steps, in order, against an emulated AWS account.

A moto server (tests/harness/moto_server.py: moto plus the gap-fillers listed in
tests/harness/gaps.py) stands in for AWS and the Stripe stand-in for Stripe; every AWS call —
`bull`'s, `chalice deploy`'s, the app's — goes to it through `AWS_ENDPOINT_URL` with dummy
credentials. The deploy runs in a copy of the project (`BULL_PROJECT_DIR`, chalice's cwd), so
the repository's `.chalice/` is never touched:

    bull setup -> chalice deploy -> bull stripe webhook -> chalice deploy -> bull admin add
    (temporary password) -> bull product add -> a sale and bull report (first sign-in sets a
    new password) -> bull teardown -> bull setup (adopts the kept tables and bucket) ->
    chalice deploy -> bull report shows the old sale.

moto cannot run the Lambda function without Docker, so the sale and `bull report` reach the
store through `bull_chalice.rehearse.Rehearsal` (the packaged app behind API Gateway-shaped
events) with the stage's environment, and `bull report --url`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from bull_chalice import rehearse
from bull_chalice.package import SIZE_TARGET, cached_layer
from bull_chalice.processes import free_port, spawn, terminate, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGE = "dev"
REGION = "us-east-1"
SENDER = "store@example.test"
ADMIN = "owner@example.test"
NEW_PASSWORD = "Rehearsed-Password-42"
STRIPE_KEY = "sk_test_" + "r" * 24
PRICE = "19.99"
SETUP = ("setup", "--stage", STAGE, "--region", REGION, "--sender-email", SENDER)
SETUP += ("--stripe-secret-key", STRIPE_KEY)
COMMAND_TIMEOUT = 600  # a cold chalice dependency build downloads wheels


class Servers:
    """Child servers on 127.0.0.1, each in its own process group, stopped by PID."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str], ready: str) -> None:
        process = spawn(argv, env, self.log_dir / f"{name}.log", ROOT)
        self.processes[name] = process
        wait_for(ready, time.monotonic() + 60, process, name)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            terminate(self.processes.pop(name), timeout=10)


def copy_project(dest: Path) -> Path:
    """app.py, chalicelib/, requirements.txt, infra/ (the template merged into the package)
    and .chalice/ (without deployed/ and deployments/); chalice's dependency cache (its
    managed layer) for these exact requirements is copied in when the repository has it (a
    cold build downloads every wheel)."""
    dest.mkdir()
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copy2(ROOT / "requirements.txt", dest / "requirements.txt")
    shutil.copytree(
        ROOT / "chalicelib", dest / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(ROOT / "infra", dest / "infra")
    shutil.copytree(
        ROOT / ".chalice",
        dest / ".chalice",
        ignore=shutil.ignore_patterns("deployed", "deployments"),
    )
    cached = ROOT / ".chalice" / "deployments" / package_name(dest)
    if cached.exists() and _whole_zip(cached):
        (dest / ".chalice" / "deployments").mkdir()
        shutil.copy2(cached, dest / ".chalice" / "deployments" / cached.name)
    return dest


def _whole_zip(path: Path) -> bool:
    """False for a package another run of chalice is still writing (it writes in place)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError):
        return False


def package_name(project: Path) -> str:
    """The file chalice caches the project's dependencies in (its managed layer)."""
    return cached_layer(project).name


def keep_package(project: Path) -> None:
    """Hand a freshly built dependency package back to the repository's cache (atomically),
    so the next run, `make package` and test_package reuse it."""
    built = project / ".chalice" / "deployments" / package_name(project)
    cache = ROOT / ".chalice" / "deployments"
    if not built.exists() or (cache / built.name).exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".{built.name}.{os.getpid()}.partial"
    shutil.copy2(built, partial)
    os.replace(partial, cache / built.name)


class Rehearsal:
    """The deploy, step by step: commands run as a seller runs them, timed."""

    def __init__(self, project: Path, moto_url: str, stripe_url: str, tmp: Path) -> None:
        self.project = project
        self.moto_url = moto_url
        self.stripe_url = stripe_url
        self.timings: list[tuple[str, float]] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BULL_"))}
        env.pop("STRIPE_API_BASE", None)
        env.pop("STRIPE_SECRET_KEY", None)
        (tmp / "no-aws-config").write_text("")
        self.env = {
            **env,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-config"),
            "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "BULL_PROJECT_DIR": str(project),
            "STRIPE_API_BASE": stripe_url,
            "PYTHONUNBUFFERED": "1",
        }

    def run(
        self, step: str, argv: list[str], stdin: str = "", env: dict[str, str] | None = None
    ) -> str:
        """Run a command in the project copy; its output. Fails the test with the output."""
        started = time.monotonic()
        result = subprocess.run(
            argv,
            cwd=self.project,
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            start_new_session=True,  # no controlling terminal: hidden prompts read stdin
        )
        self.timings.append((step, time.monotonic() - started))
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{step} failed ({result.returncode}):\n{output[-4000:]}"
        return output

    def bull(self, step: str, *args: str, stdin: str = "", **env: str) -> str:
        return self.run(step, [str(BIN / "bull"), *args], stdin=stdin, env=env)

    def chalice_deploy(self, step: str) -> str:
        output = self.run(step, [str(BIN / "chalice"), "--debug", "deploy", "--stage", STAGE])
        urls = re.findall(r"Sending http request: <AWSPreparedRequest .*?url=([^,]+),", output)
        assert urls, output[-2000:]
        elsewhere = sorted({u for u in urls if not u.startswith(self.moto_url + "/")})
        assert not elsewhere, f"chalice deploy called outside moto: {elsewhere}"
        return output

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stage_environment(self) -> dict[str, str]:
        config = json.loads((self.project / ".chalice" / "config.json").read_text())
        return dict(config["stages"][STAGE]["environment_variables"])

    def deployed(self) -> dict[str, Any]:
        return json.loads((self.project / ".chalice" / "deployed" / f"{STAGE}.json").read_text())

    def report(self) -> str:
        lines = [f"  {step:<44}{seconds:7.1f} s" for step, seconds in self.timings]
        total = sum(seconds for _, seconds in self.timings)
        return "\n".join(["deploy rehearsal:", *lines, f"  {'total (commands)':<44}{total:7.1f} s"])


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    running = Servers(log_dir)
    try:
        yield running
    finally:
        running.stop()


def _start_moto(servers: Servers) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    servers.start(
        "moto",
        [sys.executable, "-m", "tests.harness.moto_server", str(port)],
        {**env, "PYTHONUNBUFFERED": "1"},
        f"{url}/moto-api/",
    )
    return url


def _start_stripe(servers: Servers, name: str, webhook_url: str, secret: str) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    servers.start(
        name,
        [sys.executable, "-m", "bull_chalice.stripe_standin", str(port), webhook_url],
        {**os.environ, "STRIPE_WEBHOOK_SECRET": secret, "PYTHONUNBUFFERED": "1"},
        f"{url}/health",
    )
    return url


def _temporary_password(moto_url: str, email: str) -> str:
    """The invitation Cognito mailed (recorded in moto's SES by the harness)."""
    messages = requests.get(f"{moto_url}/moto-api/data.json", timeout=10).json()["ses"]["Message"]
    for message in reversed(messages):
        if email in (message.get("destinations") or {}).get("ToAddresses", []):
            found = re.search(r"temporary password is (\S+)\.$", message.get("body", ""))
            if found:
                return found.group(1)
    raise AssertionError(f"no invitation mailed to {email}")


def _serve(rehearsal: Rehearsal, servers: Servers, tmp: Path, name: str) -> tuple[Any, str, str]:
    """Start the packaged app behind API Gateway-shaped events with the stage's environment,
    and a Stripe stand-in that signs deliveries to it with the endpoint secret in SSM (the
    stand-in signs with one fixed secret, not the one it handed `bull stripe webhook`)."""
    port = free_port()
    webhook = rehearsal.client("ssm").get_parameter(
        Name=rehearsal.stage_environment()["STRIPE_WEBHOOK_SECRET_PARAM"], WithDecryption=True
    )["Parameter"]["Value"]
    stripe_url = _start_stripe(
        servers, f"stripe-{name}", f"http://127.0.0.1:{port}/api/webhooks/stripe", webhook
    )
    environment = {
        **rehearsal.stage_environment(),
        "AWS_ENDPOINT_URL": rehearsal.moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STRIPE_API_BASE": stripe_url,
    }
    served = rehearse.Rehearsal(
        environment,
        port,
        base_path="/api",
        project_dir=rehearsal.project,
        package_dir=tmp / f"rehearse-{name}",
        log=(servers.log_dir / f"rehearse-{name}.log").open("a"),
    )
    base_url = served.start()
    return served, base_url.rstrip("/"), stripe_url


def _buy(base_url: str, product_id: str, email: str) -> None:
    http = requests.Session()
    checkout = http.post(
        f"{base_url}/checkout/{product_id}",
        data={"email": email},
        allow_redirects=False,
        timeout=60,
    )
    assert checkout.status_code == 303, checkout.text[:500]
    paid = http.post(checkout.headers["Location"], allow_redirects=False, timeout=60)
    assert paid.status_code == 303, paid.text[:500]
    # API Gateway is https only, so the store's redirects say https even on this http front.
    host_and_path = base_url.split("://", 1)[1]
    assert paid.headers["Location"].startswith(f"https://{host_and_path}/thanks?session_id=cs_")


def _orders(report_output: str) -> int:
    total = re.search(r"^total\s+(\d+)\s", report_output, re.MULTILINE)
    assert total, report_output
    return int(total.group(1))


def test_the_readme_deploy_steps_against_moto(
    tmp_path: Path, servers: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    moto_url = _start_moto(servers)
    stripe_url = _start_stripe(servers, "stripe", "http://127.0.0.1:9/unused", "whsec_unused")
    project = copy_project(tmp_path / "project")
    r = Rehearsal(project, moto_url, stripe_url, tmp_path)

    # 1. bull setup: the infra stack, the stage's config and policy, the secrets in SSM.
    r.bull("bull setup", *SETUP)
    env = r.stage_environment()
    assert env["PRODUCTS_TABLE"] == f"bull-{STAGE}-products"
    pool_id = env["USER_POOL_ID"]
    cognito = r.client("cognito-idp")
    assert [g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id)["Groups"]] == ["admins"]
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"] == env["USER_POOL_ARN"]
    assert SENDER in r.client("ses").list_identities()["Identities"]
    assert (project / ".chalice" / f"policy-{STAGE}.json").exists()
    ssm = r.client("ssm")
    key = ssm.get_parameter(Name=env["STRIPE_SECRET_KEY_PARAM"], WithDecryption=True)
    assert key["Parameter"]["Value"] == STRIPE_KEY

    # 2. chalice deploy: role and policy, function, API (imported Swagger), deployment,
    #    permission — every call to moto.
    r.chalice_deploy("chalice deploy")
    keep_package(project)
    function = r.client("lambda").get_function(FunctionName=f"bull-{STAGE}")["Configuration"]
    role = function["Role"].rsplit("/", 1)[1]
    iam = r.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    assert policy == json.loads((project / ".chalice" / f"policy-{STAGE}.json").read_text())
    assert function["Environment"]["Variables"]["PRODUCTS_TABLE"] == env["PRODUCTS_TABLE"]
    # What the deploy uploaded: the app and the dependency layer bull setup slimmed (issue 15).
    (layer,) = function["Layers"]
    assert function["CodeSize"] < 1024 * 1024 and layer["CodeSize"] > 5 * 1024 * 1024
    assert function["CodeSize"] + layer["CodeSize"] <= SIZE_TARGET
    # The daily summary: its own function with the stage's environment and policy, on a rule.
    summary = r.client("lambda").get_function(FunctionName=f"bull-{STAGE}-daily_summary")
    summary = summary["Configuration"]
    assert summary["Handler"] == "chalicelib.routes.schedules.daily_summary"
    assert summary["Environment"] == function["Environment"]
    summary_role = summary["Role"].rsplit("/", 1)[1]
    (summary_policy,) = iam.list_role_policies(RoleName=summary_role)["PolicyNames"]
    assert (
        iam.get_role_policy(RoleName=summary_role, PolicyName=summary_policy)["PolicyDocument"]
        == policy
    )
    rules = r.client("events").list_rules()["Rules"]
    assert [rule["ScheduleExpression"] for rule in rules] == ["cron(0 7 * * ? *)"]
    apigateway = r.client("apigateway")
    (api,) = apigateway.get_rest_apis()["items"]
    (authorizer,) = apigateway.get_authorizers(restApiId=api["id"])["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [env["USER_POOL_ARN"]]
    methods = {
        (resource["path"], verb): method
        for resource in apigateway.get_resources(restApiId=api["id"], embed=["methods"])["items"]
        for verb, method in resource.get("resourceMethods", {}).items()
    }
    assert methods[("/reports", "GET")]["authorizationType"] == "COGNITO_USER_POOLS"
    assert methods[("/reports", "GET")]["authorizerId"] == authorizer["id"]
    assert methods[("/checkout/{product_id}", "POST")]["authorizationType"] == "NONE"
    assert methods[("/", "GET")]["methodIntegration"]["type"] == "AWS_PROXY"
    stages = apigateway.get_stages(restApiId=api["id"])["item"]
    assert [s["stageName"] for s in stages] == ["api"]
    permission = json.loads(r.client("lambda").get_policy(FunctionName=f"bull-{STAGE}")["Policy"])
    assert any(
        s["Principal"] == {"Service": "apigateway.amazonaws.com"}
        and api["id"] in json.dumps(s.get("Condition"))
        for s in permission["Statement"]
    )
    api_url = f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/api"
    # The cost ceiling (README "Limits and cost ceiling"): the function's reserved concurrency,
    # written by bull setup into the stage, applied by chalice deploy.
    concurrency = r.client("lambda").get_function_concurrency(FunctionName=f"bull-{STAGE}")
    assert concurrency["ReservedConcurrentExecutions"] == 50

    # 3. bull stripe webhook: the endpoint at (the stand-in for) Stripe, its secret in SSM.
    r.bull("bull stripe webhook", "stripe", "webhook", "--stage", STAGE)
    endpoints = requests.get(
        f"{stripe_url}/v1/webhook_endpoints",
        headers={"Authorization": f"Bearer {STRIPE_KEY}"},
        timeout=10,
    ).json()["data"]
    assert [e["url"] for e in endpoints] == [f"{api_url}/webhooks/stripe"]
    assert ssm.get_parameter(Name=env["STRIPE_WEBHOOK_SECRET_PARAM"], WithDecryption=True)
    throttled = {"throttlingRateLimit": 100.0, "throttlingBurstLimit": 200}  # bull's defaults

    def throttling() -> dict[str, Any]:
        stage = apigateway.get_stage(restApiId=api["id"], stageName="api")
        return {k: stage["methodSettings"]["*/*"][k] for k in throttled}

    assert throttling() == throttled  # applied by bull stripe webhook, after the deploy

    # 4. chalice deploy once more: the same function and API, updated in place.
    r.chalice_deploy("chalice deploy (again)")
    again = r.client("lambda").get_function(FunctionName=f"bull-{STAGE}")["Configuration"]
    assert again["FunctionArn"] == function["FunctionArn"]
    assert [a["id"] for a in apigateway.get_rest_apis()["items"]] == [api["id"]]
    assert r.deployed()["resources"]
    assert throttling() == throttled  # a later deployment keeps the stage's throttling

    # 5. bull admin add: Cognito mails a temporary password; the user must change it.
    r.bull("bull admin add", "admin", "add", ADMIN, "--stage", STAGE)
    temporary = _temporary_password(moto_url, ADMIN)
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=ADMIN)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=ADMIN)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admins"]

    # 6. bull product add: on sale, its file in the bucket.
    guide = tmp_path / "guide.pdf"
    guide.write_bytes(b"%PDF-1.4\n% the rehearsed guide\n")
    r.bull(
        "bull product add",
        "product",
        "add",
        "--name",
        "The Guide",
        "--price",
        PRICE,
        "--file",
        str(guide),
        "--stage",
        STAGE,
    )
    products = r.client("dynamodb").scan(TableName=env["PRODUCTS_TABLE"])["Items"]
    assert len(products) == 1
    product_id = products[0]["product_id"]["S"]
    files = r.client("s3").list_objects_v2(Bucket=env["PRODUCTS_BUCKET"]).get("Contents", [])
    assert len(files) == 1

    # 7. A sale, then bull report: the first sign-in with the temporary password sets a new one.
    served, base_url, _ = _serve(r, servers, tmp_path, "first")
    try:
        started_step = time.monotonic()
        _buy(base_url, product_id, "buyer@example.test")
        r.timings.append(("a sale through the rehearsed API", time.monotonic() - started_step))
        output = r.bull(
            "bull report (first sign-in)",
            "report",
            "--stage",
            STAGE,
            "--url",
            base_url,
            stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
            BULL_ADMIN_EMAIL=ADMIN,
            BULL_ADMIN_PASSWORD=temporary,
        )
    finally:
        served.stop()
    assert _orders(output) == 1 and PRICE in output, output
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=ADMIN)
    assert user["UserStatus"] == "CONFIRMED"

    # 8. bull teardown: API, function, webhook endpoint, SSM parameters and stack gone; the
    #    tables and the bucket kept.
    r.bull("bull teardown", "teardown", "--stage", STAGE, stdin="y\n")
    for name in (f"bull-{STAGE}", f"bull-{STAGE}-daily_summary"):
        with pytest.raises(ClientError):
            r.client("lambda").get_function(FunctionName=name)
    assert r.client("events").list_rules()["Rules"] == []
    assert apigateway.get_rest_apis()["items"] == []
    assert ssm.get_parameters_by_path(Path=f"/bull/{STAGE}/", Recursive=True)["Parameters"] == []
    stacks = r.client("cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks)
    assert cognito.list_user_pools(MaxResults=10)["UserPools"] == []
    endpoints = requests.get(
        f"{stripe_url}/v1/webhook_endpoints",
        headers={"Authorization": f"Bearer {STRIPE_KEY}"},
        timeout=10,
    ).json()["data"]
    assert endpoints == []
    tables = r.client("dynamodb").list_tables()["TableNames"]
    assert {
        env[k] for k in ("PRODUCTS_TABLE", "PURCHASES_TABLE", "LINKS_TABLE", "SALES_TABLE")
    } <= set(tables)
    assert r.client("s3").list_objects_v2(Bucket=env["PRODUCTS_BUCKET"])["KeyCount"] == 1

    # 9. bull setup again: adopts the kept tables and bucket; the old data is there.
    r.bull("bull setup (adopting the kept tables)", *SETUP)
    again = r.stage_environment()
    for name in ("PRODUCTS_TABLE", "PURCHASES_TABLE", "LINKS_TABLE", "SALES_TABLE"):
        assert again[name] == env[name]
    assert again["PRODUCTS_BUCKET"] == env["PRODUCTS_BUCKET"]
    products = r.client("dynamodb").scan(TableName=again["PRODUCTS_TABLE"])["Items"]
    assert [p["product_id"]["S"] for p in products] == [product_id]
    sales = r.client("dynamodb").scan(TableName=again["SALES_TABLE"])["Items"]
    assert sales, "the kept sales table lost its sales"
    r.chalice_deploy("chalice deploy (after re-setup)")
    r.bull("bull stripe webhook (after re-setup)", "stripe", "webhook", "--stage", STAGE)

    # The old sale in /reports, signed in as an admin of the new pool.
    r.bull(
        "bull admin add (new pool)",
        "admin",
        "add",
        ADMIN,
        "--stage",
        STAGE,
        "--password",
        NEW_PASSWORD,
    )
    served, base_url, _ = _serve(r, servers, tmp_path, "again")
    try:
        output = r.bull(
            "bull report (after re-setup)",
            "report",
            "--stage",
            STAGE,
            "--url",
            base_url,
            BULL_ADMIN_EMAIL=ADMIN,
            BULL_ADMIN_PASSWORD=NEW_PASSWORD,
        )
    finally:
        served.stop()
    assert _orders(output) == 1 and PRICE in output, output

    with capsys.disabled():
        wall = time.monotonic() - started
        print(f"\n{r.report()}\n  {'wall clock (with servers)':<44}{wall:7.1f} s")
