"""`bull setup`, `bull admin add`, `bull product add`, `bull stripe webhook`, `bull report`.

Every command takes `--stage`; `--stage local` talks to the running local stack (its moto
server and Stripe stand-in, from `.bull/local.json`). Each says what it changed, fails with a
clear message (never a traceback) when credentials, region or stack are missing, and is safe to
run again.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, WaiterError

from bull_chalice import infra, resources
from bull_chalice.policy import build_policy

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / ".chalice" / "config.json"
STATE_FILE = ROOT / ".bull" / "local.json"


@dataclass
class Target:
    """Where a command acts: a deployed stage (AWS) or the local stack (moto)."""

    stage: str
    session: Any
    endpoint: str | None = None
    local: dict[str, Any] | None = None

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    @property
    def region(self) -> str:
        return self.session.region_name

    def environment(self) -> dict[str, str]:
        """The app's environment for this stage (what `chalice local`/Lambda would see)."""
        if self.local is not None:
            return {
                "BULL_STAGE": "local",
                "AWS_ENDPOINT_URL": self.local["moto_url"],
                "AWS_REGION": self.local["region"],
                "USER_POOL_ID": self.local["user_pool_id"],
                "USER_POOL_CLIENT_ID": self.local["user_pool_client_id"],
                "SENDER_EMAIL": self.local["sender_email"],
                "SITE_URL": self.local["api_url"],
            }
        stage_env = read_config()["stages"].get(self.stage, {}).get("environment_variables", {})
        if "PRODUCTS_TABLE" not in stage_env:
            raise click.ClickException(
                f"stage {self.stage} is not set up: run `bull setup --stage {self.stage}` first"
            )
        return {**stage_env, "AWS_REGION": self.region}


def read_config() -> dict[str, Any]:
    return json.loads(CONFIG_FILE.read_text())


def write_config(config: dict[str, Any]) -> None:
    CONFIG_FILE.write_text(json.dumps(config, indent=2) + "\n")


def target_for(stage: str, region: str | None = None) -> Target:
    """Resolve the stage to a session, checking credentials and region up front."""
    if stage == "local":
        try:
            state = json.loads(STATE_FILE.read_text())
        except FileNotFoundError:
            raise click.ClickException(
                "the local stack is not running: start it with `make run`"
            ) from None
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any
            region_name=state["region"],
        )
        return Target("local", session, endpoint=state["moto_url"], local=state)
    session = boto3.session.Session(
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not session.region_name:
        raise click.ClickException("no AWS region: pass --region or set AWS_REGION")
    if session.get_credentials() is None:
        raise click.ClickException(
            "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    return Target(stage, session, endpoint=os.environ.get("AWS_ENDPOINT_URL") or None)


def _aws_errors(func):
    """Turn AWS failures into one clear line instead of a traceback."""
    import functools

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NoCredentialsError:
            raise click.ClickException("no AWS credentials found") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise click.ClickException(
                f"AWS refused: {error.get('Code', '?')}: {error.get('Message', '')}"
            ) from None
        except (BotoCoreError, WaiterError) as exc:
            raise click.ClickException(f"AWS call failed: {exc}") from None

    return wrapped


stage_option = click.option(
    "--stage", default="dev", show_default=True, help="Chalice stage, or `local` for make run."
)

# -- setup ------------------------------------------------------------------------------


def deploy_stack(cloudformation: Any, name: str, parameters: dict[str, str]) -> str:
    """Create or update the infra stack and wait; `created`, `updated` or `unchanged`."""
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    body = infra.template_body()
    try:
        cloudformation.describe_stacks(StackName=name)
        exists = True
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        exists = False
    if not exists:
        cloudformation.create_stack(StackName=name, TemplateBody=body, Parameters=params)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name)
        return "created"
    try:
        cloudformation.update_stack(StackName=name, TemplateBody=body, Parameters=params)
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            return "unchanged"
        raise
    cloudformation.get_waiter("stack_update_complete").wait(StackName=name)
    return "updated"


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def put_secret(ssm: Any, name: str, value: str, *, overwrite: bool = True) -> bool:
    """Store a SecureString; False when it exists and `overwrite` is off."""
    try:
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=overwrite)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterAlreadyExists":
            return False
        raise
    return True


@click.command()
@stage_option
@click.option("--region", help="AWS region (default: AWS_REGION).")
@click.option(
    "--sender-email", envvar="BULL_SENDER_EMAIL", prompt=True, help="Address receipts come from."
)
@click.option("--site-name", envvar="BULL_SITE_NAME", default="Bull Store", show_default=True)
@click.option(
    "--domain-prefix",
    envvar="BULL_DOMAIN_PREFIX",
    help="Cognito hosted domain prefix (default: bull-<stage>-<account>).",
)
@click.option(
    "--stripe-secret-key",
    envvar="STRIPE_SECRET_KEY",
    prompt=True,
    hide_input=True,
    help="Stripe secret key (sk_live_… or sk_test_…); stored in SSM, never in files.",
)
@_aws_errors
def setup(
    stage: str,
    region: str | None,
    sender_email: str,
    site_name: str,
    domain_prefix: str | None,
    stripe_secret_key: str,
) -> None:
    """Deploy the infra stack and write the stage's config, policy and secrets."""
    if stage == "local":
        raise click.ClickException("the local stack sets itself up: use `make run`")
    if not stripe_secret_key.startswith(("sk_", "rk_")):
        raise click.ClickException("that does not look like a Stripe secret key (sk_…)")
    target = target_for(stage, region)
    account = target.client("sts").get_caller_identity()["Account"]
    name = f"bull-{stage}"
    cloudformation = target.client("cloudformation")
    result = deploy_stack(
        cloudformation,
        name,
        {
            "Stage": stage,
            "SenderEmail": sender_email,
            "SiteName": site_name,
            "DomainPrefix": domain_prefix or f"bull-{stage}-{account}",
        },
    )
    click.echo(f"Stack {name} in {target.region}: {result}.")
    outputs = stack_outputs(cloudformation, name)

    config = read_config()
    stage_config = config["stages"].setdefault(stage, {})
    previous = stage_config.get("environment_variables", {})
    env = infra.environment_from_outputs(outputs, stage)
    if previous.get("SITE_URL"):
        env["SITE_URL"] = previous["SITE_URL"]
    stage_config.update(
        {
            "api_gateway_stage": "api",
            "autogen_policy": False,
            "iam_policy_file": f"policy-{stage}.json",
            "environment_variables": env,
        }
    )
    config["autogen_policy"] = False
    write_config(config)
    policy = build_policy(target.region, account, stage, outputs)
    (CONFIG_FILE.parent / f"policy-{stage}.json").write_text(json.dumps(policy, indent=2) + "\n")
    click.echo(f"Wrote stage {stage} to .chalice/config.json and .chalice/policy-{stage}.json.")

    ssm = target.client("ssm")
    put_secret(ssm, outputs["StripeSecretKeyParam"], stripe_secret_key)
    click.echo(f"Stored the Stripe secret key in SSM {outputs['StripeSecretKeyParam']}.")
    if put_secret(ssm, outputs["LinkSigningKeyParam"], secrets.token_urlsafe(48), overwrite=False):
        click.echo(f"Created the link-signing key in SSM {outputs['LinkSigningKeyParam']}.")
    else:
        click.echo("Kept the existing link-signing key (links already sent keep working).")
    click.echo(f"Next: chalice deploy --stage {stage}, then bull stripe webhook --stage {stage}.")


# -- admins and products -------------------------------------------------------------------


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
@_aws_errors
def admin_add(email: str, stage: str, password: str | None) -> None:
    """Create an admin (or add an existing user to `admins`)."""
    target = target_for(stage)
    pool_id = target.environment().get("USER_POOL_ID")
    if not pool_id:
        raise click.ClickException(f"stage {stage} has no user pool: run `bull setup` first")
    cognito = target.client("cognito-idp")
    if password:
        resources.add_user(cognito, pool_id, email, password)
        click.echo(f"Admin {email} is ready in {pool_id} with the given password.")
        return
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            DesiredDeliveryMediums=["EMAIL"],
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
        )
        click.echo(f"Created {email}; Cognito mailed a temporary password.")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UsernameExistsException":
            raise
        click.echo(f"{email} exists already.")
    cognito.admin_add_user_to_group(
        UserPoolId=pool_id, Username=email, GroupName=resources.ADMIN_GROUP
    )
    click.echo(f"{email} is in the admins group of {pool_id}.")


@click.group()
def product() -> None:
    """Manage the products on sale."""


@product.command("add")
@click.option("--name", required=True)
@click.option("--price", required=True, help="Like 19.99 (parsed exactly, no floats).")
@click.option(
    "--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--description", default="")
@click.option("--currency", default=None, help="ISO code (default: the store's, usd).")
@stage_option
@_aws_errors
def product_add(
    name: str, price: str, path: Path, description: str, currency: str | None, stage: str
) -> None:
    """Create a product and upload its file."""
    from chalicelib import config
    from chalicelib.catalog import Catalog
    from chalicelib.errors import StoreError
    from chalicelib.models import bind_models
    from chalicelib.money import parse_amount

    target = target_for(stage)
    settings = config.load(target.environment())
    currency = (currency or settings.currency).lower()
    try:
        cents = parse_amount(price, currency)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--price") from None
    _pynamodb_credentials(target)
    bind_models(settings)
    try:
        made = resources.add_product(
            Catalog(currency=settings.currency),
            target.client("s3"),
            settings,
            name=name,
            description=description,
            price_cents=cents,
            currency=currency,
            filename=path.name,
            content=path.read_bytes(),
        )
    except StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Added {made.id}: {made.name} at {cents} {currency} cents; "
        f"uploaded {path.name} to s3://{settings.bucket}/{made.file_key}."
    )


def _pynamodb_credentials(target: Target) -> None:
    """PynamoDB reads credentials from the environment; hand it the session's."""
    creds = target.session.get_credentials()
    if creds is None:
        raise click.ClickException("no AWS credentials found")
    frozen = creds.get_frozen_credentials()
    os.environ["AWS_ACCESS_KEY_ID"] = frozen.access_key
    os.environ["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
    if frozen.token:
        os.environ["AWS_SESSION_TOKEN"] = frozen.token


# -- Stripe -------------------------------------------------------------------------------


def deployed_url(stage: str) -> str | None:
    """The API Gateway URL `chalice deploy` recorded for the stage."""
    path = ROOT / ".chalice" / "deployed" / f"{stage}.json"
    if not path.exists():
        return None
    for resource in json.loads(path.read_text()).get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return resource["rest_api_url"].rstrip("/")
    return None


def register_webhook(client: Any, url: str, events: list[str]) -> tuple[str, str | None]:
    """Create the endpoint, or update the one with the same URL; (id, new secret or None)."""
    for endpoint in client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter():
        if endpoint.url == url:
            client.v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": events})
            return endpoint.id, None
    created = client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": events})
    return created.id, created.secret


@click.group()
def stripe() -> None:
    """Connect the store to Stripe."""


@stripe.command("webhook")
@stage_option
@click.option("--url", "api_url", help="The store's API URL (default: from chalice deploy).")
@_aws_errors
def stripe_webhook(stage: str, api_url: str | None) -> None:
    """Register {API}/webhooks/stripe for the handled events and store the signing secret."""
    import stripe as stripe_lib

    from chalicelib.webhooks import HANDLED_EVENTS

    if stage == "local":
        raise click.ClickException("the local stand-in delivers to the app already")
    target = target_for(stage)
    env = target.environment()
    api_url = (api_url or deployed_url(stage) or "").rstrip("/")
    if not api_url.startswith("https://") and not os.environ.get("STRIPE_API_BASE"):
        raise click.ClickException(
            f"no deployed API for stage {stage}: run `chalice deploy --stage {stage}` or pass --url"
        )
    ssm = target.client("ssm")
    key = ssm.get_parameter(Name=env["STRIPE_SECRET_KEY_PARAM"], WithDecryption=True)
    kwargs: dict[str, Any] = {}
    if os.environ.get("STRIPE_API_BASE"):
        kwargs["base_addresses"] = {"api": os.environ["STRIPE_API_BASE"]}
    client = stripe_lib.StripeClient(key["Parameter"]["Value"], **kwargs)
    url = f"{api_url}/webhooks/stripe"
    try:
        endpoint_id, secret = register_webhook(client, url, list(HANDLED_EVENTS))
    except stripe_lib.StripeError as exc:
        raise click.ClickException(f"Stripe refused: {exc.user_message or exc}") from None
    if secret:
        put_secret(ssm, env["STRIPE_WEBHOOK_SECRET_PARAM"], secret)
        click.echo(f"Created webhook {endpoint_id} for {url}; stored its secret in SSM.")
    else:
        click.echo(f"Updated webhook {endpoint_id} for {url} (secret unchanged).")
    config = read_config()
    stage_env = config["stages"][stage].setdefault("environment_variables", {})
    if stage_env.get("SITE_URL") != api_url:
        stage_env["SITE_URL"] = api_url
        write_config(config)
        click.echo(f"Set SITE_URL={api_url}; run `chalice deploy --stage {stage}` once more.")


# -- reports ------------------------------------------------------------------------------


@click.command()
@stage_option
@click.option("--from", "start", help="First day, YYYY-MM-DD (default: 30 days ago).")
@click.option("--to", "end", help="Last day, YYYY-MM-DD (default: today).")
@click.option("--email", envvar="BULL_ADMIN_EMAIL", prompt=True)
@click.option("--password", envvar="BULL_ADMIN_PASSWORD", prompt=True, hide_input=True)
@_aws_errors
def report(stage: str, start: str | None, end: str | None, email: str, password: str) -> None:
    """Sign in with Cognito and print the sales report as a table."""
    import requests

    from chalicelib.money import format_amount

    target = target_for(stage)
    env = target.environment()
    api_url = env.get("SITE_URL") or deployed_url(stage)
    if not api_url:
        raise click.ClickException(f"no API URL for stage {stage}: deploy it first")
    from bull_chalice import signin

    tokens = signin.sign_in(
        target.client("cognito-idp"), env.get("USER_POOL_CLIENT_ID", ""), email, password
    )
    params = {k: v for k, v in (("from", start), ("to", end)) if v}
    answer = requests.get(
        f"{api_url}/reports",
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {tokens.id_token}"},
    )
    if answer.status_code != 200:
        try:
            message = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = answer.text[:200]
        raise click.ClickException(f"report refused ({answer.status_code}): {message}")
    data = answer.json()
    cur = data["currency"]
    click.echo(f"Sales {data['from']} to {data['to']} ({data['timezone']})")
    click.echo(f"{'date':<12}{'orders':>8}{'gross':>14}{'refunded':>14}{'net':>14}")
    for row in [*data["days"], {"date": "total", **data["totals"]}]:
        click.echo(
            f"{row['date']:<12}{row['orders']:>8}{format_amount(row['gross_cents'], cur):>14}"
            f"{format_amount(row['refunded_cents'], cur):>14}"
            f"{format_amount(row['net_cents'], cur):>14}"
        )


COMMANDS = [setup, admin, product, stripe, report]
