"""Reading the infra stack: its template, and turning its outputs into the app's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "stack.yaml"

# Stack output -> environment variable the app reads (chalicelib/config.py).
OUTPUT_ENV = {
    "ProductsTable": "PRODUCTS_TABLE",
    "PurchasesTable": "PURCHASES_TABLE",
    "LinksTable": "LINKS_TABLE",
    "SalesTable": "SALES_TABLE",
    "ProductsBucket": "PRODUCTS_BUCKET",
    "UserPoolId": "USER_POOL_ID",
    "UserPoolArn": "USER_POOL_ARN",
    "UserPoolClientId": "USER_POOL_CLIENT_ID",
    "SenderEmail": "SENDER_EMAIL",
    "SiteName": "SITE_NAME",
    "StripeSecretKeyParam": "STRIPE_SECRET_KEY_PARAM",
    "StripeWebhookSecretParam": "STRIPE_WEBHOOK_SECRET_PARAM",
    "LinkSigningKeyParam": "LINK_SIGNING_KEY_PARAM",
}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short tags (`!Ref`, `!Sub`) as plain values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def template_body(path: Path = TEMPLATE) -> str:
    return path.read_text()


# The stateful resources `bull teardown` keeps and a later `bull setup` adopts, by output name.
TABLE_SUFFIXES = {
    "ProductsTable": "products",
    "PurchasesTable": "purchases",
    "LinksTable": "links",
    "SalesTable": "sales",
}
SECRET_OUTPUTS = ("StripeSecretKeyParam", "StripeWebhookSecretParam", "LinkSigningKeyParam")


def stack_name(stage: str) -> str:
    return f"bull-{stage}"


def kept_names(stage: str, account: str, region: str) -> dict[str, str]:
    """The stage's tables, bucket and SSM parameter names, as the template names them (so
    they are known without the stack: teardown after a half-finished teardown, adoption)."""
    names = {output: f"bull-{stage}-{suffix}" for output, suffix in TABLE_SUFFIXES.items()}
    names["ProductsBucket"] = f"bull-{stage}-products-{account}-{region}"
    names["StripeSecretKeyParam"] = f"/bull/{stage}/stripe-secret-key"
    names["StripeWebhookSecretParam"] = f"/bull/{stage}/stripe-webhook-secret"
    names["LinkSigningKeyParam"] = f"/bull/{stage}/link-signing-key"
    return names


def _resolve(value: Any, bucket_arn: str) -> Any:
    """The bucket policy's `!GetAtt ProductsBucket.Arn` / `!Sub ${ProductsBucket.Arn}...`."""
    if isinstance(value, dict) and set(value) == {"GetAtt"}:
        if value["GetAtt"] in ("ProductsBucket.Arn", ["ProductsBucket", "Arn"]):
            return bucket_arn
        raise ValueError(f"cannot resolve {value}")
    if isinstance(value, dict) and set(value) == {"Sub"} and isinstance(value["Sub"], str):
        resolved = value["Sub"].replace("${ProductsBucket.Arn}", bucket_arn)
        if "${" in resolved:
            raise ValueError(f"cannot resolve {value}")
        return resolved
    if isinstance(value, dict):
        return {k: _resolve(v, bucket_arn) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, bucket_arn) for v in value]
    return value


def _stage_sub(value: Any, stage: str) -> Any:
    """A `!Sub` of `${Stage}` alone (the pool's and client's names), resolved."""
    if isinstance(value, dict) and set(value) == {"Sub"} and isinstance(value["Sub"], str):
        resolved = value["Sub"].replace("${Stage}", stage)
        if "${" in resolved:
            raise ValueError(f"cannot resolve {value}")
        return resolved
    return value


def user_pool_configuration(stage: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the template gives the admins' user pool (AdminPool), its app client
    (AdminPoolClient) and group (AdminsGroup), as Cognito API arguments: the local stack and the
    tests create exactly these (`resources.create_user_pool`).

    Returns `pool` (CreateUserPool), `mfa` (SetUserPoolMfaConfig: CloudFormation's
    `EnabledMfas`), `client` (CreateUserPoolClient) and `group` (CreateGroup), each without
    the pool's id.
    """
    template = template or load_template()
    resources = template["Resources"]
    pool = {k: _stage_sub(v, stage) for k, v in resources["AdminPool"]["Properties"].items()}
    mfas = set(pool.pop("EnabledMfas", []))
    if mfas - {"SOFTWARE_TOKEN_MFA"}:
        raise ValueError(f"the local stack creates TOTP MFA only, not {sorted(mfas)}")
    mfa = {
        "SoftwareTokenMfaConfiguration": {"Enabled": "SOFTWARE_TOKEN_MFA" in mfas},
        "MfaConfiguration": pool.pop("MfaConfiguration", "OFF"),
    }
    client, group = (
        {
            k: _stage_sub(v, stage)
            for k, v in resources[name]["Properties"].items()
            if k != "UserPoolId"  # !Ref AdminPool
        }
        for name in ("AdminPoolClient", "AdminsGroup")
    )
    return {
        "pool": {"PoolName": pool.pop("UserPoolName"), **pool},
        "mfa": mfa,
        "client": client,
        "group": group,
    }


def bucket_configuration(bucket: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the template gives the products bucket, as S3 API arguments: an adopted bucket
    (no longer the stack's) gets exactly these from `bull setup`."""
    template = template or load_template()
    props = template["Resources"]["ProductsBucket"]["Properties"]
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    cors = [
        {
            "AllowedMethods": rule["AllowedMethods"],
            "AllowedOrigins": rule["AllowedOrigins"],
            "AllowedHeaders": rule.get("AllowedHeaders", []),
            **({"MaxAgeSeconds": rule["MaxAge"]} if "MaxAge" in rule else {}),
        }
        for rule in props["CorsConfiguration"]["CorsRules"]
    ]
    policy = template["Resources"]["ProductsBucketPolicy"]["Properties"]["PolicyDocument"]
    return {
        "encryption": {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **(
                        {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                        if "BucketKeyEnabled" in rule
                        else {}
                    ),
                }
                for rule in rules
            ]
        },
        "public_access_block": dict(props["PublicAccessBlockConfiguration"]),
        "ownership": {"Rules": list(props["OwnershipControls"]["Rules"])},
        "versioning": {"Status": props["VersioningConfiguration"]["Status"]},
        "cors": {"CORSRules": cors},
        "policy": _resolve(policy, f"arn:aws:s3:::{bucket}"),
    }


def apply_bucket_configuration(s3: Any, bucket: str, *, tls_only: bool = True) -> None:
    """Give a bucket the template's encryption, public access block, ownership, versioning,
    CORS and TLS-only policy (each call is idempotent): an adopted bucket, no longer the
    stack's, and the local stack's (`tls_only=False`: it is served over plain HTTP, and moto
    enforces the policy)."""
    conf = bucket_configuration(bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=conf["encryption"])
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=conf["public_access_block"]
    )
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=conf["ownership"])
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=conf["versioning"])
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=conf["cors"])
    if tls_only:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(conf["policy"]))


def environment_from_outputs(outputs: dict[str, str], stage: str) -> dict[str, str]:
    """The stage's environment variables for `.chalice/config.json` (names, never secrets)."""
    env = {"BULL_STAGE": stage}
    for output, variable in OUTPUT_ENV.items():
        if outputs.get(output):
            env[variable] = outputs[output]
    return env
