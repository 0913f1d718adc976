"""Launch day, small: 120 purchases delivered by 8 concurrent clients with duplicates, against
a DynamoDB that cancels concurrent transactions on one item and throttles hot partitions as AWS
does (tests/harness/contention.py). Every purchase is recorded once with one receipt, the
report is exact, and Stripe never sees a 5xx."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from chalicelib.platform.tables import Purchase
from tests.harness.contention import ContendedDynamoDB, contended
from tests.helpers import completed, deliver, rows, sent_emails

DAY = "2026-11-24"
PURCHASES = 120
CLIENTS = 8


@pytest.fixture
def layer(aws: None) -> Iterator[ContendedDynamoDB]:
    with contended() as layer:
        yield layer


def _deliveries(product_id: str) -> list[bytes]:
    """Each session's `checkout.session.completed` once, a third of them two or three times,
    shuffled: what Stripe sends when its deliveries time out and it tries again."""
    created = int(datetime.fromisoformat(f"{DAY}T12:00:00+00:00").timestamp())
    events = [
        completed(
            product_id,
            session_id=f"cs_launch_{n:04d}",
            amount=1999 + n,
            email=f"buyer{n}@example.test",
            payment_intent=f"pi_launch_{n:04d}",
            created=created,
        )
        for n in range(PURCHASES)
    ]
    rng = random.Random(15)
    work = events + [event for event in events if rng.random() < 1 / 3] * 2
    rng.shuffle(work)
    return work


def _send_until_acknowledged(client, work: list[bytes]) -> list[int]:
    """Deliver everything from `CLIENTS` threads; redeliver what was not acknowledged, as Stripe
    would. The statuses of every attempt."""
    statuses: list[int] = []
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for _ in range(5):
            answers = list(pool.map(lambda body: deliver(client, body).status_code, work))
            statuses += answers
            work = [body for body, status in zip(work, answers, strict=True) if status != 200]
            if not work:
                break
    assert not work, f"{len(work)} deliveries never acknowledged"
    return statuses


def test_a_launch_records_every_purchase_once_mails_one_receipt_each_and_never_answers_5xx(
    client, product, admin, layer
):
    statuses = _send_until_acknowledged(client, _deliveries(product.id))

    assert [s for s in statuses if s >= 500] == []
    assert len(rows(Purchase)) == PURCHASES
    receipts = Counter(m.destinations["ToAddresses"][0] for m in sent_emails())
    assert len(receipts) == PURCHASES and set(receipts.values()) == {1}
    response = client.http.get(f"/reports?from={DAY}&to={DAY}", headers=admin)
    totals = json.loads(response.body)["totals"]
    expected_gross = sum(1999 + n for n in range(PURCHASES))
    assert (totals["orders"], totals["gross_cents"]) == (PURCHASES, expected_gross)
    # It ran against the contention layer, with transactions really in flight together.
    assert layer.stats["transactions"] >= PURCHASES and layer.stats["max_in_flight"] > 1
