"""A burst of duplicate, shuffled, concurrent webhook deliveries against the local stack ends
with exactly one purchase, one receipt and one counted order per session."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import stripe

from bench.common import checkout_event
from bull_chalice.local import local_client
from tests.integration.conftest import receipts_to

pytestmark = pytest.mark.integration


def test_duplicate_shuffled_concurrent_deliveries_fulfil_each_session_once(stack):
    run = uuid.uuid4().hex[:6]
    sessions = [f"cs_burst_{run}_{n:02d}" for n in range(12)]
    deliveries = [s for s in sessions for _ in range(4)]
    random.Random(3).shuffle(deliveries)
    url = f"{stack.api_url}/webhooks/stripe"

    def send(session_id: str) -> int:
        body = checkout_event(session_id, stack.demo_product_id, f"{session_id}@example.com")
        header = stripe.WebhookSignature.generate_signature_header(body, stack.webhook_secret)
        answer = requests.post(
            url,
            data=body.encode(),
            timeout=60,
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, deliveries))

    assert statuses == [200] * len(deliveries)
    dynamodb = local_client(stack, "dynamodb")
    purchases = dynamodb.scan(
        TableName="bull-local-purchases",
        FilterExpression="begins_with(session_id, :run)",
        ExpressionAttributeValues={":run": {"S": f"cs_burst_{run}"}},
    )["Items"]
    assert len(purchases) == len(sessions)
    assert all(len(receipts_to(stack, f"{s}@example.com")) == 1 for s in sessions)
