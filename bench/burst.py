"""Burst: 500 webhook deliveries for 100 sessions (duplicates, shuffled, 16 threads) against
the local stack over HTTP."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

import requests
import stripe

from bench.common import checkout_event
from bull_chalice.local import LocalStack, local_client
from bull_chalice.processes import free_port


def run(sessions: int = 100, deliveries: int = 500, threads: int = 16) -> None:
    with TemporaryDirectory() as tmp:
        stack = LocalStack(
            app_port=free_port(),
            moto_port=free_port(),
            stripe_port=free_port(),
            state_file=Path(tmp) / "local.json",
            log_dir=Path(tmp) / "logs",
        )
        with stack as state:
            ids = [f"cs_burst_{n:04d}" for n in range(sessions)]
            work = [ids[n % sessions] for n in range(deliveries)]
            random.Random(7).shuffle(work)
            url = f"{state.api_url}/webhooks/stripe"

            def send(session_id: str) -> int:
                body = checkout_event(
                    session_id, state.demo_product_id, f"{session_id}@example.com"
                )
                header = stripe.WebhookSignature.generate_signature_header(
                    body, state.webhook_secret
                )
                return requests.post(
                    url,
                    data=body.encode(),
                    timeout=60,
                    headers={"Content-Type": "application/json", "Stripe-Signature": header},
                ).status_code

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                statuses = list(pool.map(send, work))
            elapsed = time.perf_counter() - started

            dynamodb = local_client(state, "dynamodb")
            purchases = dynamodb.scan(TableName="bull-local-purchases", Select="COUNT")["Count"]
            orders = sum(
                int(item["orders"]["N"])
                for item in dynamodb.scan(TableName="bull-local-sales")["Items"]
            )
            mails = requests.get(f"{state.moto_url}/moto-api/data.json", timeout=30).json()
            receipts = sum(
                1
                for m in mails["ses"]["Message"]
                if m["destinations"]["ToAddresses"][0].startswith("cs_burst_")
            )
            errors = sum(1 for s in statuses if s >= 500)
            verdict = (
                "ok"
                if (purchases, receipts, orders, errors) == (sessions, sessions, sessions, 0)
                else "MISSED"
            )
            print(
                f"{'burst: ' + str(deliveries) + ' deliveries, ' + str(sessions) + ' sessions':<46}"
                f" {deliveries / elapsed:6.1f}/s  purchases {purchases}, receipts {receipts}, "
                f"rollup {orders}, 5xx {errors}   {verdict}",
                flush=True,
            )
