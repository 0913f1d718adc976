"""Scheduled handlers: what runs on a clock rather than on a request. Chalice deploys each as
its own Lambda function with an EventBridge rule, the stage's environment and a role of its own
with the stage's hand-written policy (`iam_policy_file`).

They sit on a blueprint of their own, registered by `app.py` beside the routes': a blueprint's
handler is deployed as `<blueprint module>.<function>`, so it must live in that module."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron

from chalicelib import store

bp = Blueprint(__name__)

# Every day at 07:00 UTC (EventBridge rules run in UTC): the last whole day in the store's
# timezone (`REPORT_TIMEZONE`) is then over, wherever the store is.
DAILY_SUMMARY_AT = Cron(0, 7, "*", "*", "?", "*")


@bp.schedule(DAILY_SUMMARY_AT, name="daily_summary", description="The seller's daily summary")
def daily_summary(event: Any) -> dict[str, bool]:
    """Mail `NOTIFY_EMAIL` yesterday's figures (store timezone); nothing when it is unset.

    Returns `{"sent": bool}` (false too when that day's summary was already sent: EventBridge
    may deliver an event twice). Raises Unavailable when the sales cannot be read or SES
    failed (nothing was sent; Lambda retries the event).
    """
    return {"sent": store.current().notices.daily_summary()}
