"""What every table shares: its billing mode, and the month partition key."""

from __future__ import annotations

from datetime import date, datetime

ON_DEMAND = "PAY_PER_REQUEST"


def month_partition(when: date | datetime) -> str:
    """The partition key of a month (`2026-11`): purchases by month, sales figures by month."""
    return when.strftime("%Y-%m")
