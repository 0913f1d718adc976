"""What a sale costs: N purchases end to end through the store against moto (checkout through
the Stripe stand-in, the signed `checkout.session.completed` webhook with its receipt, the
thanks page, the link's landing page, one download and the buyer's GET of the file), every AWS
call counted by service and operation with botocore's `before-parameter-build`/`after-call`
hooks on the store's one session, each invocation's handler time measured, and DynamoDB's
request units computed from item sizes by AWS's documented rules; then priced from
`bench/prices.py` and set beside Gumroad's and Lemon Squeezy's fees on the same sale.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections import Counter
from typing import Any

import stripe

from bench import prices
from bench.common import bench_env, moto_server, provision, use_env

FILE_MB = 25  # the download priced: a 25 MB e-book/zip (moto's copy is a few bytes)
MEMORY_MB = 128  # the function's memory (Chalice's default; sam.json MemorySize)
SALE_PRICE = 19.99


def item_size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB bills it: names plus values (strings in UTF-8, numbers
    about one byte per two digits plus one, binary as is, 3 bytes plus one per element for
    lists and maps, 1 byte for booleans and nulls)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in (item or {}).items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return math.ceil(len(data.strip("-").replace(".", "").lstrip("0") or "0") / 2) + 1
    if kind == "B":
        return len(data if isinstance(data, bytes) else base64.b64decode(data))
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())
    return 1  # BOOL, NULL


class Meter:
    """Counts the AWS calls made while `on`, and the DynamoDB request units they consume:
    writes 1 unit per KB (the item after the write; 2 per KB in a transaction, a failed
    condition 1), reads 1 per 4 KB strongly consistent, half that eventually consistent."""

    def __init__(self, session: Any, lookup: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.by_step: Counter[tuple[str, str]] = Counter()  # (step, call) -> count
        self.step = ""
        self.wru = 0.0
        self.rru = 0.0
        self.on = False
        self._lookup = lookup  # (table, key) -> the item now, read outside the meter
        session.register("before-parameter-build", self._stash)
        session.register("after-call", self._record)

    def _stash(self, params: Any, model: Any, context: Any, **_: Any) -> None:
        context["bench_params"] = dict(params)

    def _record(self, parsed: Any, model: Any, context: Any, **_: Any) -> None:
        if not self.on:
            return
        service = model.service_model.service_name
        self.calls[f"{service}:{model.name}"] += 1
        self.by_step[(self.step, f"{service}:{model.name}")] += 1
        if service == "dynamodb":
            self._units(model.name, context.get("bench_params") or {}, parsed or {})

    def _written(self, table: str, key: dict[str, Any], new: dict[str, Any] | None) -> int:
        size = item_size(new if new is not None else self._lookup(table, key))
        return max(1, math.ceil(size / 1024))

    def _units(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        failed = "Error" in parsed
        half = 0.5 if not params.get("ConsistentRead") else 1.0
        if operation == "GetItem":
            self.rru += half * max(1, math.ceil(item_size(parsed.get("Item")) / 4096))
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items") or [])
            self.rru += half * max(1, math.ceil(size / 4096))
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table, key = params["TableName"], params.get("Key")
            whole = params.get("ReturnValues") == "ALL_NEW" and parsed.get("Attributes")
            new = params.get("Item") or whole or None
            self.wru += 1 if failed else self._written(table, key, new)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, action),) = entry.items()
                if failed or kind in ("ConditionCheck", "Delete"):
                    self.wru += 2
                else:
                    table, key = action["TableName"], action.get("Key")
                    self.wru += 2 * self._written(table, key, action.get("Item"))
        elif operation == "TransactGetItems":
            for item in parsed.get("Responses") or []:
                self.rru += 2 * max(1, math.ceil(item_size(item.get("Item")) / 4096))


class Sale:
    """One buyer's path through the store, each request an invocation timed in-process."""

    def __init__(self, client: Any, standin: Any, product_id: str, secret: str, meter: Meter):
        self.client, self.standin, self.meter = client, standin, meter
        self.product_id, self.secret = product_id, secret
        self.durations: list[float] = []

    def _timed(self, method: str, path: str, **kwargs: Any) -> Any:
        self.meter.step = f"{method} /{path.split('?')[0].split('/')[1]}"
        started = time.perf_counter()
        answer = self.client.http.request(method, path, **kwargs)
        self.durations.append(time.perf_counter() - started)
        return answer

    def run(self, n: int) -> str:
        """Buy, get the receipt, see the thanks page and the link, download; the file's URL."""
        import requests

        form = {"Content-Type": "application/x-www-form-urlencoded"}
        email = f"buyer{n}@example.com"
        answer = self._timed(
            "POST", f"/checkout/{self.product_id}", headers=form, body=f"email={email}".encode()
        )
        assert answer.status_code == 303, answer.body
        session = list(self.standin.sessions.values())[-1]
        self.standin.complete_payment(session, email)  # the buyer pays on Stripe's page
        ((event_type, paid),) = self.standin.delivered[-1:]
        payload = json.dumps(
            {
                "id": f"evt_{n}",
                "object": "event",
                "type": event_type,
                "created": int(time.time()),
                "data": {"object": paid},
            }
        )
        header = stripe.WebhookSignature.generate_signature_header(payload, self.secret)
        answer = self._timed(
            "POST",
            "/webhooks/stripe",
            body=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
        )
        assert answer.status_code == 200, answer.body
        answer = self._timed("GET", f"/thanks?session_id={session['id']}")
        assert answer.status_code == 200, answer.body
        token = _link_token(session["id"])
        assert self._timed("GET", f"/download/{token}").status_code == 200
        answer = self._timed("POST", f"/download/{token}", headers={"User-Agent": "bench"})
        assert answer.status_code == 303, answer.body
        assert requests.get(answer.headers["Location"], timeout=30).status_code == 200
        return answer.headers["Location"]


def _link_token(session_id: str) -> str:
    from chalicelib import store

    return store.current().link_policy().token(session_id, 1)


def measure(sales: int) -> tuple[Meter, list[float]]:
    """Run `sales` purchases against a moto server and the stand-in; the meter and every
    invocation's duration (seconds)."""
    import logging

    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the stand-in's request log
    from chalice.test import Client

    from bull_chalice.standin.server import StandIn, StandInServer
    from chalicelib.platform import aws

    with moto_server() as moto_url:
        env = bench_env(moto_url)
        standin_server = StandInServer(
            StandIn("http://127.0.0.1:9/unused", env["STRIPE_WEBHOOK_SECRET"]), 0
        ).start()
        standin = standin_server.standin
        standin.delivered = []
        standin.deliver = lambda kind, obj: standin.delivered.append((kind, obj)) or 200
        try:
            use_env({**env, "STRIPE_API_BASE": standin_server.url})
            bare = boto3.client("dynamodb", endpoint_url=moto_url)
            meter = Meter(
                aws.botocore_session(),
                lambda table, key: bare.get_item(TableName=table, Key=key, ConsistentRead=True).get(
                    "Item"
                ),
            )
            product = provision(env)
            from app import app

            with Client(app, stage_name="bench") as client:
                secret = env["STRIPE_WEBHOOK_SECRET"]
                Sale(client, standin, product.id, secret, meter).run(0)  # warm
                sale = Sale(client, standin, product.id, secret, meter)
                meter.on = True
                for n in range(1, sales + 1):
                    sale.run(n)
                meter.on = False
        finally:
            standin_server.stop()
    return meter, sale.durations


def priced(meter: Meter, durations: list[float], sales: int) -> dict[str, float]:
    """Dollars per sale, by service."""
    p = prices.AWS
    invocations = len(durations) / sales
    billed_ms = sum(math.ceil(d * 1000) for d in durations) / sales  # Lambda bills per 1 ms
    ses = sum(v for k, v in meter.calls.items() if k.startswith("ses:Send")) / sales
    return {
        "Lambda requests": invocations * p["lambda_per_request"],
        "Lambda duration": billed_ms / 1000 * MEMORY_MB / 1024 * p["lambda_per_gb_second"],
        "API Gateway REST": invocations * p["apigateway_rest_per_request"],
        "DynamoDB writes": meter.wru / sales * p["dynamodb_per_wru"],
        "DynamoDB reads": meter.rru / sales * p["dynamodb_per_rru"],
        "SES": ses * p["ses_per_email"],
        "S3 GET (buyer's download)": p["s3_per_get"],
        f"S3 transfer out ({FILE_MB} MB)": FILE_MB / 1024 * p["s3_transfer_out_per_gb"],
    }


def run(sales: int = 20) -> None:
    meter, durations = measure(sales)
    costs = priced(meter, durations, sales)
    per_call = {k: round(v / sales, 2) for k, v in sorted(meter.calls.items())}
    ms = sorted(d * 1000 for d in durations)
    print(f"cost per sale ({sales} sales against moto, prices read {prices.READ_ON}):")
    print(f"  AWS calls per sale: {per_call}")
    for (step, call), count in sorted(meter.by_step.items()):
        print(f"    {step:24s} {call:34s} {count / sales:.2f}")
    print(
        f"  invocations per sale {len(durations) / sales:.0f}, handler ms median "
        f"{ms[len(ms) // 2]:.1f}, max {ms[-1]:.1f}; DynamoDB per sale "
        f"{meter.wru / sales:.1f} WRU, {meter.rru / sales:.1f} RRU"
    )
    for name, dollars in costs.items():
        print(f"  {name:32s} ${dollars:.7f}")
    aws_total = sum(costs.values())
    card = prices.STRIPE.on(SALE_PRICE)
    print(
        f"  {'AWS total':32s} ${aws_total:.6f}  (without the file transfer "
        f"${aws_total - costs[f'S3 transfer out ({FILE_MB} MB)']:.6f})"
    )
    print(
        f"on a ${SALE_PRICE} sale: Stripe {prices.STRIPE.percent}% + "
        f"${prices.STRIPE.fixed:.2f} = ${card:.2f} in every case where the seller pays it"
    )
    print(f"  {'Bull (AWS + Stripe)':32s} ${aws_total + card:.2f}")
    for fee in prices.PLATFORMS:
        total = fee.on(SALE_PRICE) + (0 if fee.includes_card else card)
        print(
            f"  {fee.name + ' (' + str(fee.percent) + '% + $' + format(fee.fixed, '.2f') + ')':32s}"
            f" ${total:.2f}  ({fee.note})"
        )
