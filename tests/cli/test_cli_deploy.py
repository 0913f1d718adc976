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

from bull_chalice import infra, package, resources, targets
from bull_chalice.cli import main
from chalicelib.platform import config

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_test_" + "k" * 24


@pytest.fixture
def workspace(aws, tmp_path, monkeypatch):
    """A copy of .chalice/ the commands may rewrite, and a real user pool in moto."""
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(
        ROOT / ".chalice", chalice_dir, ignore=shutil.ignore_patterns("deployed", "deployments")
    )
    monkeypatch.setenv("BULL_PROJECT_DIR", str(tmp_path))
    # `chalice package` itself runs in the deploy rehearsal; here, only that setup asks for it.
    monkeypatch.setattr(package, "prepare_layer", _packaged)
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool = resources.create_user_pool(cognito, "dev")
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


PACKAGED: list[tuple[Path, str]] = []


def _packaged(project: Path, stage: str) -> package.PackageSize:
    PACKAGED.append((project, stage))
    return package.PackageSize(app_zipped=140_000, layer_zipped=10_800_000, unzipped=0, largest=[])


def _stub_stack(monkeypatch, outputs, exists, expect=None):
    """CloudFormation answers: create (or a no-op update), then the stack's outputs.

    `expect`: parameters the create (or update) must be given."""
    real_client = targets.Target.client
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

    monkeypatch.setattr(targets.Target, "client", client)
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
    # Each run leaves the slim layer where chalice deploy finds it, and says what it ships.
    assert PACKAGED[-2:] == [(tmp.resolve(), "dev")] * 2
    assert "the app 0.13 MB and its dependency layer 10.3 MB" in again.output


def test_setup_says_how_to_sell_and_keeps_the_sellers_checkout_options(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    _stub_stack(monkeypatch, outputs, exists=False)
    first = _setup(CliRunner())
    assert "Checkout options: none (all off)" in first.output
    assert "ALLOW_PROMOTION_CODES=true" in first.output and "registration" in first.output
    path = tmp / ".chalice" / "config.json"
    conf = json.loads(path.read_text())
    conf["stages"]["dev"]["environment_variables"].update(
        {"STRIPE_TAX": "true", "TAX_BEHAVIOR": "inclusive"}
    )
    path.write_text(json.dumps(conf))
    _stub_stack(monkeypatch, outputs, exists=True)
    again = _setup(CliRunner())
    assert "Checkout options: STRIPE_TAX=true, TAX_BEHAVIOR=inclusive." in again.output
    env = json.loads(path.read_text())["stages"]["dev"]["environment_variables"]
    assert env["STRIPE_TAX"] == "true" and env["TAX_BEHAVIOR"] == "inclusive"


def test_setup_turns_seller_notifications_on_keeps_them_and_turns_them_off(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    path = tmp / ".chalice" / "config.json"

    def run(*extra):
        _stub_stack(monkeypatch, outputs, exists=path.exists())
        result = _setup(CliRunner(), *extra)
        assert result.exit_code == 0, result.output
        env = json.loads(path.read_text())["stages"]["dev"]["environment_variables"]
        return result.output, env.get("NOTIFY_EMAIL")

    output, notify = run()
    assert notify is None and "Seller notifications: off" in output
    output, notify = run("--notify-email", "seller@example.test")
    assert notify == "seller@example.test"
    assert "Seller notifications: to seller@example.test" in output
    assert run()[1] == "seller@example.test"  # a rerun without the option keeps it
    assert run("--notify-email", "")[1] is None


def test_setup_refuses_a_notify_email_that_is_not_an_address(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    _stub_stack(monkeypatch, outputs, exists=False)
    result = _setup(CliRunner(), "--notify-email", "seller at example")
    assert result.exit_code != 0 and "--notify-email" in result.output
    assert "one address like seller@example.com" in result.output
    assert "NOTIFY_EMAIL" not in (tmp / ".chalice" / "config.json").read_text()


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
    from chalicelib.platform.tables import Product

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


def test_product_add_with_a_minimum_sells_pay_what_you_want(workspace, monkeypatch, tmp_path):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    book = tmp_path / "zine.pdf"
    book.write_bytes(b"%PDF-1.4 zine")
    args = ["product", "add", "--name", "Zine", "--price", "15", "--file", str(book)]
    refused = CliRunner().invoke(main, [*args, "--min-price", "1e3"])
    assert refused.exit_code == 2 and "--min-price" in refused.output
    too_high = CliRunner().invoke(main, [*args, "--min-price", "20.00"])
    assert too_high.exit_code == 1 and "at least min_price_cents" in too_high.output
    result = CliRunner().invoke(
        main, [*args, "--min-price", "5.00", "--tax-code", "txcd_10202000"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "pay what you want from 500" in result.output
    from chalicelib.platform.tables import Product

    [item] = list(Product.scan())
    assert (item.price_cents, item.min_price_cents, item.tax_code) == (1500, 500, "txcd_10202000")


def test_product_add_with_license_keys_records_the_activation_limit(
    workspace, monkeypatch, tmp_path
):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    app = tmp_path / "app.zip"
    app.write_bytes(b"PK app")
    args = ["product", "add", "--name", "App", "--price", "29", "--file", str(app)]
    refused = CliRunner().invoke(main, [*args, "--license-keys", "--activation-limit", "0"])
    assert refused.exit_code == 2 and "--activation-limit" in refused.output
    result = CliRunner().invoke(
        main, [*args, "--license-keys", "--activation-limit", "5"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    from chalicelib.platform.tables import Product

    [item] = list(Product.scan())
    assert (item.license_keys, item.activation_limit) == (True, 5)


def test_stripe_webhook_registers_once_and_stores_the_secret(workspace, monkeypatch, stripe_api):
    tmp, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    first = CliRunner().invoke(main, ["stripe", "webhook", "--url", url], catch_exceptions=False)
    second = CliRunner().invoke(main, ["stripe", "webhook", "--url", url], catch_exceptions=False)
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    [endpoint] = stripe_api.endpoints.values()
    assert endpoint["url"] == f"{url}/webhooks/stripe"
    from chalicelib.payments.webhooks import HANDLED_EVENTS

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


# -- adoption, custom domain --------------------------------------------------------------

KEPT_BUCKET = "bull-dev-products-123456789012-us-east-1"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234"
SETUP = ["setup", "--region", "us-east-1", "--sender-email", "a@example.test"]
KEPT_TABLES = [f"bull-dev-{suffix}" for suffix in ("products", "purchases", "links", "sales")]


def _keep_stage_data(tables=KEPT_TABLES, bucket=True):
    """What an earlier `bull teardown` kept: the stage's tables (with a sale) and bucket."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for table in tables:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    if "bull-dev-sales" in tables:
        dynamodb.put_item(TableName="bull-dev-sales", Item={"pk": {"S": "yesterday"}})
    if bucket:
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=KEPT_BUCKET)


def _adopting_outputs(outputs):
    return {
        **outputs,
        **{key: f"bull-dev-{suffix}" for key, suffix in infra.TABLE_SUFFIXES.items()},
        "ProductsBucket": KEPT_BUCKET,
    }


def _params(adopt_tables, adopt_bucket):
    return {
        "Stage": "dev",
        "SenderEmail": "store@example.test",
        "SiteName": "Bull Store",
        "DomainPrefix": "bull-dev-123456789012",
        "AdoptTables": adopt_tables,
        "AdoptBucket": adopt_bucket,
    }


def test_setup_of_a_new_stage_creates_its_tables_and_bucket(workspace, monkeypatch):
    _, outputs, _, _ = workspace
    stubber = _stub_stack(monkeypatch, outputs, exists=False, expect=_params("false", "false"))
    result = _setup(CliRunner())
    assert result.exit_code == 0, result.output
    assert "Adopted" not in result.output
    stubber.assert_no_pending_responses()


def test_setup_after_teardown_adopts_the_kept_tables_and_bucket(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    _keep_stage_data()
    adopted = _adopting_outputs(outputs)
    stubber = _stub_stack(monkeypatch, adopted, exists=False, expect=_params("true", "true"))
    result = _setup(CliRunner())
    assert result.exit_code == 0, result.output
    stubber.assert_no_pending_responses()
    assert "Adopted the kept tables bull-dev-products, bull-dev-purchases" in result.output
    assert f"Adopted the kept bucket {KEPT_BUCKET}" in result.output
    env = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert env["environment_variables"]["SALES_TABLE"] == "bull-dev-sales"
    assert env["environment_variables"]["PRODUCTS_BUCKET"] == KEPT_BUCKET
    # the old sale is still there, and the adopted bucket has the template's protections
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName="bull-dev-sales", Key={"pk": {"S": "yesterday"}}
    )
    assert "Item" in item
    s3 = boto3.client("s3", region_name="us-east-1")
    expected = infra.bucket_configuration(KEPT_BUCKET)
    assert json.loads(s3.get_bucket_policy(Bucket=KEPT_BUCKET)["Policy"]) == expected["policy"]
    rules = s3.get_bucket_encryption(Bucket=KEPT_BUCKET)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=KEPT_BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert s3.get_bucket_versioning(Bucket=KEPT_BUCKET)["Status"] == "Enabled"


def test_rerunning_setup_keeps_the_stacks_adoption_parameters(workspace, monkeypatch):
    """A stack that adopted keeps adopting; one that owns its tables is never told to adopt
    them (that would drop them from the stack), whatever exists by name."""
    _, outputs, _, _ = workspace
    _keep_stage_data()
    adopted = _adopting_outputs(outputs)
    real_client = targets.Target.client
    for previous in ("true", "false"):
        stubbed = boto3.client("cloudformation", region_name="us-east-1")
        stubber = Stubber(stubbed)
        described = {
            "Stacks": [
                {
                    "StackName": "bull-dev",
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "UPDATE_COMPLETE",
                    "Parameters": [
                        {"ParameterKey": "AdoptTables", "ParameterValue": previous},
                        {"ParameterKey": "AdoptBucket", "ParameterValue": previous},
                    ],
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in adopted.items()],
                }
            ]
        }
        stubber.add_response("describe_stacks", described)
        stubber.add_client_error(
            "update_stack",
            "ValidationError",
            "No updates are to be performed.",
            expected_params={
                "StackName": "bull-dev",
                "TemplateBody": ANY,
                "Parameters": [
                    {"ParameterKey": k, "ParameterValue": v}
                    for k, v in _params(previous, previous).items()
                ],
            },
        )
        stubber.add_response("describe_stacks", described)
        stubber.activate()
        monkeypatch.setattr(
            targets.Target,
            "client",
            lambda self, service, s=stubbed: (
                s if service == "cloudformation" else real_client(self, service)
            ),
        )
        result = _setup(CliRunner())
        assert result.exit_code == 0, result.output
        stubber.assert_no_pending_responses()


def test_setup_refuses_a_partial_set_of_kept_tables(workspace, monkeypatch):
    _, outputs, _, _ = workspace
    _keep_stage_data(tables=KEPT_TABLES[:2], bucket=False)
    _stub_stack(monkeypatch, outputs, exists=False)
    result = CliRunner().invoke(
        main,
        [*SETUP, "--stripe-secret-key", KEY],
    )
    assert result.exit_code == 1, result.output
    assert "bull-dev-links" in result.output and "Traceback" not in result.output


def test_setup_with_a_custom_domain_writes_chalices_setting_and_site_url(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    cert = CERT
    _stub_stack(monkeypatch, outputs, exists=False)
    result = _setup(
        CliRunner(),
        "--domain",
        "Shop.Example.com",
        "--certificate-arn",
        cert,
        "--base-path",
        "shop",
    )
    assert result.exit_code == 0, result.output
    stage = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert stage["api_gateway_custom_domain"] == {
        "domain_name": "shop.example.com",
        "certificate_arn": cert,
        "url_prefix": "shop",
    }
    assert stage["environment_variables"]["SITE_URL"] == "https://shop.example.com/shop"

    _stub_stack(monkeypatch, outputs, exists=True)
    at_root = _setup(CliRunner(), "--domain", "shop.example.com", "--certificate-arn", cert)
    assert at_root.exit_code == 0, at_root.output
    stage = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert "url_prefix" not in stage["api_gateway_custom_domain"]
    assert stage["environment_variables"]["SITE_URL"] == "https://shop.example.com"

    _stub_stack(monkeypatch, outputs, exists=True)
    plain = _setup(CliRunner())
    assert plain.exit_code == 0, plain.output
    stage = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert "api_gateway_custom_domain" not in stage
    assert "SITE_URL" not in stage["environment_variables"]
    assert "removed the custom domain and SITE_URL" in plain.output


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (["--domain", "shop.example.com"], "--certificate-arn"),
        (["--domain", "not a domain", "--certificate-arn", "arn:aws:acm:x"], "--domain"),
        (["--domain", "shop.example.com", "--certificate-arn", "arn:aws:s3:::x"], "ACM"),
        (["--certificate-arn", CERT], "--domain"),
        (
            ["--domain", "a.example.com", "--certificate-arn", CERT, "--base-path", "a b"],
            "--base-path",
        ),
    ],
)
def test_setup_checks_the_custom_domain_before_touching_aws(workspace, extra, complaint):
    result = CliRunner().invoke(
        main,
        [*SETUP, "--stripe-secret-key", KEY, *extra],
    )
    assert result.exit_code == 2, result.output
    assert complaint in result.output


# -- product add: all or nothing, no duplicates ---------------------------------------------


def _add(book, *extra):
    return CliRunner().invoke(
        main, ["product", "add", "--name", "Guide", "--price", "19.99", "--file", str(book), *extra]
    )


def test_product_add_whose_upload_fails_leaves_nothing_and_a_rerun_completes(
    workspace, monkeypatch, tmp_path
):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    from chalicelib.platform.tables import Product

    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.delete_bucket(Bucket=outputs["ProductsBucket"])  # the upload will fail
    failed = _add(book)
    assert failed.exit_code == 1, failed.output
    assert "AWS refused PutObject: NoSuchBucket" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert list(Product.scan()) == []

    resources.create_bucket(s3, config.get_settings())
    for _ in range(2):
        done = _add(book)
        assert done.exit_code == 0, done.output
    [item] = list(Product.scan())
    assert item.active and item.price_cents == 1999
    assert "exists already with this file" in done.output


def test_product_add_finishes_a_product_an_interrupted_run_left(workspace, monkeypatch, tmp_path):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    from bull_chalice.commands.product import MARK
    from chalicelib.catalog.products import Catalog
    from chalicelib.platform.tables import Product, bind_models

    bind_models(config.get_settings())
    left = Catalog().create(
        name="Guide",
        description="",
        price_cents=1999,
        currency="usd",
        filename="guide.pdf",
        unfinished=MARK,  # as `bull product add` creates it
    )
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=outputs["ProductsBucket"], Key=left.file_key, Body=b"%PDF-1.4 gu")
    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    result = _add(book)
    assert result.exit_code == 0, result.output
    assert f"Finished {left.id}" in result.output
    [item] = list(Product.scan())
    assert item.product_id == left.id and item.active and item.unfinished is None
    stored = s3.get_object(Bucket=outputs["ProductsBucket"], Key=left.file_key)["Body"].read()
    assert stored == book.read_bytes()  # the half-uploaded file replaced

    other = tmp_path / "other.pdf"
    other.write_bytes(b"x")
    clash = _add(other)
    assert clash.exit_code == 1 and "another file" in clash.output
    changed = tmp_path / "changed" / "guide.pdf"
    changed.parent.mkdir()
    changed.write_bytes(b"%PDF-1.4 a different guide")
    live = _add(changed)
    assert live.exit_code == 1 and "new file version" in live.output
    assert len(list(Product.scan())) == 1


def _one_line_refusal(result, words):
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_product_add_marks_what_it_has_not_finished_and_clears_the_mark_on_sale(
    workspace, monkeypatch, tmp_path
):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    from bull_chalice.commands.product import MARK
    from chalicelib.catalog.products import Catalog
    from chalicelib.platform.tables import Product

    made = []
    real_create = Catalog.create

    def create(self, **fields):
        view = real_create(self, **fields)
        made.append(Product.get(view.id, consistent_read=True))  # as a crash would leave it
        return view

    monkeypatch.setattr(Catalog, "create", create)
    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    assert _add(book).exit_code == 0
    [created] = made
    assert created.unfinished == MARK and not created.active
    [item] = list(Product.scan())
    assert item.active and item.unfinished is None


def test_product_add_never_relists_an_unlisted_product_nor_replaces_a_sold_file(
    workspace, monkeypatch, tmp_path
):
    """A product `bull product add` finished, then taken off sale by the seller: a re-run
    neither puts it back on sale nor overwrites the file its buyers download."""
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    from chalicelib.catalog.products import Catalog
    from chalicelib.platform.tables import Product, bind_models

    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    assert _add(book).exit_code == 0
    [item] = list(Product.scan())
    bind_models(config.get_settings())
    Catalog().update(item.product_id, {"active": False})  # the seller unlists it

    _one_line_refusal(_add(book), "off sale")
    changed = tmp_path / "changed" / "guide.pdf"
    changed.parent.mkdir()
    changed.write_bytes(b"%PDF-1.4 a different guide")
    _one_line_refusal(_add(changed), "off sale")

    [after] = list(Product.scan())
    assert not after.active and after.listed is None
    s3 = boto3.client("s3", region_name="us-east-1")
    stored = s3.get_object(Bucket=outputs["ProductsBucket"], Key=item.file_key)["Body"].read()
    assert stored == book.read_bytes()


def test_product_add_leaves_a_product_the_dashboard_made_alone(workspace, monkeypatch, tmp_path):
    """Off sale and never marked by the command (the dashboard's add, its upload unfinished):
    not the command's to finish."""
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    from chalicelib.catalog.products import Catalog
    from chalicelib.platform.tables import Product, bind_models

    bind_models(config.get_settings())
    Catalog().create(
        name="Guide", description="", price_cents=1999, currency="usd", filename="guide.pdf"
    )
    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    _one_line_refusal(_add(book), "off sale")
    [item] = list(Product.scan())
    assert not item.active
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.list_objects_v2(Bucket=outputs["ProductsBucket"]).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--price", "24.99"], "not 2499 usd"),
        (["--price", "19.99", "--currency", "eur"], "not 1999 eur"),
    ],
)
def test_product_add_refuses_a_rerun_with_another_price_or_currency(
    workspace, monkeypatch, tmp_path, extra, words
):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    from chalicelib.platform.tables import Product

    book = tmp_path / "guide.pdf"
    book.write_bytes(b"%PDF-1.4 guide")
    assert _add(book).exit_code == 0
    again = CliRunner().invoke(
        main, ["product", "add", "--name", "Guide", "--file", str(book), *extra]
    )
    _one_line_refusal(again, words)
    [item] = list(Product.scan())
    assert item.price_cents == 1999 and item.currency == "usd" and item.active


# -- teardown -------------------------------------------------------------------------------


def _stub_teardown(monkeypatch, outputs, exists=True):
    """CloudFormation for teardown: the stack (or none), its deletion, the waiter."""
    real_client = targets.Target.client
    stubbed = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(stubbed)
    gone = "Stack with id bull-dev does not exist"
    if exists:
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "bull-dev",
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                    }
                ]
            },
        )
        stubber.add_response("delete_stack", {}, {"StackName": "bull-dev"})
    stubber.add_client_error("describe_stacks", "ValidationError", gone)
    stubber.activate()
    monkeypatch.setattr(
        targets.Target,
        "client",
        lambda self, service: (
            stubbed if service == "cloudformation" else real_client(self, service)
        ),
    )
    return stubber


@pytest.fixture
def fake_chalice(tmp_path, monkeypatch):
    """A `chalice` beside sys.executable that records how it was run and, like chalice
    delete, leaves an empty deployed record."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "chalice.log"
    script = bindir / "chalice"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$PWD $* $AWS_DEFAULT_REGION" >> {log}\n'
        'echo \'{"resources": [], "schema_version": "2.0", "backend": "api"}\' '
        '> .chalice/deployed/"$3".json\n'
    )
    script.chmod(0o755)
    monkeypatch.setattr("sys.executable", str(bindir / "python"))
    return log


def _deployed(tmp, url):
    deployed = tmp / ".chalice" / "deployed"
    deployed.mkdir(exist_ok=True)
    (deployed / "dev.json").write_text(
        json.dumps(
            {
                "resources": [
                    {"name": "api_handler", "resource_type": "lambda_function"},
                    {"name": "rest_api", "resource_type": "rest_api", "rest_api_url": url + "/"},
                ]
            }
        )
    )


def _teardown(*extra, input=None):
    return CliRunner().invoke(main, ["teardown", "--region", "us-east-1", *extra], input=input)


def test_teardown_removes_what_setup_deploy_and_webhook_made_and_keeps_the_data(
    workspace, monkeypatch, stripe_api, fake_chalice
):
    tmp, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    _deployed(tmp, url)
    assert CliRunner().invoke(main, ["stripe", "webhook"]).exit_code == 0
    for endpoint_id, url_elsewhere, store in (
        ("we_other", "https://else/webhooks/stripe", "bull-prod"),  # another stage's
        ("we_moved", "https://shop.example.test/webhooks/stripe", "bull-dev"),  # this stage's
    ):
        stripe_api.endpoints[endpoint_id] = {
            "id": endpoint_id,
            "object": "webhook_endpoint",
            "url": url_elsewhere,
            "metadata": {"store": store},
        }

    stubber = _stub_teardown(monkeypatch, outputs)
    result = _teardown("--yes")
    assert result.exit_code == 0, result.output
    stubber.assert_no_pending_responses()
    assert list(stripe_api.endpoints) == ["we_other"]  # only this stage's endpoint
    assert fake_chalice.read_text().split() == [str(tmp), "delete", "--stage", "dev", "us-east-1"]
    ssm = boto3.client("ssm", region_name="us-east-1")
    assert ssm.describe_parameters()["Parameters"] == []
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    assert outputs["SalesTable"] in dynamodb.list_tables()["TableNames"]
    boto3.client("s3", region_name="us-east-1").head_bucket(Bucket=outputs["ProductsBucket"])
    stage = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert stage["environment_variables"] == {"BULL_STAGE": "dev"}
    assert "Kept the tables" in result.output and "torn down" in result.output

    _stub_teardown(monkeypatch, outputs, exists=False)
    again = _teardown("--yes")
    assert again.exit_code == 0, again.output
    assert again.output.count("already gone") >= 5, again.output
    assert len(fake_chalice.read_text().splitlines()) == 1  # nothing left to delete


def _endpoint(endpoint_id, store):
    return {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "url": f"https://{store}.example.test/webhooks/stripe",
        "metadata": {"store": store},
    }


def test_the_stand_in_pages_webhook_endpoints_like_stripe(stripe_api):
    import stripe

    from bull_chalice.stripe_client import stripe_client

    for n in range(5):
        stripe_api.endpoints[f"we_{n}"] = _endpoint(f"we_{n}", "bull-dev")
    client = stripe_client(KEY)  # STRIPE_API_BASE: the stand-in
    first = client.v1.webhook_endpoints.list(params={"limit": 2})
    assert [e.id for e in first.data] == ["we_4", "we_3"] and first.has_more  # newest first
    last = client.v1.webhook_endpoints.list(params={"limit": 2, "starting_after": "we_1"})
    assert [e.id for e in last.data] == ["we_0"] and not last.has_more
    assert [e.id for e in first.auto_paging_iter()] == ["we_4", "we_3", "we_2", "we_1", "we_0"]
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.webhook_endpoints.list(params={"starting_after": "we_deleted"})
    assert gone.value.code == "resource_missing" and gone.value.param == "starting_after"


def test_teardown_deletes_the_stage_webhooks_on_every_page(workspace, monkeypatch, stripe_api):
    """More endpoints than one page of 100: every one of this stage's goes, on every page,
    and no other stage's."""
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    for n in range(250):
        store = "bull-prod" if n % 50 == 7 else "bull-dev"
        stripe_api.endpoints[f"we_{n:03d}"] = _endpoint(f"we_{n:03d}", store)
    others = sorted(
        k for k, v in stripe_api.endpoints.items() if v["metadata"]["store"] != "bull-dev"
    )

    _stub_teardown(monkeypatch, outputs)
    result = _teardown("--yes")
    assert result.exit_code == 0, result.output
    assert sorted(stripe_api.endpoints) == others
    assert result.output.count("Deleted the Stripe webhook") == 250 - len(others)


def test_teardown_delete_data_empties_the_bucket_and_deletes_tables_and_bucket(
    workspace, monkeypatch, stripe_api
):
    _, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = outputs["ProductsBucket"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="products/p/v1/a.pdf", Body=body)
    s3.delete_object(Bucket=bucket, Key="products/p/v1/a.pdf")  # a delete marker

    _stub_teardown(monkeypatch, outputs)
    result = _teardown("--yes", "--delete-data")
    assert result.exit_code == 0, result.output
    tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    assert not set(tables) & {outputs[k] for k in infra.TABLE_SUFFIXES}
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "3 object versions" in result.output

    _stub_teardown(monkeypatch, outputs, exists=False)
    again = _teardown("--yes", "--delete-data")
    assert again.exit_code == 0, again.output


def test_teardown_asks_first_and_a_no_changes_nothing(workspace, monkeypatch, stripe_api):
    tmp, outputs, _, _ = workspace
    _configured(monkeypatch, outputs)
    _stub_teardown(monkeypatch, outputs)
    result = _teardown("--delete-data", input="n\n")
    assert result.exit_code == 1
    assert "DELETE the tables and the bucket" in result.output
    ssm = boto3.client("ssm", region_name="us-east-1")
    assert len(ssm.describe_parameters()["Parameters"]) == 2
    env = json.loads((tmp / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert "PRODUCTS_TABLE" in env["environment_variables"]


def _deployed_api(tmp):
    """A REST API with its `api` stage in moto, recorded as `chalice deploy` records it."""
    apigateway = boto3.client("apigateway", region_name="us-east-1")
    api = apigateway.create_rest_api(name="bull")
    root = apigateway.get_resources(restApiId=api["id"])["items"][0]["id"]
    apigateway.put_method(
        restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api["id"], stageName="api")
    deployed = tmp / ".chalice" / "deployed"
    deployed.mkdir(exist_ok=True)
    record = {
        "resource_type": "rest_api",
        "name": "rest_api",
        "rest_api_id": api["id"],
        "rest_api_url": f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/api/",
    }
    (deployed / "dev.json").write_text(json.dumps({"resources": [record]}))
    return apigateway, api["id"]


def _reserved_concurrency(tmp):
    """What `chalice deploy` will reserve for the API's function, as Chalice reads it."""
    from chalice.config import Config

    on_disk = json.loads((tmp / ".chalice" / "config.json").read_text())
    scoped = Config(chalice_stage="dev", function_name="api_handler", config_from_disk=on_disk)
    return scoped.reserved_concurrency


def test_setup_writes_the_cost_ceiling_and_throttles_a_deployed_stage(workspace, monkeypatch):
    tmp, outputs, _, _ = workspace
    path = tmp / ".chalice" / "config.json"

    def run(*extra):
        _stub_stack(monkeypatch, outputs, exists=True)
        result = _setup(CliRunner(), *extra)
        assert result.exit_code == 0, result.output
        return result.output

    first = run()  # not deployed yet: the defaults written, throttling waits for the API
    assert _reserved_concurrency(tmp) == 50
    assert json.loads(path.read_text())["stages"]["dev"]["bull_throttling"] == {
        "rate_limit": 100.0,
        "burst_limit": 200,
    }
    assert "100 requests a second (bursts of 200)" in first
    assert "by bull stripe webhook after chalice deploy" in first

    apigateway, api_id = _deployed_api(tmp)
    output = run("--rate-limit", "10", "--burst-limit", "20", "--reserved-concurrency", "5")
    stage = apigateway.get_stage(restApiId=api_id, stageName="api")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 10.0
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 20
    assert _reserved_concurrency(tmp) == 5
    assert f"Throttled stage api of API {api_id}" in output

    run()  # a rerun without the options keeps the seller's ceiling
    assert _reserved_concurrency(tmp) == 5
    assert (
        apigateway.get_stage(restApiId=api_id, stageName="api")["methodSettings"]["*/*"][
            "throttlingRateLimit"
        ]
        == 10.0
    )
    assert "no reserved concurrency" in run("--reserved-concurrency", "0")
    assert _reserved_concurrency(tmp) is None  # chalice deploy then deletes the reservation


def test_stripe_webhook_after_deploy_applies_the_stage_throttling(
    workspace, monkeypatch, stripe_api
):
    tmp, outputs, _, _ = workspace
    _stub_stack(monkeypatch, outputs, exists=False)
    assert _setup(CliRunner(), "--rate-limit", "7", "--burst-limit", "9").exit_code == 0
    apigateway, api_id = _deployed_api(tmp)  # chalice deploy made the API
    result = CliRunner().invoke(main, ["stripe", "webhook"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    settings = apigateway.get_stage(restApiId=api_id, stageName="api")["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (7.0, 9)
