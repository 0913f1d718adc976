"""Gap 7: bucket-policy conditions, evaluated as for a request over TLS (see gaps.py)."""

from __future__ import annotations

import json
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import FakeBucket

# The request context a bucket policy's conditions are evaluated in (see gap 7).
S3_REQUEST_CONTEXT = {"aws:securetransport": "true"}


def _condition_holds(condition: dict[str, Any] | None, context: dict[str, str]) -> bool:
    """IAM's condition operators the stack uses (Bool, String[Not]Equals); a key absent from
    the context makes a positive condition false, as IAM documents."""
    for operator, tests in (condition or {}).items():
        for key, expected in tests.items():
            wanted = [
                str(v).lower() for v in (expected if isinstance(expected, list) else [expected])
            ]
            actual = context.get(key.lower())
            if operator in ("Bool", "StringEquals", "StringEqualsIgnoreCase"):
                if actual is None or actual.lower() not in wanted:
                    return False
            elif (
                operator in ("StringNotEquals", "StringNotEqualsIgnoreCase")
                and actual is not None
                and actual.lower() in wanted
            ):
                return False
            # Other operators: the statement applies, as moto evaluates it.
    return True


def bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    applicable = [
        {k: v for k, v in statement.items() if k != "Condition"}
        for statement in statements
        if _condition_holds(statement.get("Condition"), S3_REQUEST_CONTEXT)
    ]
    if not applicable:
        return PermissionResult.NEUTRAL
    policy = {"Version": document.get("Version", "2012-10-17"), "Statement": applicable}
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)
