"""Shared helpers: a moto server on a free port, timing, and printing a ratio beside its target."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bull_chalice.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS: list[tuple[str, float, float, str]] = []


def report(name: str, ratio: float, target: float, detail: str = "") -> None:
    verdict = "ok" if ratio <= target else "MISSED"
    RESULTS.append((name, ratio, target, detail))
    print(f"{name:<46} {ratio:6.2f}x   target <= {target:.2f}x   {verdict}   {detail}", flush=True)


def alternate(a: Callable[[], None], b: Callable[[], None], rounds: int) -> tuple[float, float]:
    """Median seconds of `a` and of `b`, run alternately so drift hits both alike."""
    times_a, times_b = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        a()
        times_a.append(time.perf_counter() - start)
        start = time.perf_counter()
        b()
        times_b.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the duration; stopped by its PID."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bull_chalice.moto_server", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def checkout_event(session_id: str, product_id: str, email: str, created: int | None = None) -> str:
    """A paid `checkout.session.completed` event as Stripe sends it (JSON text)."""
    import json

    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": 1999,
        "currency": "usd",
        "customer_details": {"email": email},
        "metadata": {"product_id": product_id},
        "payment_intent": f"pi_{session_id}",
        "payment_status": "paid",
    }
    return json.dumps(
        {
            "id": f"evt_{session_id}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()) if created is None else created,
            "data": {"object": session},
        }
    )


def bench_env(moto_url: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
        "BULL_STAGE": "bench",
        "SITE_URL": "http://127.0.0.1:1",
        "SENDER_EMAIL": "store@example.com",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench_" + "0" * 20,
        "LINK_SIGNING_KEY": "bench-link-key-" + "0" * 20,
        # Every bench buyer comes from one address, where real buyers each have their own: the
        # per-client limits stay on (their writes are counted) but never refuse.
        "RATE_LIMIT_CHECKOUT": "100000",
        "RATE_LIMIT_THANKS": "100000",
        "RATE_LIMIT_LIBRARY": "100000",
        "RATE_LIMIT_LICENSES": "100000",
    }


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Run `code` in a fresh interpreter (the project on its path, nothing else inherited)."""
    subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        check=True,
        env={"PATH": "", "PYTHONPATH": str(ROOT), **(env or {})},
    )


def provision(env: dict[str, str]) -> Any:
    """The store's tables, bucket and sender on the moto server, and one product on sale."""
    import boto3

    from bull_chalice import resources
    from chalicelib import store
    from chalicelib.platform import config

    settings = config.get_settings()
    session = boto3.session.Session()
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    resources.create_tables(settings)
    resources.create_bucket(s3, settings)
    resources.verify_sender(session.client("ses", endpoint_url=env["AWS_ENDPOINT_URL"]), settings)
    return resources.add_product(
        store.current().catalog,
        s3,
        settings,
        name="Bench book",
        price_cents=1999,
        filename="book.pdf",
        content=b"%PDF bench",
    )


def use_env(env: dict[str, str]) -> None:
    os.environ.update(env)
    from chalicelib import store

    store.reset()
