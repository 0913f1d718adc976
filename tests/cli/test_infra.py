"""The infra template: its tables match the PynamoDB models, and it is cfn-lint clean."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bull_chalice import infra, resources, users
from bull_chalice.infra import OUTPUT_ENV, TEMPLATE, load_template
from chalicelib.platform.tables import (
    SHARED_MODELS,
    DailySales,
    DownloadLink,
    Product,
    Purchase,
)

TABLES = {
    "ProductsTable": (Product, "products"),
    "PurchasesTable": (Purchase, "purchases"),
    "LinksTable": (DownloadLink, "links"),
    "SalesTable": (DailySales, "sales"),
}


def _keys(schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


def _attributes(definitions):
    return sorted((d["AttributeName"], d["AttributeType"]) for d in definitions)


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.mark.parametrize("resource", sorted(TABLES))
def test_template_table_matches_its_model(template, resource):
    model, suffix = TABLES[resource]
    table = template["Resources"][resource]["Properties"]
    schema = model._get_schema()
    assert table["TableName"] == {"Sub": f"bull-${{Stage}}-{suffix}"}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert _keys(table["KeySchema"]) == _keys(schema["key_schema"])
    assert _attributes(table["AttributeDefinitions"]) == _attributes(
        schema["attribute_definitions"]
    )
    expected = {
        index["index_name"]: (_keys(index["key_schema"]), index["projection"]["ProjectionType"])
        for index in schema.get("global_secondary_indexes", [])
    }
    actual = {
        index["IndexName"]: (_keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    assert actual == expected


def test_every_model_has_a_table_in_the_template(template):
    from chalicelib.platform.tables import ALL_MODELS

    assert {model for model, _ in TABLES.values()} == set(ALL_MODELS)


@pytest.mark.parametrize("shared", sorted(SHARED_MODELS, key=lambda m: m.__name__), ids=str)
def test_item_types_in_another_table_have_its_keys_and_its_ttl(template, shared):
    """The library's items live in the links table: the same key schema, and DynamoDB's TTL
    on their `purge_at` (in the template, and in what the local stack creates)."""
    owner = SHARED_MODELS[shared]
    [resource] = [name for name, (model, _) in TABLES.items() if model is owner]
    assert _keys(shared._get_schema()["key_schema"]) == _keys(owner._get_schema()["key_schema"])
    assert shared.Meta.table_name == owner.Meta.table_name
    if shared._ttl_attribute() is None:  # kept for good (license keys)
        return
    ttl = template["Resources"][resource]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": shared._ttl_attribute().attr_name, "Enabled": True}


def test_the_local_links_table_has_the_templates_ttl(aws):
    described = boto3.client("dynamodb", region_name="us-east-1").describe_time_to_live(
        TableName=DownloadLink.Meta.table_name
    )["TimeToLiveDescription"]
    assert described == {"TimeToLiveStatus": "ENABLED", "AttributeName": "purge_at"}


def test_products_bucket_is_private_encrypted_and_tls_only(template):
    resources = template["Resources"]
    bucket = resources["ProductsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    statement = resources["ProductsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


class _Recording(dict):
    """An environment that notes every name read from it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)

    def __contains__(self, name):
        self.read.add(name)
        return super().__contains__(name)


def _settings_the_app_reads() -> set[str]:
    """The environment variables the app reads: `config.load`'s, each secret (given directly or
    as the name of its SSM parameter), and the authorizer's pool ARN."""
    from chalicelib.admin import auth
    from chalicelib.platform.config import load
    from chalicelib.platform.secrets import SECRET_NAMES, Secrets

    environ = _Recording()
    load(environ)
    secrets = Secrets(environ, ssm=lambda: None)
    for name in SECRET_NAMES:
        with contextlib.suppress(Exception):  # neither given: the read is what counts
            secrets(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", environ)  # it reads os.environ when called
        auth.gateway_authorizer()
    return environ.read


# Read by the app but not the stack's to give: Lambda sets the region, the operator the stage
# and the store's choices (or the defaults hold), the local stack its endpoints, and deployed
# stages name each secret's SSM parameter instead of the secret itself.
NOT_FROM_THE_STACK = {
    "AWS_REGION", "AWS_DEFAULT_REGION", "BULL_STAGE", "STORE_ID", "SITE_URL", "SUPPORT_EMAIL",
    "STORE_CURRENCY", "DOWNLOAD_LIMIT", "DOWNLOAD_TTL_DAYS", "PRESIGN_SECONDS",
    "REPORT_TIMEZONE", "REFUND_ON_FRAUD_WARNING", "STRIPE_API_BASE", "AWS_ENDPOINT_URL",
    "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "LINK_SIGNING_KEY",
    "ALLOW_PROMOTION_CODES", "STRIPE_TAX", "TAX_BEHAVIOR", "MANAGED_PAYMENTS", "NOTIFY_EMAIL",
    "RATE_LIMIT_CHECKOUT", "RATE_LIMIT_THANKS", "RATE_LIMIT_THANKS_UNKNOWN",
    "RATE_LIMIT_LIBRARY", "RATE_LIMIT_LICENSES",
    "SALES_SHARDS",
}  # fmt: skip


def test_stack_outputs_cover_every_setting_the_app_reads(template):
    read = _settings_the_app_reads()
    assert set(template["Outputs"]) == set(OUTPUT_ENV)
    # Every output feeds a setting the app reads, and every setting the app reads is an output
    # unless it is named above as someone else's to set.
    assert set(OUTPUT_ENV.values()) <= read, set(OUTPUT_ENV.values()) - read
    assert read - set(OUTPUT_ENV.values()) == NOT_FROM_THE_STACK


def test_template_is_cfn_lint_clean():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# -- what teardown keeps and setup adopts ---------------------------------------------------

KEPT = {*TABLES, "ProductsBucket"}


def _sub(value, stage="dev", account="123456789012", region="us-east-1"):
    return (
        value.replace("${Stage}", stage)
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
    )


def test_the_kept_resources_are_exactly_those_retained(template):
    retained = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
    }
    assert retained == KEPT
    assert set(infra.TABLE_SUFFIXES) == set(TABLES)


@pytest.mark.parametrize("parameter", ["AdoptTables", "AdoptBucket"])
def test_adoption_parameters_default_to_creating(template, parameter):
    spec = template["Parameters"][parameter]
    assert spec["Default"] == "false" and sorted(spec["AllowedValues"]) == ["false", "true"]


def test_adopted_resources_are_not_created_and_their_outputs_still_name_them(template):
    assert template["Conditions"] == {
        "CreateTables": {"Equals": [{"Ref": "AdoptTables"}, "false"]},
        "CreateBucket": {"Equals": [{"Ref": "AdoptBucket"}, "false"]},
    }
    resources = template["Resources"]
    for name in TABLES:
        assert resources[name]["Condition"] == "CreateTables"
    assert resources["ProductsBucket"]["Condition"] == "CreateBucket"
    assert resources["ProductsBucketPolicy"]["Condition"] == "CreateBucket"
    names = infra.kept_names("dev", "123456789012", "us-east-1")
    for name in KEPT:
        condition = resources[name]["Condition"]
        created, adopted = template["Outputs"][name]["Value"]["If"][1:]
        assert template["Outputs"][name]["Value"]["If"][0] == condition
        assert created == {"Ref": name}
        # the adopted name is the one the resource would have had, and what teardown keeps
        assert _sub(adopted["Sub"]) == _sub(resources[name]["Properties"][_name_key(name)]["Sub"])
        assert _sub(adopted["Sub"]) == names[name]


def _name_key(resource):
    return "BucketName" if resource == "ProductsBucket" else "TableName"


def test_no_resource_outside_the_adopted_ones_depends_on_them(template):
    """Only the conditional resources may Ref the tables or bucket (else an adopting stack
    would fail to validate)."""
    conditional = {n for n, r in template["Resources"].items() if "Condition" in r}
    for name, resource in template["Resources"].items():
        if name in conditional:
            continue
        text = repr(resource)
        for kept in KEPT:
            assert f"'Ref': '{kept}'" not in text and f"{kept}." not in text, (name, kept)


def test_an_adopted_bucket_gets_the_templates_settings(template):
    conf = infra.bucket_configuration("bull-dev-b", template)
    props = template["Resources"]["ProductsBucket"]["Properties"]
    assert conf["public_access_block"] == props["PublicAccessBlockConfiguration"]
    rule = conf["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "AES256"}
    assert conf["versioning"] == {"Status": "Enabled"}
    assert conf["ownership"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert conf["cors"]["CORSRules"][0]["MaxAgeSeconds"] == 3000
    [statement] = conf["policy"]["Statement"]
    assert statement["Resource"] == ["arn:aws:s3:::bull-dev-b", "arn:aws:s3:::bull-dev-b/*"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_local_user_pool_is_the_templates(template):
    """What resources.create_user_pool makes in moto has AdminPool's, AdminPoolClient's and
    AdminsGroup's properties: the local stack and the tests sign in against the pool AWS gets."""
    want = {
        name: template["Resources"][name]["Properties"]
        for name in ("AdminPool", "AdminPoolClient", "AdminsGroup")
    }
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        made = resources.create_user_pool(cognito, "dev")
        pool = cognito.describe_user_pool(UserPoolId=made.pool_id)["UserPool"]
        mfa = cognito.get_user_pool_mfa_config(UserPoolId=made.pool_id)
        client = cognito.describe_user_pool_client(
            UserPoolId=made.pool_id, ClientId=made.client_id
        )["UserPoolClient"]
        groups = cognito.list_groups(UserPoolId=made.pool_id)["Groups"]
    pool_props = want["AdminPool"]
    assert pool["Name"] == "bull-dev-admins"
    assert (
        pool["Policies"]["PasswordPolicy"].items()
        >= pool_props["Policies"]["PasswordPolicy"].items()
    )
    for key in (
        "UsernameAttributes",
        "AutoVerifiedAttributes",
        "AdminCreateUserConfig",
        "AccountRecoverySetting",
    ):
        assert pool[key] == pool_props[key] or pool[key].items() >= pool_props[key].items(), key
    compared = {"UserPoolName", "Policies", "MfaConfiguration", "EnabledMfas"}
    compared |= {"UsernameAttributes", "AutoVerifiedAttributes", "AdminCreateUserConfig"}
    compared |= {"AccountRecoverySetting"}
    assert set(pool_props) <= compared, "compare the template's new pool property here"
    assert mfa["MfaConfiguration"] == pool_props["MfaConfiguration"]
    assert pool_props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    for key, value in want["AdminPoolClient"].items():
        if key == "UserPoolId":
            continue
        expected = "bull-dev-dashboard" if key == "ClientName" else value
        assert client.get(key, False) == expected, key
    [group] = groups
    assert group["GroupName"] == want["AdminsGroup"]["GroupName"] == users.ADMIN_GROUP
    assert group["Description"] == want["AdminsGroup"]["Description"]


def test_the_local_bucket_is_the_templates_but_for_the_tls_only_policy(template):
    """What resources.create_bucket makes in moto: ProductsBucket's encryption, public access
    block, ownership, versioning and CORS (not its TLS-only policy: moto is plain HTTP)."""
    props = template["Resources"]["ProductsBucket"]["Properties"]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        settings = type("S", (), {"bucket": "bull-dev-products", "region": "us-east-1"})()
        resources.create_bucket(s3, settings)
        encryption = s3.get_bucket_encryption(Bucket=settings.bucket)
        block = s3.get_public_access_block(Bucket=settings.bucket)
        ownership = s3.get_bucket_ownership_controls(Bucket=settings.bucket)
        versioning = s3.get_bucket_versioning(Bucket=settings.bucket)
        cors = s3.get_bucket_cors(Bucket=settings.bucket)
    [rule] = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    [want_rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ApplyServerSideEncryptionByDefault"] == want_rule["ServerSideEncryptionByDefault"]
    assert block["PublicAccessBlockConfiguration"] == props["PublicAccessBlockConfiguration"]
    assert ownership["OwnershipControls"]["Rules"] == props["OwnershipControls"]["Rules"]
    assert versioning["Status"] == props["VersioningConfiguration"]["Status"]
    [cors_rule] = cors["CORSRules"]
    [want_cors] = props["CorsConfiguration"]["CorsRules"]
    assert cors_rule["AllowedMethods"] == want_cors["AllowedMethods"]
    assert cors_rule["AllowedOrigins"] == want_cors["AllowedOrigins"]
    assert cors_rule["MaxAgeSeconds"] == want_cors["MaxAge"]
