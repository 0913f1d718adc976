"""The seller's daily summary (issue 14): a scheduled handler mails yesterday's figures in the
store's timezone, the same numbers as that day's report; an empty day says so; without
NOTIFY_EMAIL nothing is sent."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest

from chalicelib import store
from chalicelib.routes.schedules import DAILY_SUMMARY_AT
from chalicelib.sale.figures import DateRange
from tests.helpers import charge, deliver, fresh_store, sell, sent_emails, stripe_event

SELLER = "seller@example.test"
DAY = "2026-11-20"


def _epoch(day: str, hhmm: str) -> int:
    return int(datetime.fromisoformat(f"{day}T{hhmm}:00+00:00").timestamp())


@pytest.fixture
def notify(aws, monkeypatch, clock):
    monkeypatch.setenv("NOTIFY_EMAIL", SELLER)
    fresh_store(clock)


def _run_summary(client, clock, at: str) -> dict:
    """The scheduled event as EventBridge delivers it, at `at` (UTC)."""
    clock.frozen = datetime.fromisoformat(at).replace(tzinfo=UTC)
    event = client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/bull-dev-daily_summary"],
    )
    answer = client.lambda_.invoke("daily_summary", event)
    return answer.payload


def _summaries() -> list:
    return [
        m
        for m in sent_emails()
        if m.destinations["ToAddresses"] == [SELLER] and "Daily summary" in m.subject
    ]


def _text(body: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def _shown(text: str, label: str) -> str:
    """The value the summary shows after `label:`."""
    return re.search(rf"{re.escape(label)}: (\S+)", text).group(1)


def test_the_summary_runs_every_morning_at_seven_utc():
    assert DAILY_SUMMARY_AT.to_string() == "cron(0 7 * * ? *)"


def test_the_summary_has_the_days_report_numbers_with_a_refund_and_another_currency(
    notify, client, product, clock
):
    sell(client, product.id, session_id="cs_a", payment_intent="pi_a", created=_epoch(DAY, "09:00"))
    sell(client, product.id, session_id="cs_b", payment_intent="pi_b", created=_epoch(DAY, "10:00"))
    sell(
        client,
        product.id,
        session_id="cs_eur",
        payment_intent="pi_eur",
        amount=2500,
        currency="eur",
        created=_epoch(DAY, "11:00"),
    )
    refund = charge(500, intent="pi_a", charge_id="ch_a")
    deliver(client, stripe_event("charge.refunded", refund, created=_epoch(DAY, "15:00")))
    # Another day's sale stays out of this day's summary.
    sell(
        client,
        product.id,
        session_id="cs_c",
        payment_intent="pi_c",
        created=_epoch("2026-11-21", "01:00"),
    )

    assert _run_summary(client, clock, "2026-11-21T07:00:00") == {"sent": True}

    report = store.current().reports.sales(DateRange(date(2026, 11, 20), date(2026, 11, 20)))
    totals = report["totals"]
    assert (totals["orders"], totals["gross_cents"], totals["refunded_cents"]) == (2, 3998, 500)
    [summary] = _summaries()
    text = _text(summary.body)
    assert summary.subject == f"[Bull Store] Daily summary {DAY}: 2 orders, net $34.98"
    assert _shown(text, "Orders") == str(totals["orders"])
    for label, name in (("Gross", "gross"), ("Refunded", "refunded"), ("Net", "net")):
        assert _shown(text, label) == totals[name]
    assert _shown(text, "Disputed (lost)") == totals["disputed"] == "$0.00"
    assert "The Bull Handbook 2 $39.98" in text
    [eur] = report["other_currencies"]
    assert f"EUR {eur['orders']} €25.00 €0.00 €25.00" in text


def test_an_empty_day_says_there_were_no_sales(notify, client, clock):
    assert _run_summary(client, clock, "2026-11-21T07:00:00") == {"sent": True}
    [summary] = _summaries()
    assert summary.subject == f"[Bull Store] Daily summary {DAY}: no sales"
    assert f"Nothing was sold, refunded or disputed on {DAY}." in _text(summary.body)


def test_yesterday_is_the_store_timezones(notify, client, product, clock, monkeypatch):
    monkeypatch.setenv("REPORT_TIMEZONE", "Asia/Tokyo")
    fresh_store(clock)
    # 16:30 UTC on the 19th is 01:30 on the 20th in Tokyo.
    sell(client, product.id, created=_epoch("2026-11-19", "16:30"))
    _run_summary(client, clock, "2026-11-21T07:00:00")  # 16:00 on the 21st in Tokyo
    [summary] = _summaries()
    assert summary.subject.startswith(f"[Bull Store] Daily summary {DAY}: 1 order,")
    assert "Asia/Tokyo" in _text(summary.body)


def test_without_notify_email_the_summary_sends_nothing(client, product, clock):
    sell(client, product.id, created=_epoch(DAY, "09:00"))
    assert _run_summary(client, clock, "2026-11-21T07:00:00") == {"sent": False}
    assert [m.destinations["ToAddresses"] for m in sent_emails()] == [["buyer@example.test"]]


def test_a_product_name_with_markup_is_escaped_in_the_summary(notify, client, product, clock):
    store.current().catalog.update(product.id, {"name": "<script>x</script>"})
    sell(client, product.id, created=_epoch(DAY, "09:00"))
    _run_summary(client, clock, "2026-11-21T07:00:00")
    [summary] = _summaries()
    assert "<script>" not in summary.body and "&lt;script&gt;x&lt;/script&gt;" in summary.body


def test_a_scheduled_event_delivered_twice_mails_one_summary(notify, client, product, clock):
    sell(client, product.id, created=_epoch(DAY, "09:00"))
    assert _run_summary(client, clock, "2026-11-21T07:00:00") == {"sent": True}
    assert _run_summary(client, clock, "2026-11-21T07:00:01") == {"sent": False}
    fresh_store(clock)  # another Lambda container
    assert _run_summary(client, clock, "2026-11-21T07:05:00") == {"sent": False}
    assert len(_summaries()) == 1
    # The next morning's is a new day.
    assert _run_summary(client, clock, "2026-11-22T07:00:00") == {"sent": True}
    assert len(_summaries()) == 2


def test_a_summary_ses_failed_to_send_is_sent_by_lambdas_retry(
    notify, client, product, clock, monkeypatch
):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.platform import aws

    sell(client, product.id, created=_epoch(DAY, "09:00"))
    ses = aws.ses_brief_client()
    real = ses.send_email

    def down(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    monkeypatch.setattr(ses, "send_email", down)
    with pytest.raises(Exception, match="could not be mailed"):
        _run_summary(client, clock, "2026-11-21T07:00:00")
    assert _summaries() == []

    monkeypatch.setattr(ses, "send_email", real)
    assert _run_summary(client, clock, "2026-11-21T07:01:00") == {"sent": True}
    assert len(_summaries()) == 1
