"""The one retry loop: transactions cancelled by a conflict, and plain writes that meet a
transaction in flight, are tried again after a jittered back-off (against the contention
layer, which refuses them as DynamoDB does)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pynamodb.exceptions import PynamoDBException

from chalicelib import store
from chalicelib.platform.tables import DailySales
from chalicelib.platform.transactions import Transactions
from tests.harness.contention import ContendedDynamoDB, contended


@pytest.fixture
def layer(aws: None) -> Iterator[ContendedDynamoDB]:
    with contended(ContendedDynamoDB(hold=0.1)) as layer:
        yield layer


def _hold_in_background(layer: ContendedDynamoDB, tx: Transactions) -> threading.Thread:
    def hold() -> None:
        with tx.write() as write:
            write.update(DailySales("2026-11", "2026-11-24#p"), actions=[DailySales.orders.add(1)])

    thread = threading.Thread(target=hold)
    thread.start()
    deadline = time.monotonic() + 5
    while layer.in_flight() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    return thread


def _add_one() -> None:
    DailySales("2026-11", "2026-11-24#p").update(actions=[DailySales.orders.add(1)])


def test_a_plain_write_meeting_a_transaction_in_flight_lands_after_a_back_off(layer):
    tx = Transactions(store.current().clients.dynamodb)
    holder = _hold_in_background(layer, tx)
    tx.single(_add_one)
    holder.join()

    assert layer.stats["write_conflicts"] >= 1
    assert DailySales.get("2026-11", "2026-11-24#p").orders == 2


def test_a_plain_write_that_keeps_meeting_transactions_gives_up_with_the_conflict(layer):
    waits: list[float] = []
    layer.hold = 1.0
    tx = Transactions(store.current().clients.dynamodb, sleep=waits.append)
    holder = _hold_in_background(layer, tx)
    with pytest.raises(PynamoDBException) as refused:
        tx.single(_add_one)
    holder.join()

    assert refused.value.cause_response_code == "TransactionConflictException"
    assert len(waits) == 3 and waits[0] < waits[1] < waits[2]  # 4 attempts, backing off


def test_a_transaction_cancelled_for_throttling_commits_on_a_later_attempt(aws):
    now = [0.0]

    def wait(seconds: float) -> None:  # the back-off, on the layer's clock: a second passes
        now[0] += 1.0

    def add_one_in_a_transaction() -> None:
        with tx.write() as write:
            write.update(DailySales("2026-11", "2026-11-24#p"), actions=[DailySales.orders.add(1)])

    # A partition of two write units a second: one transactional write (two units) fills it.
    with contended(ContendedDynamoDB(hold=0, partition_wcu=2, clock=lambda: now[0])) as layer:
        tx = Transactions(store.current().clients.dynamodb, sleep=wait)
        for _ in range(2):
            tx.attempt(add_one_in_a_transaction, retry_on=(), failure="not recorded")

    assert layer.stats["throttled"] == 1  # the second was cancelled once, then went through
    assert DailySales.get("2026-11", "2026-11-24#p").orders == 2
