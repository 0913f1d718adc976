"""The infra template: its tables match the PynamoDB models, and it is cfn-lint clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bull_chalice.infra import OUTPUT_ENV, TEMPLATE, load_template
from chalicelib.models import DailySales, DownloadLink, Product, Purchase

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
    from chalicelib.models import ALL_MODELS

    assert {model for model, _ in TABLES.values()} == set(ALL_MODELS)


def test_products_bucket_is_private_encrypted_and_tls_only(template):
    resources = template["Resources"]
    bucket = resources["ProductsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    statement = resources["ProductsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_stack_outputs_cover_every_setting_the_app_reads(template):
    assert set(template["Outputs"]) == set(OUTPUT_ENV)


def test_template_is_cfn_lint_clean():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
