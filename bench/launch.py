"""Launch day (issue 15): purchases arriving at 2,000 a minute, delivered by 32 concurrent
clients with duplicates, against DynamoDB as it behaves under contention.

In process: the app through `chalice.test.Client`, signed webhooks, moto behind the contention
layer (`tests/harness/contention.py`: a transaction holds its items 8 ms, a concurrent one on
an item it holds is cancelled with `TransactionConflict`, partitions throttle past 1,000 write
units a second). Run twice in the same process: today's sharded figures (`SALES_SHARDS=16`) and
the design before issue 15 (one figures item per product and day, `SALES_SHARDS=1`).

Deliveries are paced: session n's first delivery is due at n/rate seconds, and a quarter of
the sessions are delivered again once or twice within the next two seconds (Stripe retrying a
delivery it thinks timed out). A delivery that is not answered 200 is delivered again after
the launch, at once, in up to five rounds: the kindest schedule Stripe could keep (its real one
backs off for up to three days). A receipt's delay is from its session's first due delivery to
the first 200 for it.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.common import report

SECRET = "whsec_launch_" + "0" * 20
RATE = 2000 / 60  # purchases a second: 2,000 a minute
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "BULL_STAGE": "launch",
    "PRODUCTS_TABLE": "bull-launch-products",
    "PURCHASES_TABLE": "bull-launch-purchases",
    "LINKS_TABLE": "bull-launch-links",
    "SALES_TABLE": "bull-launch-sales",
    "PRODUCTS_BUCKET": "bull-launch-products",
    "SITE_URL": "https://store.example.test",
    "SENDER_EMAIL": "store@example.test",
    "STRIPE_SECRET_KEY": "sk_test_launch",
    "STRIPE_WEBHOOK_SECRET": SECRET,
    "LINK_SIGNING_KEY": "launch-link-key-" + "0" * 24,
    "REPORT_TIMEZONE": "UTC",
}


@dataclass
class Outcome:
    shards: int
    purchases: int
    receipts: int
    duplicate_receipts: int
    report_exact: bool
    errors: int  # 5xx answers, over every delivery and redelivery
    failed_first: int  # sessions whose first delivery was not answered 200
    slowest: float  # seconds, slowest receipt's delay
    elapsed: float
    deliveries: int
    layer: dict[str, int]


def _work(purchases: int, rng: random.Random) -> list[tuple[float, int]]:
    """(due second, session number), sorted: each session once, a quarter again, some twice."""
    work = [(n / RATE, n) for n in range(purchases)]
    for n in range(purchases):
        if rng.random() < 0.25:
            work += [(n / RATE + rng.uniform(0, 2), n) for _ in range(rng.choice((1, 2)))]
    return sorted(work)


def _event(n: int, product_id: str, created: int) -> bytes:
    from bench.common import checkout_event

    session = f"cs_launch_{n:05d}"
    return checkout_event(session, product_id, f"buyer{n}@example.test", created).encode()


def _launch(shards: int, purchases: int, clients: int) -> Outcome:
    import boto3
    import stripe
    from chalice.test import Client
    from moto import mock_aws

    from bull_chalice import resources
    from chalicelib import store
    from chalicelib.platform import aws as aws_clients
    from chalicelib.platform import config
    from chalicelib.sale.figures import DateRange
    from tests.harness.contention import ContendedDynamoDB, contended

    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({**ENV, "SALES_SHARDS": str(shards)})
    store.reset()
    with mock_aws(), contended(ContendedDynamoDB()) as layer:
        settings = config.get_settings()
        resources.create_tables(settings, aws_clients.dynamodb_connection())
        s3 = boto3.client("s3", region_name="us-east-1")
        resources.create_bucket(s3, settings)
        resources.verify_sender(boto3.client("ses", region_name="us-east-1"), settings)
        product = resources.add_product(
            store.current().catalog, s3, settings, name="Launch book", price_cents=1999,
            filename="book.pdf", content=b"%PDF launch",
        )  # fmt: skip
        created = int(time.time())
        events = {n: _event(n, product.id, created) for n in range(purchases)}
        work = _work(purchases, random.Random(15))
        first_due = {n: due for due, n in reversed(work)}
        answered: dict[int, float] = {}
        statuses: list[int] = []

        from app import app

        with Client(app, stage_name="launch") as client:

            def deliver(n: int) -> int:
                body = events[n]
                header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
                headers = {"Content-Type": "application/json", "Stripe-Signature": header}
                status = client.http.post("/webhooks/stripe", body=body, headers=headers)
                status = status.status_code
                if status == 200:
                    answered.setdefault(n, time.perf_counter() - start)
                return status

            def due(item: tuple[float, int]) -> int:
                wait = start + item[0] - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                return deliver(item[1])

            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                first = list(pool.map(due, work))
                statuses += first
                failed_first = len({n for (_, n), s in zip(work, first, strict=True) if s != 200})
                again = sorted({n for (_, n), s in zip(work, first, strict=True) if s != 200})
                for _ in range(5):
                    if not again:
                        break
                    answers = list(pool.map(deliver, again))
                    statuses += answers
                    again = [n for n, s in zip(again, answers, strict=True) if s != 200]
            elapsed = time.perf_counter() - start

        purchased = store.current().tables.purchases.count()
        mails = _sent()
        per_buyer = Counter(m.destinations["ToAddresses"][0] for m in mails)
        day = datetime.fromtimestamp(created, UTC).date()
        totals = store.current().reports.sales(DateRange(day, day))["totals"]
        exact = (totals["orders"], totals["gross_cents"]) == (purchases, purchases * 1999)
        slowest = max(
            (answered.get(n, elapsed) - first_due[n] for n in range(purchases)), default=0.0
        )
        outcome = Outcome(
            shards=shards,
            purchases=purchased,
            receipts=len(per_buyer),
            duplicate_receipts=sum(c - 1 for c in per_buyer.values()),
            report_exact=exact,
            errors=sum(1 for s in statuses if s >= 500),
            failed_first=failed_first,
            slowest=slowest,
            elapsed=elapsed,
            deliveries=len(statuses),
            layer=dict(layer.stats),
        )
    store.reset()
    return outcome


def _sent() -> list[Any]:
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    return list(get_backend("ses")[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def _line(name: str, o: Outcome, purchases: int, baseline: bool = False) -> None:
    ok = (o.purchases, o.receipts, o.duplicate_receipts, o.report_exact, o.errors) == (
        purchases,
        purchases,
        0,
        True,
        0,
    )
    print(
        f"{name:<46} purchases {o.purchases}, receipts {o.receipts} (+{o.duplicate_receipts} "
        f"twice), report {'exact' if o.report_exact else 'WRONG'}, 5xx {o.errors}, first "
        f"delivery refused {o.failed_first}, slowest receipt {o.slowest:.2f} s, "
        f"{o.deliveries} deliveries in {o.elapsed:.1f} s; conflicts "
        f"{o.layer.get('transaction_conflicts', 0)}+{o.layer.get('write_conflicts', 0)}, "
        f"throttled {o.layer.get('throttled', 0)}   "
        f"{'baseline' if baseline else 'ok' if ok else 'MISSED'}",
        flush=True,
    )


DEFAULT_PURCHASES = 2000  # the launch: 2,000 purchases in a minute


def run(purchases: int = DEFAULT_PURCHASES, clients: int = 32) -> tuple[Outcome, Outcome]:
    """Both designs at `purchases` (arriving at 2,000 a minute); prints each and the ratios."""
    sharded = _launch(16, purchases, clients)
    _line(f"launch: {purchases} purchases, 16 shards", sharded, purchases)
    single = _launch(1, purchases, clients)
    _line(f"launch: {purchases} purchases, one item (before)", single, purchases, baseline=True)
    report(
        "launch: slowest receipt, 16 shards / one item",
        sharded.slowest / max(single.slowest, 1e-9),
        1.0,
        f"{sharded.slowest:.2f} s vs {single.slowest:.2f} s",
    )
    report(
        "launch: 5xx, 16 shards / one item",
        sharded.errors / max(single.errors, 1),
        0.0,
        f"{sharded.errors} vs {single.errors}",
    )
    return sharded, single


if __name__ == "__main__":
    import sys

    run(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PURCHASES)
