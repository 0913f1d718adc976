"""The Lambda role's hand-written policy covers every AWS call the code makes, and no more."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bull_chalice.policy import build_policy, example_outputs

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
CONFIG = Path(__file__).resolve().parents[2] / ".chalice"

# Method names on boto3 clients and PynamoDB models/transactions -> the IAM actions they need.
CALLS = {
    "send_email": "ses:SendEmail",
    "send_raw_email": "ses:SendRawEmail",
    "get_parameter": "ssm:GetParameter",
    "get_parameters": "ssm:GetParameters",
    "put_object": "s3:PutObject",
    "get_object": "s3:GetObject",
    # S3 answers 404 for a missing key only to callers that may list the bucket (else 403).
    "head_object": ("s3:GetObject", "s3:ListBucket"),
    "delete_object": "s3:DeleteObject",
    "save": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "get": "dynamodb:GetItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "delete": "dynamodb:DeleteItem",
    "batch_get": "dynamodb:BatchGetItem",
    "batch_write": "dynamodb:BatchWriteItem",
    "condition_check": "dynamodb:ConditionCheckItem",
    "exists": "dynamodb:DescribeTable",
    "describe_table": "dynamodb:DescribeTable",
    "count": "dynamodb:Query",
}


def _calls_in_chalicelib() -> set[str]:
    """Every AWS action the code may need: method calls by name, and presign operations."""
    actions = set()
    for path in CHALICELIB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else None
            if name == "generate_presigned_url" and node.args:
                operation = node.args[0]
                if isinstance(operation, ast.Constant):
                    actions.update(_actions(CALLS[operation.value]))
            elif name in CALLS and _looks_like_aws(func):
                actions.update(_actions(CALLS[name]))
    return actions


def _actions(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


def _looks_like_aws(func: ast.Attribute) -> bool:
    # Skip dict.get / query_params.get and similar: only model, index, client, tx receivers.
    receiver = func.value
    text = ast.unparse(receiver)
    plain = (
        "fields",
        "query",
        "headers",
        "params",
        "environ",
        "os.environ",
        "metadata",
        "details",
        "session",
        "body",
        "data",
        "charge",
        "dispute",
        "self._cache",
        "request.headers",
        "claims",
        "header",
        "document",
        "jwk",
        "exc.response",
        "answer",
        "event",
        "identity",
        "request.context or {}",
        "_lists",
        "state",
    )
    if func.attr == "exists":  # Model.exists() describes the table; attr.exists() is a condition
        return isinstance(receiver, ast.Name)
    return not (text in plain or text.endswith((".query_params", "environ")) or "or {}" in text)


def _granted(policy) -> set[str]:
    granted = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        granted.update([actions] if isinstance(actions, str) else actions)
    return granted


def test_policy_grants_every_aws_call_in_chalicelib():
    needed = _calls_in_chalicelib()
    policy = build_policy("us-east-1", "123456789012", "dev", example_outputs("dev"))
    missing = needed - _granted(policy)
    assert not missing, f"the Lambda policy lacks {sorted(missing)}"
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "ses:SendEmail", "s3:GetObject"} <= needed


def test_policy_grants_nothing_the_code_does_not_call():
    needed = _calls_in_chalicelib() | {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    policy = build_policy("us-east-1", "123456789012", "dev", example_outputs("dev"))
    assert _granted(policy) - needed == set()


def test_policy_has_no_wildcard_actions_or_resources():
    policy = build_policy("us-east-1", "123456789012", "dev", example_outputs("dev"))
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert all("*" not in action for action in actions)
        assert all(resource != "*" and ":*:" not in resource for resource in resources)


def test_committed_dev_policy_is_the_generated_one_and_autogen_is_off():
    config = json.loads((CONFIG / "config.json").read_text())
    assert config["autogen_policy"] is False
    assert config["stages"]["dev"]["iam_policy_file"] == "policy-dev.json"
    committed = json.loads((CONFIG / "policy-dev.json").read_text())
    # `bull setup` rewrites this file from the stack's outputs; the committed example must
    # be what it would write for the example outputs, so it never drifts from the code.
    assert committed == build_policy("us-east-1", "123456789012", "dev", example_outputs("dev"))
