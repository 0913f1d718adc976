"""`bull` deploy commands against moto: each one's effect, and that re-running is safe.

moto's CloudFormation cannot create Cognito pools, so the stack itself is answered by a botocore
Stubber with the outputs a real deploy gives; everything after it (config, policy, SSM, Cognito,
DynamoDB, S3, Stripe endpoints) runs for real against moto and the Stripe stand-in. The
commands work in a copy of the project (`BULL_PROJECT_DIR`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from click.testing import CliRunner

from bull_chalice import deploy_cli, resources
from bull_chalice.cli import main
from chalicelib import config

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_" + "k" * 24


@pytest.fixture
def workspace(aws, tmp_path, monkeypatch):
    """A copy of .chalice/ the commands may rewrite, and a real user pool in moto."""
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(
        ROOT / ".chalice", chalice_dir, ignore=shutil.ignore_patterns("deployed", "deployments")
    )
    monkeypatch.setenv("BULL_PROJECT_DIR", str(tmp_path))
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool = resources.create_user_pool(cognito, "bull-dev-admins")
    settings = config.get_settings()
    outputs = {
        "ProductsTable": settings.products_table,
        "PurchasesTable": settings.purchases_table,
        "LinksTable": settings.links_table,
        "SalesTable": settings.sales_table,
        "ProductsBucket": settings.bucket,
        "UserPoolId": pool.pool_id,
        "UserPoolArn": f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool.pool_id}",
        "UserPoolClientId": pool.client_id,
        "SenderEmail": "store@example.test",
        "SiteName": "Test Store",
        "StripeSecretKeyParam": "/bull/dev/stripe-secret-key",
        "StripeWebhookSecretParam": "/bull/dev/stripe-webhook-secret",
        "LinkSigningKeyParam": "/bull/dev/link-signing-key",
    }
    return tmp_path, outputs, cognito, pool


def _stub_stack(monkeypatch, outputs, exists, expect=None):
    """CloudFormation answers: create (or a no-op update), then the stack's outputs.

    `expect`: parameters the create (or update) must be given."""
    real_client = deploy_cli.Target.client
    stubbed = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(stubbed)
    described = {
        "Stacks": [
            {
                "StackName": "bull-dev",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }
    expected = None
    if expect is not None:
        expected = {
            "StackName": "bull-dev",
            "TemplateBody": ANY,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in expect.items()],
        }
    if exists:
        stubber.add_response("describe_stacks", described)
        stubber.add_client_error(
            "update_stack",
            "ValidationError",
            "No updates are to be performed.",
            expected_params=expected,
        )
    else:
        stubber.add_client_error(
            "describe_stacks", "ValidationError", "Stack with id bull-dev does not exist"
        )
        stubber.add_response("create_stack", {"StackId": "arn:stack/bull-dev"}, expected)
        stubber.add_response("describe_stacks", described)  # the waiter
    stubber.add_response("describe_stacks", described)
    stubber.activate()

    def client(self, service):
        return stubbed if service == "cloudformation" else real_client(self, service)

    monkeypatch.setattr(deploy_cli.Target, "client", client)
    return stubber


def _setup(runner, *extra):
    return runner.invoke(
        main,
        [
            "setup",
            "--stage",
            "dev",
            "--region",
            "us-east-1",
            "--sender-email",
            "store@example.test",
            "--stripe-secret-key",
            KEY,
            *extra,
        ],
        catch_exceptions=False,
    )


def test_setup_writes_config_policy_and_secrets_and_is_safe_to_rerun(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    stubber = _stub_stack(monkeypatch, outputs, exists=False)
    first = _setup(CliRunner())
    assert first.exit_code == 0, first.output
    assert "created" in first.output and "Created the link-signing key" in first.output
    stubber.assert_no_pending_responses()

    conf = json.loads((tmp / ".chalice" / "config.json").read_text())
    env = conf["stages"]["dev"]["environment_variables"]
    assert env["PRODUCTS_TABLE"] == outputs["ProductsTable"]
    assert env["STRIPE_SECRET_KEY_PARAM"] == "/bull/dev/stripe-secret-key"
    assert KEY not in json.dumps(conf)
    policy = json.loads((tmp / ".chalice" / "policy-dev.json").read_text())
    assert any(outputs["PurchasesTable"] in json.dumps(s["Resource"]) for s in policy["Statement"])
    ssm = boto3.client("ssm", region_name="us-east-1")
    stored = ssm.get_parameter(Name="/bull/dev/stripe-secret-key", WithDecryption=True)
    assert stored["Parameter"]["Value"] == KEY and stored["Parameter"]["Type"] == "SecureString"
    link_key = ssm.get_parameter(Name="/bull/dev/link-signing-key", WithDecryption=True)

    _stub_stack(monkeypatch, outputs, exists=True)
    again = _setup(CliRunner())
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output and "Kept the existing link-signing key" in again.output
    same = ssm.get_parameter(Name="/bull/dev/link-signing-key", WithDecryption=True)
    assert same["Parameter"]["Value"] == link_key["Parameter"]["Value"]


def test_setup_refuses_something_that_is_not_a_stripe_key(workspace):
    result = CliRunner().invoke(
        main, ["setup", "--sender-email", "a@example.test", "--stripe-secret-key", "hunter2"]
    )
    assert result.exit_code != 0 and "Stripe secret key" in result.output


def test_commands_without_credentials_fail_with_a_clear_message(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(
        main,
        [
            "setup",
            "--region",
            "us-east-1",
            "--sender-email",
            "a@example.test",
            "--stripe-secret-key",
            KEY,
        ],
    )
    assert result.exit_code == 1
    assert "no AWS credentials" in result.output and "Traceback" not in result.output


def _configured(monkeypatch, outputs):
    _stub_stack(monkeypatch, outputs, exists=False)
    assert _setup(CliRunner()).exit_code == 0


def test_admin_add_creates_an_admin_who_can_sign_in_and_rerun_is_safe(workspace, monkeypatch):
    _, outputs, cognito, pool = workspace
    _configured(monkeypatch, outputs)
    args = ["admin", "add", "boss@example.test", "--password", "Sturdy-Password-9"]
    for _ in range(2):
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    groups = cognito.admin_list_groups_for_user(
        UserPoolId=pool.pool_id, Username="boss@example.test"
    )
    assert [g["GroupName"] for g in groups["Groups"]] == ["admins"]
    token = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "boss@example.test", "PASSWORD": "Sturdy-Password-9"},
    )
    assert token["AuthenticationResult"]["IdToken"]


def test_product_add_parses_the_price_exactly_and_uploads_the_file(
    workspace, monkeypatch, tmp_path
):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    result = CliRunner().invoke(
        main,
        ["product", "add", "--name", "Guide", "--price", "19.99", "--file", str(book)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "1999" in result.output
    from chalicelib.models import Product

    [item] = list(Product.scan())
    assert item.price_cents == 1999 and item.filename == "guide.pdf"
    body = (
        boto3.client("s3", region_name="us-east-1")
        .get_object(Bucket=outputs["ProductsBucket"], Key=item.file_key)["Body"]
        .read()
    )
    assert body == b"%PDF-1.4 guide"


@pytest.mark.parametrize("price", ["19.999", "abc", "-1"])
def test_product_add_refuses_a_bad_price(workspace, monkeypatch, tmp_path, price):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    book = tmp_path / "guide.pdf"
    book.write_bytes(b"x")
    result = CliRunner().invoke(
        main, ["product", "add", "--name", "G", "--price", price, "--file", str(book)]
    )
    assert result.exit_code == 2 and "--price" in result.output


def test_stripe_webhook_registers_once_and_stores_the_secret(workspace, monkeypatch, stripe_api):
    tmp, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    first = CliRunner().invoke(main, ["stripe", "webhook", "--url", url], catch_exceptions=False)
    second = CliRunner().invoke(main, ["stripe", "webhook", "--url", url], catch_exceptions=False)
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    [endpoint] = stripe_api.endpoints.values()
    assert endpoint["url"] == f"{url}/webhooks/stripe"
    from chalicelib.webhooks import HANDLED_EVENTS

    assert sorted(endpoint["enabled_events"]) == sorted(HANDLED_EVENTS)
    secret = boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name="/bull/dev/stripe-webhook-secret", WithDecryption=True
    )["Parameter"]["Value"]
    assert secret.startswith("whsec_")
    assert endpoint["metadata"] == {"store": "bull-dev"}
    env = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert "SITE_URL" not in env["environment_variables"]  # the app derives it; domains set it
    assert "Updated webhook" in second.output


def test_commands_on_a_stage_that_was_never_set_up_say_so(workspace):
    result = CliRunner().invoke(
        main,
        ["admin", "add", "x@example.test", "--stage", "prod", "--password", "Sturdy-Password-9"],
    )
    assert result.exit_code == 1 and "bull setup --stage prod" in result.output
