"""Creates the store's AWS resources from the same definitions production uses.

The local stack and the tests call these against moto. The tables come from the PynamoDB models
in `chalicelib.platform.tables`, the very classes the app reads and writes through (a test checks
them against infra/stack.yaml); the bucket and the admins' user pool come from infra/stack.yaml's
own properties (`infra.bucket_configuration`, `infra.user_pool_configuration`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bull_chalice import infra
from bull_chalice.errors import attempt
from chalicelib.platform.config import Settings
from chalicelib.platform.tables import ALL_MODELS, SHARED_MODELS, bind_models


def create_tables(settings: Settings, connection: Any = None) -> list[str]:
    """Create every table the models define (on-demand), skipping those that exist.

    `connection` (a PynamoDB connection) is shared by every model, as the app does.
    """
    bind_models(settings, connection)
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
    for model in SHARED_MODELS:  # item types in another model's table: that table's TTL
        if model._ttl_attribute() is not None and not _ttl_enabled(model):
            model.update_ttl(ignore_update_ttl_errors=False)
    return created


def _ttl_enabled(model: Any) -> bool:
    described = model._get_connection().connection._make_api_call(
        "DescribeTimeToLive", {"TableName": model.Meta.table_name}
    )
    return described["TimeToLiveDescription"].get("TimeToLiveStatus") in ("ENABLED", "ENABLING")


def create_bucket(s3: Any, settings: Settings) -> None:
    """The products bucket as infra/stack.yaml makes it: private, encrypted, versioned, public
    access blocked; all but the TLS-only policy, since moto is served over plain HTTP."""
    kwargs: dict[str, Any] = {"Bucket": settings.bucket}
    if settings.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    attempt(s3.create_bucket, "BucketAlreadyOwnedByYou", **kwargs)
    infra.apply_bucket_configuration(s3, settings.bucket, tls_only=False)


def verify_sender(ses: Any, settings: Settings) -> None:
    ses.verify_email_identity(EmailAddress=settings.sender_email)


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str
    arn: str = ""


def create_user_pool(cognito: Any, stage: str) -> UserPool:
    """The admins' user pool as infra/stack.yaml makes it for `stage` (AdminPool,
    AdminPoolClient, AdminsGroup): email sign-in, optional TOTP MFA, recovery by the verified
    email, an app client allowing USER_PASSWORD_AUTH (and SRP) whose ID tokens carry `email`,
    and the `admins` group."""
    conf = infra.user_pool_configuration(stage)
    pool = cognito.create_user_pool(**conf["pool"])["UserPool"]
    # CloudFormation's EnabledMfas: the API sets it on an existing pool.
    cognito.set_user_pool_mfa_config(UserPoolId=pool["Id"], **conf["mfa"])
    client = cognito.create_user_pool_client(UserPoolId=pool["Id"], **conf["client"])
    cognito.create_group(UserPoolId=pool["Id"], **conf["group"])
    return UserPool(
        pool_id=pool["Id"], client_id=client["UserPoolClient"]["ClientId"], arn=pool["Arn"]
    )


def find_user_pool(cognito: Any, stage: str) -> UserPool | None:
    """The admins' pool `create_user_pool` made for `stage`, if it is there."""
    conf = infra.user_pool_configuration(stage)
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool = next((p for p in pools if p["Name"] == conf["pool"]["PoolName"]), None)
    if pool is None:
        return None
    clients = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)
    client = next(
        c for c in clients["UserPoolClients"] if c["ClientName"] == conf["client"]["ClientName"]
    )
    arn = cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Arn"]
    return UserPool(pool_id=pool["Id"], client_id=client["ClientId"], arn=arn)


def add_product(
    catalog: Any,
    s3: Any,
    settings: Settings,
    *,
    name: str,
    price_cents: int,
    filename: str,
    content: bytes,
    description: str = "",
    currency: str | None = None,
    product_id: str | None = None,
) -> Any:
    """Create a product record, upload its file where the record says it lives, and put it
    on sale."""
    product = catalog.create(
        name=name,
        description=description,
        price_cents=price_cents,
        currency=currency or settings.currency,
        filename=filename,
        product_id=product_id,
    )
    s3.put_object(Bucket=settings.bucket, Key=product.file_key, Body=content)
    return catalog.update(product.id, {"active": True})
