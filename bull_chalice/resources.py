"""Creates the store's AWS resources from the same definitions production uses.

The local stack and the tests call these against moto; the tables come from the PynamoDB models
in `chalicelib.platform.tables`, the very classes the app reads and writes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.platform.config import Settings
from chalicelib.platform.tables import ALL_MODELS, bind_models

ADMIN_GROUP = "admins"


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
    return created


def create_bucket(s3: Any, settings: Settings) -> None:
    """The products bucket: private, encrypted, public access blocked."""
    kwargs: dict[str, Any] = {"Bucket": settings.bucket}
    if settings.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
            raise
    s3.put_public_access_block(
        Bucket=settings.bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=settings.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def verify_sender(ses: Any, settings: Settings) -> None:
    ses.verify_email_identity(EmailAddress=settings.sender_email)


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str
    arn: str = ""


def create_user_pool(cognito: Any, name: str) -> UserPool:
    """A user pool for admins: email sign-in, an app client allowing USER_PASSWORD_AUTH
    (and SRP) whose ID tokens carry `email`, and the `admins` group. As in
    infra/stack.yaml's AdminPool: optional TOTP MFA (`SOFTWARE_TOKEN_MFA`) and password
    recovery by the verified email."""
    pool = cognito.create_user_pool(
        PoolName=name,
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
    )["UserPool"]
    # CloudFormation's EnabledMfas: the API sets it on an existing pool.
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool["Id"],
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=f"{name}-admin",
        GenerateSecret=False,
        ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
        ReadAttributes=["email", "email_verified"],
    )["UserPoolClient"]
    cognito.create_group(GroupName=ADMIN_GROUP, UserPoolId=pool["Id"])
    return UserPool(pool_id=pool["Id"], client_id=client["ClientId"], arn=pool["Arn"])


def add_user(cognito: Any, pool_id: str, email: str, password: str, *, admin: bool = True) -> None:
    """Create (or update) a confirmed user with a permanent password; add to `admins`."""
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UsernameExistsException":
            raise
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=email, Password=password, Permanent=True
    )
    if admin:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=ADMIN_GROUP)


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
    return catalog.update(product.id, active=True)
