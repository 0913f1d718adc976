"""Hot paths against a moto server: taking a download and fulfilling a webhook, each against
the bare AWS calls it cannot do without."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import stripe

from bench.common import (
    alternate,
    bench_env,
    checkout_event,
    moto_server,
    provision,
    report,
    use_env,
)
from chalicelib.sale.download_ip import ip_mark
from chalicelib.sale.download_log import DownloadEntry
from chalicelib.sale.links import hash_token

IP_MARK = ip_mark(b"bench-key", "127.0.0.1")  # what the store logs: a keyed mark of the IP

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)


def _signed(payload: bytes, secret: str) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def _event(product_id: str, session_id: str) -> bytes:
    return checkout_event(session_id, product_id, "bench@example.com").encode()


@contextmanager
def count_calls() -> Iterator[Counter]:
    """Count the AWS API calls (PynamoDB's and the app's boto3 clients') inside the block."""
    from pynamodb.connection.base import Connection

    from chalicelib.platform import aws

    calls: Counter = Counter()
    real = Connection._make_api_call

    def counted(conn, operation, kwargs):
        calls[operation] += 1
        return real(conn, operation, kwargs)

    def on_call(model, **_):
        calls[model.name] += 1

    clients = [aws.ses_client(), aws.s3_client()]
    for client in clients:
        client.meta.events.register("before-call.*.*", on_call)
    Connection._make_api_call = counted
    try:
        yield calls
    finally:
        Connection._make_api_call = real
        for client in clients:
            client.meta.events.unregister("before-call.*.*", on_call)


def _links(template_token: str, count: int) -> list[str]:
    """`count` copies of a real link, each with its own token; every token listed 5 times."""
    import secrets

    from chalicelib.platform.tables import DownloadLink

    template = DownloadLink.get(hash_token(template_token))
    tokens = []
    for _ in range(count):
        token = secrets.token_urlsafe(32)
        copy = DownloadLink(
            hash_token(token),
            **{
                name: getattr(template, name)
                for name in (
                    "session_id",
                    "product_id",
                    "product_name",
                    "file_key",
                    "filename",
                    "expires_at",
                    "state",
                    "created_at",
                )
            },
            downloads_left=5,
        )
        copy.save()
        tokens += [token] * 5
    return tokens


def run(rounds: int = 150) -> None:
    from chalice.test import Client

    with moto_server() as moto_url:
        env = bench_env(moto_url)
        use_env(env)
        product = provision(env)
        from app import app
        from chalicelib.platform import config

        settings = config.get_settings()
        dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
        ses = boto3.client("ses", endpoint_url=moto_url)
        s3 = boto3.client("s3", endpoint_url=moto_url)
        secret = env["STRIPE_WEBHOOK_SECRET"]
        with Client(app, stage_name="bench") as client:
            # Warm both paths (connections, caches, imports) before timing.
            first = client.http.post(
                "/webhooks/stripe",
                body=_event(product.id, "cs_warm"),
                headers=_signed(_event(product.id, "cs_warm"), secret),
            )
            assert first.status_code == 200, first.body
            mail = ses.get_send_quota  # keep a reference: the client is warm
            del mail
            body = __import__("requests").get(f"{moto_url}/moto-api/data.json").json()
            link = re.search(r"/download/([\w-]{43})", body["ses"]["Message"][-1]["body"]).group(1)

            tokens = iter(_links(link, 2 * rounds // 5 + 2))

            def take() -> None:
                # Real links give 5 downloads; move to a fresh link every 5 takes.
                token = next(tokens)
                answer = client.http.post(f"/download/{token}", headers={"User-Agent": BROWSER})
                assert answer.status_code == 303

            counter = itertools.count()
            bare_key = {"token_hash": {"S": "bare"}}
            dynamodb.put_item(
                TableName=settings.links_table, Item={**bare_key, "downloads_left": {"N": "100000"}}
            )

            def presign() -> None:
                s3.generate_presigned_url(
                    "get_object",
                    ExpiresIn=120,
                    Params={
                        "Bucket": settings.bucket,
                        "Key": product.file_key,
                        "ResponseContentDisposition": 'attachment; filename="book.pdf"',
                    },
                )

            def bare_take() -> None:
                dynamodb.update_item(
                    TableName=settings.links_table,
                    Key=bare_key,
                    UpdateExpression="SET downloads_left = downloads_left - :one",
                    ConditionExpression="downloads_left > :zero",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
                )
                presign()

            same_tokens = iter(_links(link, rounds // 5 + 1))

            def bare_same_expression() -> None:
                # The very update the store sends (condition, counter, download log, ALL_NEW).
                key = {"token_hash": {"S": hash_token(next(same_tokens))}}
                dynamodb.update_item(
                    TableName=settings.links_table,
                    Key=key,
                    ReturnValues="ALL_NEW",
                    UpdateExpression="ADD downloads_left :minus_one, #log :entry",
                    ConditionExpression="#state = :active AND downloads_left > :zero "
                    "AND expires_at > :now",
                    ExpressionAttributeNames={"#log": "log", "#state": "state"},
                    ExpressionAttributeValues={
                        ":minus_one": {"N": "-1"},
                        ":zero": {"N": "0"},
                        ":active": {"S": "active"},
                        ":now": {"N": str(int(time.time()))},
                        ":entry": {
                            "SS": [DownloadEntry.taken(time.time(), IP_MARK, BROWSER).to_json()]
                        },
                    },
                )
                presign()

            with count_calls() as calls:
                take()
            app_time, bare_time = alternate(take, bare_take, rounds)
            report(
                "POST /download vs UpdateItem + presign",
                app_time / bare_time,
                1.5,
                f"{app_time * 1000:.1f} ms vs {bare_time * 1000:.1f} ms; calls {dict(calls)}",
            )
            app_time, same_time = alternate(take, bare_same_expression, rounds)
            report(
                "POST /download vs that same UpdateItem + presign",
                app_time / same_time,
                1.5,
                f"{app_time * 1000:.1f} ms vs {same_time * 1000:.1f} ms",
            )

            def fulfil() -> None:
                payload = _event(product.id, f"cs_{uuid.uuid4().hex}")
                answer = client.http.post(
                    "/webhooks/stripe", body=payload, headers=_signed(payload, secret)
                )
                assert answer.status_code == 200

            def bare_fulfil() -> None:
                n = next(counter)
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": settings.purchases_table,
                                "Item": {
                                    "session_id": {"S": f"bare_{n}"},
                                    "status": {"S": "paid"},
                                    "amount_cents": {"N": "1999"},
                                },
                                "ConditionExpression": "attribute_not_exists(session_id)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": settings.links_table,
                                "Item": {
                                    "token_hash": {"S": f"bare_{n}"},
                                    "downloads_left": {"N": "5"},
                                },
                                "ConditionExpression": "attribute_not_exists(token_hash)",
                            }
                        },
                        {
                            "Update": {
                                "TableName": settings.sales_table,
                                "Key": {
                                    "month": {"S": "2026-11"},
                                    "day_product": {"S": "2026-11-24#bare"},
                                },
                                "UpdateExpression": "ADD orders :one, gross_cents :amount",
                                "ExpressionAttributeValues": {
                                    ":one": {"N": "1"},
                                    ":amount": {"N": "1999"},
                                },
                            }
                        },
                    ]
                )
                ses.send_email(
                    Source="store@example.com",
                    Destination={"ToAddresses": ["bench@example.com"]},
                    Message={
                        "Subject": {"Data": "Receipt"},
                        "Body": {"Text": {"Data": "link"}, "Html": {"Data": "<p>link</p>"}},
                    },
                )

            with count_calls() as calls:
                fulfil()
            app_time, bare_time = alternate(fulfil, bare_fulfil, rounds)
            report(
                "webhook fulfilment vs TransactWrite + SendEmail",
                app_time / bare_time,
                1.5,
                f"{app_time * 1000:.1f} ms vs {bare_time * 1000:.1f} ms; calls {dict(calls)}",
            )
