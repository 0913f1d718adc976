"""`bull setup`: deploy the infra stack and write the stage's config, policy and secrets.

Re-running it is safe: the stack updates (or says unchanged), the link-signing key is kept, and
a new stack adopts the tables and bucket an earlier `bull teardown` kept.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import click
from botocore.exceptions import ClientError

from bull_chalice import infra, package, paths
from bull_chalice.ceiling import ceiling_options, throttle_deployed, write_ceiling
from bull_chalice.errors import attempt, cli_errors, error_code
from bull_chalice.policy import build_policy
from bull_chalice.stack import deploy_stack, locate, stack_outputs
from bull_chalice.targets import (
    Target,
    put_secret,
    read_config,
    stage_option,
    write_config,
)
from chalicelib.platform.config import SELLING_SETTINGS, ConfigError, email_address


def _bucket_exists(s3: Any, bucket: str) -> bool:
    """Whether the bucket exists and is ours (HeadBucket); someone else's is an error."""
    try:
        return attempt(s3.head_bucket, "404", "NoSuchBucket", "NotFound", Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise click.ClickException(
                f"bucket {bucket} exists but is not this account's: it cannot be used"
            ) from None
        raise


def adoption(target: Target, stack: dict[str, Any] | None, names: dict[str, str]) -> dict[str, str]:
    """The stack's AdoptTables / AdoptBucket parameters.

    An existing stack keeps what it was created with (a stack that owns its tables must
    never be told to adopt them). A new stack adopts the stage's tables and bucket when
    they exist already, kept by an earlier `bull teardown`.
    """
    if stack is not None and stack.get("StackStatus") != "ROLLBACK_COMPLETE":
        previous = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        return {
            "AdoptTables": previous.get("AdoptTables", "false"),
            "AdoptBucket": previous.get("AdoptBucket", "false"),
        }
    dynamodb = target.client("dynamodb")
    tables = [names[output] for output in infra.TABLE_SUFFIXES]
    present = [
        table
        for table in tables
        if attempt(dynamodb.describe_table, "ResourceNotFoundException", TableName=table)
    ]
    if present and len(present) != len(tables):
        missing = sorted(set(tables) - set(present))
        raise click.ClickException(
            f"found the kept tables {', '.join(present)} but not {', '.join(missing)}: "
            "restore or delete them, then run bull setup again"
        )
    bucket = _bucket_exists(target.client("s3"), names["ProductsBucket"])
    return {
        "AdoptTables": "true" if present else "false",
        "AdoptBucket": "true" if bucket else "false",
    }


DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[\w-]+$")
BASE_PATH = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")
MB = 1024 * 1024


def _custom_domain(
    domain: str | None, certificate_arn: str | None, base_path: str | None
) -> dict[str, str] | None:
    """Chalice's `api_gateway_custom_domain` for the options, checked; None without one."""
    if not domain:
        if certificate_arn or base_path:
            raise click.UsageError("--certificate-arn and --base-path need --domain")
        return None
    domain = domain.strip().lower().rstrip(".")
    if not DOMAIN.match(domain):
        raise click.BadParameter("not a domain name like shop.example.com", param_hint="--domain")
    if not certificate_arn:
        raise click.UsageError("--domain needs --certificate-arn (an ACM certificate for it)")
    if not CERTIFICATE_ARN.match(certificate_arn.strip()):
        raise click.BadParameter(
            "not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
            param_hint="--certificate-arn",
        )
    custom = {"domain_name": domain, "certificate_arn": certificate_arn.strip()}
    if base_path is not None and base_path.strip("/"):
        prefix = base_path.strip("/")
        if not BASE_PATH.match(prefix):
            raise click.BadParameter(
                "one path segment of letters, digits, '.', '_', '~' or '-'",
                param_hint="--base-path",
            )
        custom["url_prefix"] = prefix
    return custom


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
@click.option(
    "--domain",
    envvar="BULL_DOMAIN",
    help="Serve the store on this custom domain (e.g. shop.example.com); sets SITE_URL. "
    "Without it the stage has no custom domain and no SITE_URL.",
)
@click.option(
    "--certificate-arn",
    envvar="BULL_CERTIFICATE_ARN",
    help="ACM certificate covering --domain (in us-east-1 for Chalice's default edge API).",
)
@click.option(
    "--base-path",
    envvar="BULL_DOMAIN_BASE_PATH",
    help="Serve the store under https://DOMAIN/BASE_PATH (default: the domain's root).",
)
@click.option(
    "--notify-email",
    envvar="BULL_NOTIFY_EMAIL",
    help="Mail this address a notice per sale, refund, dispute and fraud warning, and a daily "
    'summary (NOTIFY_EMAIL). Kept by later runs without the option; "" turns it off.',
)
@ceiling_options
@cli_errors
def setup(
    stage: str,
    region: str | None,
    sender_email: str,
    site_name: str,
    domain_prefix: str | None,
    stripe_secret_key: str,
    domain: str | None,
    certificate_arn: str | None,
    base_path: str | None,
    notify_email: str | None = None,
    **ceiling_flags: Any,
) -> None:
    """Deploy the infra stack and write the stage's config, policy and secrets.

    Tables and a bucket kept by `bull teardown` are adopted (old sales survive).
    """
    if stage == "local":
        raise click.ClickException("the local stack sets itself up: use `make run`")
    if not stripe_secret_key.startswith(("sk_", "rk_")):
        raise click.ClickException("that does not look like a Stripe secret key (sk_…)")
    custom_domain = _custom_domain(domain, certificate_arn, base_path)
    notify = _notify_address(notify_email)
    found = locate(stage, region)
    target, account, name = found.target, found.account, found.name
    cloudformation, stack, names = found.cloudformation, found.description, found.names
    adopt = adoption(target, stack, names)
    result = deploy_stack(
        cloudformation,
        name,
        {
            "Stage": stage,
            "SenderEmail": sender_email,
            "SiteName": site_name,
            "DomainPrefix": domain_prefix or f"bull-{stage}-{account}",
            **adopt,
        },
        stack,
    )
    click.echo(f"Stack {name} in {target.region}: {result}.")
    outputs = stack_outputs(cloudformation, name)
    if adopt["AdoptTables"] == "true":
        tables = ", ".join(outputs[output] for output in infra.TABLE_SUFFIXES)
        click.echo(f"Adopted the kept tables {tables} (their sales and purchases stay).")
    if adopt["AdoptBucket"] == "true":
        infra.apply_bucket_configuration(target.client("s3"), outputs["ProductsBucket"])
        click.echo(
            f"Adopted the kept bucket {outputs['ProductsBucket']}; applied its encryption, "
            "public access block and TLS-only policy."
        )

    config = read_config()
    stage_config = config["stages"].setdefault(stage, {})
    previous = stage_config.get("environment_variables", {})
    env = infra.environment_from_outputs(outputs, stage)
    # The seller's Checkout choices stay as they set them in the stage's environment.
    env.update({k: previous[k] for k in SELLING_SETTINGS if k in previous})
    notify = previous.get("NOTIFY_EMAIL", "") if notify is None else notify
    if notify:
        env["NOTIFY_EMAIL"] = notify
    stage_config.update(
        {
            "api_gateway_stage": "api",
            "autogen_policy": False,
            "iam_policy_file": f"policy-{stage}.json",
            "environment_variables": env,
        }
    )
    if custom_domain:
        stage_config["api_gateway_custom_domain"] = custom_domain
        site = f"https://{custom_domain['domain_name']}"
        if custom_domain.get("url_prefix"):
            site += f"/{custom_domain['url_prefix']}"
        env["SITE_URL"] = site
    else:
        dropped = stage_config.pop("api_gateway_custom_domain", None)
        if dropped or previous.get("SITE_URL"):
            click.echo(
                "No --domain: removed the custom domain and SITE_URL from the stage (the store "
                "takes its URL from each request)."
            )
    ceiling = write_ceiling(stage_config, **ceiling_flags)  # reserved concurrency, throttling
    config["autogen_policy"] = False
    write_config(config)
    policy = build_policy(target.region, account, stage, outputs)
    (paths.chalice_dir() / f"policy-{stage}.json").write_text(json.dumps(policy, indent=2) + "\n")
    click.echo(f"Wrote stage {stage} to .chalice/config.json and .chalice/policy-{stage}.json.")
    click.echo("Building the deployment package (the first time downloads the dependencies) ...")
    size = package.prepare_layer(paths.project_root(), stage)
    click.echo(
        f"Deployment package: the app {size.app_zipped / MB:.2f} MB and its dependency layer "
        f"{size.layer_zipped / MB:.1f} MB (botocore's models trimmed to the services the store "
        "calls), which chalice deploy publishes."
    )
    if custom_domain:
        click.echo(
            f"Custom domain: SITE_URL={env['SITE_URL']}. After chalice deploy, point DNS for "
            f"{custom_domain['domain_name']} at the alias domain name it prints."
        )
        cert_region = CERTIFICATE_ARN.match(custom_domain["certificate_arn"]).group(1)
        endpoint_type = stage_config.get("api_gateway_endpoint_type") or config.get(
            "api_gateway_endpoint_type", "EDGE"
        )
        wanted = "us-east-1" if endpoint_type == "EDGE" else target.region
        if cert_region != wanted:
            click.echo(
                f"Warning: the certificate is in {cert_region}; Chalice's {endpoint_type} "
                f"endpoint needs one in {wanted}."
            )

    ssm = target.client("ssm")
    put_secret(ssm, outputs["StripeSecretKeyParam"], stripe_secret_key)
    click.echo(f"Stored the Stripe secret key in SSM {outputs['StripeSecretKeyParam']}.")
    if put_secret(ssm, outputs["LinkSigningKeyParam"], secrets.token_urlsafe(48), overwrite=False):
        click.echo(f"Created the link-signing key in SSM {outputs['LinkSigningKeyParam']}.")
    else:
        click.echo("Kept the existing link-signing key (links already sent keep working).")
    click.echo(selling_note(env))
    click.echo(f"{ceiling.describe()} {throttle_deployed(target, stage, stage_config)}")
    click.echo(
        f"Seller notifications: to {notify} (NOTIFY_EMAIL)."
        if notify
        else "Seller notifications: off (bull setup --notify-email ADDRESS turns them on)."
    )
    click.echo(f"Next: chalice deploy --stage {stage}, then bull stripe webhook --stage {stage}.")


def _notify_address(given: str | None) -> str | None:
    """The --notify-email given: None when not given (keep the stage's), "" to turn it off."""
    if given is None:
        return None
    try:
        return email_address("--notify-email", given)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--notify-email") from None


def selling_note(env: dict[str, str]) -> str:
    """How Checkout sells on this stage, and how to turn on each option (README: "Discounts,
    pay what you want and tax")."""
    on = [f"{k}={env[k]}" for k in SELLING_SETTINGS if k in env]
    return (
        f"Checkout options: {', '.join(on) if on else 'none (all off)'}. Each is an "
        "environment variable of the stage in .chalice/config.json, kept by bull setup: "
        "ALLOW_PROMOTION_CODES=true (make codes in Stripe's dashboard, Product catalog > "
        "Coupons); STRIPE_TAX=true with TAX_BEHAVIOR=exclusive|inclusive (activate Stripe Tax "
        "and add a registration for each place you must collect tax, in Stripe's dashboard "
        "under Tax); MANAGED_PAYMENTS=true (Stripe as merchant of record: accept its terms in "
        "the dashboard; eligible businesses and product tax codes only). Pay what you want is "
        "per product: bull product add --min-price, or the dashboard. Then chalice deploy."
    )
