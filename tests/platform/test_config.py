"""Stage settings: read once from the environment, and a typo fails loudly at load."""

from __future__ import annotations

import pytest

from chalicelib.platform.config import ConfigError, load


def test_defaults_name_the_stages_tables_and_bucket():
    settings = load({"BULL_STAGE": "prod"})
    assert settings.purchases_table == "bull-prod-purchases"
    assert settings.bucket == "bull-prod-products"
    assert settings.report_timezone == "UTC"


def test_a_real_time_zone_is_accepted():
    assert load({"REPORT_TIMEZONE": "Asia/Tokyo"}).report_timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "Europe/Berln", "Europe", "../../etc/passwd", " "]
)
def test_a_mistyped_time_zone_is_named_in_the_error(name):
    with pytest.raises(ConfigError, match="REPORT_TIMEZONE"):
        load({"REPORT_TIMEZONE": name})


@pytest.mark.parametrize(
    ("name", "value"), [("DOWNLOAD_LIMIT", "five"), ("PRESIGN_SECONDS", "900")]
)
def test_numbers_out_of_range_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        load({name: value})


def test_notifications_are_off_without_notify_email_and_on_with_an_address():
    assert load({}).notify_email == ""
    assert load({"NOTIFY_EMAIL": " seller@example.com "}).notify_email == "seller@example.com"


@pytest.mark.parametrize(
    "value", ["seller", "seller@", "a@b", "a b@example.com", "a@example.com,b@example.com"]
)
def test_a_notify_email_that_is_not_one_address_is_refused(value):
    with pytest.raises(ConfigError, match="NOTIFY_EMAIL"):
        load({"NOTIFY_EMAIL": value})
