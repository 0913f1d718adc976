"""The Lambda role's hand-written policy covers every AWS call the code makes, and no more."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bull_chalice.policy import build_policy, example_outputs

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
CONFIG = Path(__file__).resolve().parents[2] / ".chalice"

# boto3 client operations (method names no other object in chalicelib has) -> IAM actions.
CLIENT_CALLS = {
    "send_email": "ses:SendEmail",
    "send_raw_email": "ses:SendRawEmail",
    "get_parameter": "ssm:GetParameter",
    "get_parameters": "ssm:GetParameters",
    "put_object": "s3:PutObject",
    "get_object": "s3:GetObject",
    # S3 answers 404 for a missing key only to callers that may list the bucket (else 403).
    "head_object": ("s3:GetObject", "s3:ListBucket"),
    "delete_object": "s3:DeleteObject",
}
# PynamoDB operations on a model, one of its indexes, or a transaction -> IAM actions.
MODEL_CALLS = {
    "get": "dynamodb:GetItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "count": "dynamodb:Query",
    "batch_get": "dynamodb:BatchGetItem",
    "batch_write": "dynamodb:BatchWriteItem",
    "exists": "dynamodb:DescribeTable",
    "describe_table": "dynamodb:DescribeTable",
}
# ... and on an item or a transaction, recognised by their arguments.
ITEM_CALLS = {
    "save": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",  # with `actions=`, which dict.update never takes
    "delete": "dynamodb:DeleteItem",
    "condition_check": "dynamodb:ConditionCheckItem",
}


def _model_names() -> set[str]:
    from chalicelib.platform.tables import ALL_MODELS, SHARED_MODELS

    return {model.__name__ for model in (*ALL_MODELS, *SHARED_MODELS)}


def _model_attributes(tree: ast.Module, models: set[str]) -> set[str]:
    """Parameters annotated as a model class (`model: type[Product]`, `links:
    type[DownloadLink]`), and the `self.X` that an `__init__` sets from one."""
    found = set()
    for init in ast.walk(tree):
        if not isinstance(init, ast.FunctionDef):
            continue
        typed = {
            arg.arg
            for arg in init.args.args + init.args.kwonlyargs
            if arg.annotation is not None
            and "type[" in ast.unparse(arg.annotation)
            and any(name in ast.unparse(arg.annotation) for name in models | {"Model"})
        }
        found.update(typed)
        for node in ast.walk(init):
            named = isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)
            if named and node.value.id in typed:
                found.update(ast.unparse(target) for target in node.targets)
    return found


def _is_model(receiver: ast.expr, name: str, models: set[str], attributes: set[str]) -> bool:
    """A model class or a model held in `self.X`; for a query, also one of its indexes
    (`self.model.email_index`). `Model.attr.exists()` is a condition, not a call."""
    text, roots = ast.unparse(receiver), models | attributes
    if name in ("query", "count"):
        return any(text == root or text.startswith(root + ".") for root in roots)
    return text in roots


def _calls_in_chalicelib() -> set[str]:
    """Every AWS action the code may need: boto3 client operations, PynamoDB operations on
    models and items, and presigned operations."""
    models, actions = _model_names(), set()
    for path in CHALICELIB.rglob("*.py"):
        tree = ast.parse(path.read_text())
        attributes = _model_attributes(tree, models)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name, receiver = node.func.attr, node.func.value
            keywords = {k.arg for k in node.keywords}
            if name == "generate_presigned_url" and node.args:
                operation = node.args[0]
                if isinstance(operation, ast.Constant):
                    actions.update(_actions(CLIENT_CALLS[operation.value]))
            elif name in CLIENT_CALLS:
                actions.update(_actions(CLIENT_CALLS[name]))
            elif name in MODEL_CALLS and _is_model(receiver, name, models, attributes):
                actions.update(_actions(MODEL_CALLS[name]))
            elif name in ITEM_CALLS and (name != "update" or "actions" in keywords):
                actions.add(ITEM_CALLS[name])
    return actions


def _actions(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


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
