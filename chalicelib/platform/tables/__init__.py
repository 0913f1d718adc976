"""The store's DynamoDB tables, defined once as PynamoDB models.

These classes are the single definition of every table: the app reads and writes through them,
the local stack creates its tables from them, and a test checks `infra/stack.yaml` against them.
Table names, region and endpoint are bound from the stage settings by `bind_models()` on first
use, never at import time.

Money is integer minor units; times are UTC.

The models live one table to a module (`products`, `purchases` with its refund, dispute and
fraud-warning records, `links` with the library's items, `sales`) and `binding` binds them;
this package re-exports them all because it is the schema's public face: import from
`chalicelib.platform.tables`, never from its modules.
"""

from __future__ import annotations

from chalicelib.platform.tables.base import ON_DEMAND, month_partition
from chalicelib.platform.tables.binding import (
    ALL_MODELS,
    SHARED_MODELS,
    Tables,
    bind_models,
    bind_tables,
)
from chalicelib.platform.tables.links import (
    DownloadLink,
    LibraryToken,
    License,
    MailAllowance,
    RateCount,
    UnknownSession,
)
from chalicelib.platform.tables.products import ListedProductsIndex, Product
from chalicelib.platform.tables.purchases import (
    DisputeRecord,
    EmailIndex,
    FraudWarning,
    PaymentIntentIndex,
    Purchase,
    RecentIndex,
    RefundRecord,
)
from chalicelib.platform.tables.sales import DailySales

__all__ = [
    "ALL_MODELS",
    "ON_DEMAND",
    "SHARED_MODELS",
    "DailySales",
    "DisputeRecord",
    "DownloadLink",
    "EmailIndex",
    "FraudWarning",
    "LibraryToken",
    "License",
    "ListedProductsIndex",
    "MailAllowance",
    "PaymentIntentIndex",
    "Product",
    "Purchase",
    "RateCount",
    "RecentIndex",
    "RefundRecord",
    "Tables",
    "UnknownSession",
    "bind_models",
    "bind_tables",
    "month_partition",
]
