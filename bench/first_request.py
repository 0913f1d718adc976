"""The first webhook a fresh container answers (imports, clients and calls, as Lambda runs it)
vs a fresh interpreter that imports boto3 and makes the bare calls fulfilment cannot do
without (one `TransactWriteItems`, one `SendEmail`)."""

from __future__ import annotations

import sys
import uuid

import stripe

from bench.common import (
    alternate,
    bench_env,
    checkout_event,
    moto_server,
    provision,
    report,
    run_python,
    use_env,
)

# What Lambda does on a cold start: import the handler, then call it with API Gateway's event.
APP_CHILD = """
import json, sys
payload, signature = sys.argv[1], sys.argv[2]
from app import app
event = {
    "requestContext": {
        "httpMethod": "POST",
        "resourcePath": "/webhooks/stripe",
        "path": "/webhooks/stripe",
        "identity": {"sourceIp": "127.0.0.1"},
    },
    "headers": {"content-type": "application/json", "stripe-signature": signature},
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": {},
    "body": payload,
    "isBase64Encoded": False,
}
answer = app(event, None)
assert answer["statusCode"] == 200, answer
"""

BARE_CHILD = """
import sys, uuid
import boto3
tables = sys.argv[1].split(",")
session = boto3.session.Session()
dynamodb, ses = session.client("dynamodb"), session.client("ses")
key = uuid.uuid4().hex
dynamodb.transact_write_items(TransactItems=[
    {"Put": {"TableName": tables[0], "Item": {"session_id": {"S": key}},
             "ConditionExpression": "attribute_not_exists(session_id)"}},
    {"Put": {"TableName": tables[1], "Item": {"token_hash": {"S": key}},
             "ConditionExpression": "attribute_not_exists(token_hash)"}},
])
ses.send_email(
    Source="store@example.com",
    Destination={"ToAddresses": ["bench@example.com"]},
    Message={"Subject": {"Data": "Receipt"}, "Body": {"Text": {"Data": "Thanks"}}},
)
"""


def run(rounds: int = 9) -> None:
    with moto_server() as moto_url:
        env = bench_env(moto_url)
        use_env(env)
        product = provision(env)
        from chalicelib.platform import config

        settings = config.get_settings()
        secret = env["STRIPE_WEBHOOK_SECRET"]

        def first_webhook() -> None:
            payload = checkout_event(f"cs_{uuid.uuid4().hex}", product.id, "bench@example.com")
            signature = stripe.WebhookSignature.generate_signature_header(payload, secret)
            run_python(APP_CHILD, payload, signature, env=env)

        def bare_calls() -> None:
            run_python(BARE_CHILD, f"{settings.purchases_table},{settings.links_table}", env=env)

        app_time, bare_time = alternate(first_webhook, bare_calls, rounds)
        report(
            "first webhook of a fresh container vs bare",
            app_time / bare_time,
            2.0,
            f"{app_time * 1000:.0f} ms vs {bare_time * 1000:.0f} ms "
            "(interpreter, imports, clients, calls)",
        )


if __name__ == "__main__":
    run(rounds=int(sys.argv[1]) if len(sys.argv) > 1 else 9)
