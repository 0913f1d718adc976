"""A DynamoDB that contends like DynamoDB: a layer over in-process moto for tests and `bench/`.

moto answers one request at a time and never refuses a write for being concurrent, so a design
with a hot item looks fine against it. This layer sits between botocore and moto (it wraps
moto's `BotocoreStubber`, which botocore calls on `before-send` for every attempt, so the SDK's
own retry rules see its answers exactly as they would see DynamoDB's) and does what AWS
documents DynamoDB doing under contention:

- **Transaction conflicts.** "Transaction conflicts can occur [when] a PutItem, UpdateItem, or
  DeleteItem request for an item conflicts with an ongoing TransactWriteItems request that
  includes the same item, [or] an item within a TransactWriteItems request is part of another
  ongoing transaction, [or] an item within a TransactGetItems request is part of an ongoing
  TransactWriteItems ... request." The plain write "fails with a
  TransactionConflictException"; a transaction "fails with a TransactionCanceledException"
  whose `CancellationReasons` name `TransactionConflict` for the item in conflict and `None`
  for the others (developer guide, "Transaction conflict handling in DynamoDB":
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html;
  API reference, `TransactionCanceledException` and `TransactionConflictException`: "Operation
  was rejected because there is an ongoing transaction for the item"). The SDKs retry neither
  (botocore's standard mode retries only the throttling and transient codes in
  `botocore/retries/standard.py`).
- **A transaction takes time.** Each transaction holds its items for `hold` seconds (default
  8 ms, a few single-item latencies: DynamoDB "performs two underlying reads or writes of every
  item in the transaction: one to prepare the transaction and one to commit the transaction")
  before it answers, so concurrent requests really overlap. moto applies it at the start of
  that time, so the wait for moto's one-request-at-a-time turn never counts as holding.
- **Partition throughput.** "Each partition on the table can serve up to 3,000 read request
  units or 1,000 write request units, or a linear combination of both", in on-demand mode too
  (re:Post knowledge center, "on-demand table throttling"; developer guide, "Key range
  throughput exceeded (hot partitions)":
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html).
  A write request unit is one write of up to 1 KB (larger items take one unit per started KB,
  the larger of the item before and after the write), and a transactional write takes two
  ("Capacity management for transactions"). Past 1,000 units in any one-second window on one
  partition key, a plain write fails with `ProvisionedThroughputExceededException` carrying
  `ThrottlingReasons` `TableWriteKeyRangeThroughputExceeded` (the botocore reference of that
  exception; "Diagnosing throttling":
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-diagnosing-workflow.html),
  which the SDK retries with back-off; a transaction is cancelled with the reason
  `ThrottlingError` for the throttled items, which it does not.

What it leaves out: split for heat (DynamoDB may later split a busy partition by sort key; this
layer keeps one partition per partition-key value, the worst case), burst and adaptive capacity,
table-level and account limits, reads, `BatchWriteItem`, and global secondary indexes: a write
also costs units on each index partition it changes (the purchases' `recent-index` is one
partition a month), and DynamoDB throttles the base write when that partition is over its rate
(`IndexWriteKeyRangeThroughputExceeded`). At a launch's 33 sales a second that partition takes
about 100 units a second (a purchase put and two updates), a tenth of its rate.

Use: `with contended(ContendedDynamoDB()) as layer:` inside `moto.mock_aws()`; every DynamoDB
request of every botocore client then passes through `layer`, whose `stats` count what it did.
Harness only: nothing under `chalicelib/` imports it.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

PARTITION_WCU = 1000  # write request units a second one partition serves
KB = 1024
WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_ERROR = "com.amazonaws.dynamodb.v20120810#"
CONFLICT_MESSAGE = "Transaction is ongoing for the item"
THROTTLE_MESSAGE = (
    "Throughput exceeds the current capacity for one or more global secondary indexes or "
    "partitions of your table. DynamoDB is automatically scaling your table or index so please "
    "try again shortly."
)


@dataclass(frozen=True)
class _Write:
    table: str
    key: str  # the item's identity: its key attributes, as canonical JSON
    partition: str  # its partition-key value, as canonical JSON
    units: int  # write request units one (non-transactional) write of it takes


class ContendedDynamoDB:
    """Contention rules in front of moto (see the module's docstring).

    `hold`: seconds a transaction holds its items before it commits. `partition_wcu`: write
    units a second per partition. `clock`/`sleep`: the window's clock and the hold's sleep.
    `stats` counts `transactions`, `writes`, `transaction_conflicts`, `write_conflicts`,
    `throttled` and `max_in_flight` (most transactions in flight at once).
    """

    def __init__(
        self,
        hold: float = 0.008,
        partition_wcu: int = PARTITION_WCU,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hold = hold
        self.partition_wcu = partition_wcu
        self._clock = clock
        self._sleep = sleep
        # moto's backends take no locks, so moto answers one request at a time; the layer's
        # bookkeeping below is kept under the same lock.
        self.lock = threading.RLock()
        # Item identity -> (the transaction holding it, until when). Holds end by the clock,
        # not when the holder's thread next runs, so a busy interpreter never stretches them.
        self._held: dict[str, tuple[str, float]] = {}
        self._flights: dict[str, float] = {}  # transactions in flight -> until when
        self._window: dict[tuple[str, str], deque[tuple[float, int]]] = defaultdict(deque)
        self._schemas: dict[str, tuple[str, str | None]] = {}
        self._sizes: dict[str, int] = {}  # last known size of each item, in bytes
        self.stats: Counter[str] = Counter()

    # -- one request ----------------------------------------------------------------------

    def send(self, operation: str, request: Any, forward: Callable[[], Any]) -> Any:
        """Answer one attempt of a DynamoDB request: an error as DynamoDB would give it, or
        moto's answer (`forward()`); a transaction's items stay held for `hold` seconds after
        moto applied it, before the answer returns."""
        if operation == "TransactWriteItems":
            return self._transaction(request, forward)
        if operation == "TransactGetItems":
            return self._transact_get(request, forward)
        if operation in WRITES:
            return self._write(operation, request, forward)
        with self.lock:
            return forward()

    def in_flight(self) -> int:
        """How many transactions hold their items right now."""
        with self.lock:
            return len(self._flying(self._clock()))

    def _flying(self, now: float) -> dict[str, float]:
        for me in [me for me, until in self._flights.items() if until <= now]:
            del self._flights[me]
        return self._flights

    def _holds(self, key: str, now: float) -> bool:
        held = self._held.get(key)
        if held and held[1] <= now:
            del self._held[key]
            return False
        return held is not None

    def _write(self, operation: str, request: Any, forward: Callable[[], Any]) -> Any:
        body = json.loads(request.body)
        with self.lock:
            write = self._describe(body["TableName"], body.get("Item") or body["Key"], body)
            self.stats["writes"] += 1
            if self._holds(write.key, self._clock()):
                self.stats["write_conflicts"] += 1
                return _error(request, "TransactionConflictException", message=CONFLICT_MESSAGE)
            if not self._take({(write.table, write.partition): write.units}):
                self.stats["throttled"] += 1
                return _throttled(request, write.table)
            answer = forward()
            self._remember(write, operation, body)
            return answer

    def _transaction(self, request: Any, forward: Callable[[], Any]) -> Any:
        """Check, apply and hold, all under the lock; the items stay held for `hold` seconds
        by the clock and the answer returns then. Waiting for moto's turn never counts as
        holding (DynamoDB has no such queue), and the applied write is visible during the hold
        (DynamoDB reads are read-committed: a reader may see it then or not)."""
        body = json.loads(request.body)
        me = uuid.uuid4().hex
        with self.lock:
            writes = [self._transact_item(entry) for entry in body["TransactItems"]]
            self.stats["transactions"] += 1
            now = self._clock()
            held = [self._holds(w.key, now) for w in writes]
            if any(held):
                self.stats["transaction_conflicts"] += 1
                return _cancelled(request, ["TransactionConflict" if h else None for h in held])
            cost: dict[tuple[str, str], int] = defaultdict(int)
            for w in writes:
                cost[(w.table, w.partition)] += 2 * w.units
            over = self._over(cost)
            if over:
                self.stats["throttled"] += 1
                reasons = [
                    "ThrottlingError" if (w.table, w.partition) in over else None for w in writes
                ]
                return _cancelled(request, reasons)
            self._take(cost)
            answer = forward()
            until = self._clock() + self.hold
            for entry, w in zip(body["TransactItems"], writes, strict=True):
                [(action, params)] = entry.items()
                self._remember(w, action, params)
                self._held[w.key] = (me, until)
            flying = self._flying(until - self.hold)
            flying[me] = until
            self.stats["max_in_flight"] = max(self.stats["max_in_flight"], len(flying))
        self._sleep(max(0.0, until - self._clock()))  # the answer takes as long as the hold
        return answer

    def _transact_get(self, request: Any, forward: Callable[[], Any]) -> Any:
        body = json.loads(request.body)
        keys = [
            self._describe(entry["Get"]["TableName"], entry["Get"]["Key"], {}).key
            for entry in body["TransactItems"]
        ]
        with self.lock:
            now = self._clock()
            held = [self._holds(key, now) for key in keys]
            if any(held):
                return _cancelled(request, ["TransactionConflict" if h else None for h in held])
            return forward()

    # -- capacity -------------------------------------------------------------------------

    def _over(self, cost: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
        """The partitions that `cost` more units would take past their one-second limit."""
        now = self._clock()
        over = set()
        for partition, units in cost.items():
            window = self._window[partition]
            while window and window[0][0] <= now - 1.0:
                window.popleft()
            if sum(u for _, u in window) + units > self.partition_wcu:
                over.add(partition)
        return over

    def _take(self, cost: dict[tuple[str, str], int]) -> bool:
        if self._over(cost):
            return False
        now = self._clock()
        for partition, units in cost.items():
            self._window[partition].append((now, units))
        return True

    # -- items ----------------------------------------------------------------------------

    def _transact_item(self, entry: dict[str, Any]) -> _Write:
        [(_, params)] = entry.items()  # Put, Update, Delete or ConditionCheck
        return self._describe(params["TableName"], params.get("Item") or params["Key"], params)

    def _describe(self, table: str, item: dict[str, Any], params: dict[str, Any]) -> _Write:
        hash_name, range_name = self._schema(table)
        key = {name: item[name] for name in (hash_name, range_name) if name}
        identity = json.dumps(key, sort_keys=True)
        size = _size(item) + _size(params.get("ExpressionAttributeValues") or {})
        known = self._sizes.get(f"{table}|{identity}", 0)
        units = max(1, math.ceil(max(size, known) / KB))
        return _Write(table, f"{table}|{identity}", json.dumps(item[hash_name]), units)

    def _remember(self, write: _Write, action: str, params: dict[str, Any]) -> None:
        if action in ("Delete", "DeleteItem"):
            self._sizes.pop(write.key, None)
        elif "Item" in params:
            self._sizes[write.key] = _size(params["Item"])

    def _schema(self, table: str) -> tuple[str, str | None]:
        if table not in self._schemas:
            from moto.backends import get_backend

            with self.lock:
                for region in get_backend("dynamodb")[DEFAULT_ACCOUNT_ID].values():
                    if table in region.tables:
                        found = region.tables[table]
                        self._schemas[table] = (found.hash_key_attr, found.range_key_attr)
                        break
                else:
                    raise KeyError(f"no table {table} in moto")
        return self._schemas[table]


def _size(value: Any) -> int:
    """Bytes of attribute names and values, as DynamoDB counts item size (near enough)."""
    if isinstance(value, dict):
        return sum(len(k.encode()) + _size(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_size(v) for v in value) + 3
    if isinstance(value, str):
        return len(value.encode())
    return 1


def _error(request: Any, code: str, **fields: Any) -> AWSResponse:
    body = json.dumps({"__type": _ERROR + code, **fields})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": uuid.uuid4().hex}
    return AWSResponse(request.url, 400, headers, MockRawResponse(body))


def _cancelled(request: Any, reasons: list[str | None]) -> AWSResponse:
    listed = ", ".join(reason or "None" for reason in reasons)
    messages = {"TransactionConflict": CONFLICT_MESSAGE, "ThrottlingError": THROTTLE_MESSAGE}
    return _error(
        request,
        "TransactionCanceledException",
        Message=f"Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{listed}]",
        CancellationReasons=[
            {"Code": reason, "Message": messages[reason]} if reason else {"Code": "None"}
            for reason in reasons
        ],
    )


def _throttled(request: Any, table: str) -> AWSResponse:
    arn = f"arn:aws:dynamodb:us-east-1:{DEFAULT_ACCOUNT_ID}:table/{table}"
    return _error(
        request,
        "ProvisionedThroughputExceededException",
        message=THROTTLE_MESSAGE,
        ThrottlingReasons=[{"reason": "TableWriteKeyRangeThroughputExceeded", "resource": arn}],
    )


@contextmanager
def contended(layer: ContendedDynamoDB | None = None) -> Iterator[ContendedDynamoDB]:
    """Route every DynamoDB request moto answers in this process through `layer` (a new
    `ContendedDynamoDB` if none), and every other one through its lock (moto answers one at a
    time), until the block ends; use inside `moto.mock_aws()`."""
    layer = layer or ContendedDynamoDB()
    real = BotocoreStubber.__call__

    def call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        def forward() -> Any:
            return real(stubber, event_name, request, **kwargs)

        if not stubber.enabled:
            return forward()
        if not event_name.startswith("before-send.dynamodb."):
            with layer.lock:  # moto: one request at a time, whatever the service
                return forward()
        return layer.send(event_name.rsplit(".", 1)[1], request, forward)

    BotocoreStubber.__call__ = call  # type: ignore[method-assign]
    try:
        with _item_rollback():
            yield layer
    finally:
        BotocoreStubber.__call__ = real  # type: ignore[method-assign]


@contextmanager
def _item_rollback() -> Iterator[None]:
    """moto backs up every table a transaction touches with a deep copy, to roll back a
    cancelled one: O(table) per transaction, so a launch of thousands of sales slows down
    quadratically. Until the block ends, back up the touched items instead and restore them
    when moto cancels (speed only: what commits and what rolls back is unchanged)."""
    import moto.dynamodb.models as models

    real = models.DynamoDBBackend.transact_write_items
    real_copy = models.copy

    class _TablesUncopied:
        @staticmethod
        def deepcopy(value: Any) -> Any:
            return value if isinstance(value, models.Table) else real_copy.deepcopy(value)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        before = []
        for entry in transact_items:
            [(_, op)] = entry.items()
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
            key = op.get("Key") or {n: op["Item"][n] for n in names if n in op.get("Item", {})}
            if len(key) == len(names):
                item = backend.get_item(op["TableName"], key)
                before.append((op["TableName"], key, real_copy.deepcopy(item)))
        try:
            real(backend, transact_items)
        except Exception:
            for table_name, key, item in reversed(before):
                backend.delete_item(table_name, key)
                if item is not None:
                    backend.put_item(table_name, item.to_json()["Attributes"])
            raise

    models.copy = _TablesUncopied  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        models.copy = real_copy
        models.DynamoDBBackend.transact_write_items = real  # type: ignore[method-assign]
