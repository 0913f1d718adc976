"""The contention layer refuses what DynamoDB refuses under contention, and only that."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.harness.contention import ContendedDynamoDB, contended

TABLE = "figures"


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
        )
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "month", "KeyType": "HASH"},
                {"AttributeName": "day", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "month", "AttributeType": "S"},
                {"AttributeName": "day", "AttributeType": "S"},
            ],
        )
        yield client


def _key(day: str, month: str = "2026-11") -> dict[str, Any]:
    return {"month": {"S": month}, "day": {"S": day}}


def _add_one(day: str, month: str = "2026-11") -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": _key(day, month),
            "UpdateExpression": "ADD orders :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _orders(client: Any, day: str) -> int:
    item = client.get_item(TableName=TABLE, Key=_key(day), ConsistentRead=True).get("Item")
    return int(item["orders"]["N"]) if item else 0


def _in_background(layer: ContendedDynamoDB, work: Any) -> tuple[threading.Thread, list[Any]]:
    """Start `work` in a thread and return once its transaction holds its items."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except ClientError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while layer.in_flight() == 0:
        assert time.monotonic() < deadline, "the first transaction never started"
        time.sleep(0.001)
    return thread, outcome


def test_a_transaction_touching_an_item_another_transaction_holds_is_cancelled_as_a_conflict(
    dynamodb,
):
    with contended(ContendedDynamoDB(hold=0.5)) as layer:
        first, outcome = _in_background(
            layer, lambda: dynamodb.transact_write_items(TransactItems=[_add_one("2026-11-24")])
        )
        with pytest.raises(ClientError) as refused:
            dynamodb.transact_write_items(
                TransactItems=[_add_one("2026-11-25"), _add_one("2026-11-24")]
            )
        first.join()

    error = refused.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "TransactionConflict"]
    assert not isinstance(outcome[0], ClientError)
    assert (_orders(dynamodb, "2026-11-24"), _orders(dynamodb, "2026-11-25")) == (1, 0)
    assert layer.stats["transaction_conflicts"] == 1


def test_a_plain_write_to_an_item_a_transaction_holds_fails_and_the_sdk_does_not_retry_it(
    dynamodb,
):
    with contended(ContendedDynamoDB(hold=0.5)) as layer:
        first, _ = _in_background(
            layer, lambda: dynamodb.transact_write_items(TransactItems=[_add_one("2026-11-24")])
        )
        with pytest.raises(ClientError) as refused:
            dynamodb.update_item(**_add_one("2026-11-24")["Update"])
        dynamodb.update_item(**_add_one("2026-11-25")["Update"])  # another item: fine
        first.join()

    assert refused.value.response["Error"]["Code"] == "TransactionConflictException"
    assert refused.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert (_orders(dynamodb, "2026-11-24"), _orders(dynamodb, "2026-11-25")) == (1, 1)
    assert layer.stats["write_conflicts"] == 1


def test_transactions_on_different_items_overlap_and_both_commit(dynamodb):
    with contended(ContendedDynamoDB(hold=0.3)) as layer:
        first, outcome = _in_background(
            layer, lambda: dynamodb.transact_write_items(TransactItems=[_add_one("2026-11-24")])
        )
        dynamodb.transact_write_items(TransactItems=[_add_one("2026-11-25")])
        first.join()

    assert not isinstance(outcome[0], ClientError)
    assert (_orders(dynamodb, "2026-11-24"), _orders(dynamodb, "2026-11-25")) == (1, 1)
    assert layer.stats["max_in_flight"] == 2


def test_a_transaction_after_the_holder_commits_goes_through(dynamodb):
    with contended(ContendedDynamoDB(hold=0.001)):
        for _ in range(3):
            dynamodb.transact_write_items(TransactItems=[_add_one("2026-11-24")])

    assert _orders(dynamodb, "2026-11-24") == 3


def _put_ten_kb(client: Any, day: str, month: str = "2026-11") -> None:
    item = {**_key(day, month), "blob": {"S": "x" * 10_000}}  # 10 write units
    client.put_item(TableName=TABLE, Item=item)


def test_a_partition_past_1000_write_units_a_second_is_throttled_until_the_second_passes(
    dynamodb, clock
):
    with contended(ContendedDynamoDB(clock=clock)) as layer:
        for n in range(100):  # 100 x 10 units = the partition's 1,000 a second
            _put_ten_kb(dynamodb, f"2026-11-24#{n}")
        with pytest.raises(ClientError) as throttled:
            _put_ten_kb(dynamodb, "2026-11-24#100")
        _put_ten_kb(dynamodb, "2026-12-01#0", month="2026-12")  # another partition: fine
        clock.now += 1.0
        _put_ten_kb(dynamodb, "2026-11-24#100")

    error = throttled.value.response
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error["ThrottlingReasons"][0]["reason"] == "TableWriteKeyRangeThroughputExceeded"
    assert error["ResponseMetadata"]["RetryAttempts"] == 2  # the SDK retried it, in vain
    assert layer.stats["throttled"] == 3


def test_a_transactional_write_takes_twice_the_write_units(dynamodb, clock):
    def put(n: int) -> dict[str, Any]:
        item = {**_key(f"2026-11-24#{n}"), "blob": {"S": "x" * 10_000}}
        return {"Put": {"TableName": TABLE, "Item": item}}

    with contended(ContendedDynamoDB(clock=clock, hold=0)):
        for n in range(50):  # 50 x 2 x 10 units = 1,000
            dynamodb.transact_write_items(TransactItems=[put(n)])
        with pytest.raises(ClientError) as throttled:
            dynamodb.transact_write_items(TransactItems=[put(50)])

    error = throttled.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["ThrottlingError"]
    assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 50


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item={**_key("2026-11-24"), "orders": {"N": "5"}})
    refused_condition = {
        "Update": {
            **_add_one("2026-11-25")["Update"],
            "ConditionExpression": "attribute_exists(orders)",
        }
    }
    with contended(ContendedDynamoDB(hold=0)), pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _add_one("2026-11-24"),
                {"Put": {"TableName": TABLE, "Item": _key("2026-11-26")}},
                refused_condition,
            ]
        )

    reasons = refused.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "ConditionalCheckFailed"]
    assert _orders(dynamodb, "2026-11-24") == 5
    assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 1
