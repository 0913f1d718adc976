"""Limits on what one client can make the store do: per-client windows counted in DynamoDB,
answered 429 with Retry-After, keyed by API Gateway's source IP and never by a header."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from pynamodb.exceptions import UpdateError

from chalicelib import store
from chalicelib.errors import RateLimited
from chalicelib.platform.tables import RateCount
from chalicelib.web.responses import error_boundaries
from tests.helpers import fresh_store, from_ip, requests_per_thread

ONE, OTHER = "203.0.113.7", "198.51.100.23"
LIMIT = 20  # the default checkouts per client a minute


@pytest.fixture(autouse=True)
def one_window(clock):
    """Every count here falls in one window, however long the test takes."""
    clock.freeze_at_window_start()


def checkout(product_id, ip=ONE, headers=None):
    return from_ip(ip, "POST", f"/checkout/{product_id}", headers=headers)


def limit_items():
    return [c for c in RateCount.scan() if c.token_hash.startswith("limit#")]


def test_300_concurrent_checkouts_from_one_client_reach_stripe_at_most_the_limit(
    shop, product, monkeypatch
):
    requests_per_thread(monkeypatch)  # each thread a Lambda container
    clients = [ONE] * 300
    for at in (30, 150, 270):  # the second client's checkouts, in the middle of the flood
        clients.insert(at, OTHER)

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(lambda ip: (ip, checkout(product.id, ip)["statusCode"]), clients))

    statuses = [status for ip, status in answers if ip == ONE]
    assert statuses.count(303) == LIMIT and statuses.count(429) == 300 - LIMIT
    assert [status for ip, status in answers if ip == OTHER] == [303, 303, 303]
    assert len(shop.sessions) == LIMIT + 3  # Stripe saw no more than the limits allow


def test_over_the_limit_a_checkout_is_a_429_page_that_says_when_to_come_back(shop, product, clock):
    now = clock.freeze().replace(second=15, microsecond=0)
    clock.frozen = now
    answers = [checkout(product.id) for _ in range(LIMIT + 1)]
    refused = answers[-1]
    assert [a["statusCode"] for a in answers] == [303] * LIMIT + [429]
    assert refused["headers"]["Retry-After"] == "45"  # the seconds to the minute's end
    assert refused["headers"]["Content-Type"].startswith("text/html")
    assert "Too many requests" in refused["body"] and "try again" in refused["body"]
    assert refused["headers"]["Content-Security-Policy"]
    assert len(shop.sessions) == LIMIT


def test_a_new_window_lets_the_client_check_out_again(shop, product, clock):
    for _ in range(LIMIT):
        checkout(product.id)
    assert checkout(product.id)["statusCode"] == 429
    clock.advance(timedelta(minutes=1))
    assert checkout(product.id)["statusCode"] == 303


def test_a_forged_x_forwarded_for_does_not_change_the_client(shop, product):
    for n in range(LIMIT):
        assert checkout(product.id, headers={"X-Forwarded-For": f"192.0.2.{n}"})["statusCode"]
    forged = checkout(product.id, headers={"X-Forwarded-For": "192.0.2.200", "X-Real-Ip": "x"})
    assert forged["statusCode"] == 429
    assert checkout(product.id, ip=OTHER)["statusCode"] == 303


def test_limits_hold_across_containers(shop, product, clock):
    for _ in range(LIMIT // 2):
        checkout(product.id)
    fresh_store(clock)  # another Lambda container, same table
    for _ in range(LIMIT - LIMIT // 2):
        assert checkout(product.id)["statusCode"] == 303
    assert checkout(product.id)["statusCode"] == 429


def test_limit_items_expire_by_ttl_and_hold_no_address(shop, product, clock):
    checkout(product.id)
    (item,) = limit_items()
    assert item.hits == 1
    assert item.token_hash.startswith("limit#checkout#")
    window_end = int(clock().timestamp()) // 60 * 60 + 60
    assert int(item.purge_at.timestamp()) == window_end
    assert ONE not in item.token_hash
    assert store.current().limiter.client_key(ONE) in item.token_hash


def test_limits_are_set_by_the_environment(shop, product, monkeypatch, clock):
    monkeypatch.setenv("RATE_LIMIT_CHECKOUT", "2")
    fresh_store(clock)
    assert [checkout(product.id)["statusCode"] for _ in range(3)] == [303, 303, 429]


def test_with_dynamodb_down_checkout_lets_buyers_through_and_the_library_refuses(
    shop, product, monkeypatch
):
    def down(*args, **kwargs):
        raise UpdateError("DynamoDB is down")

    monkeypatch.setattr(RateCount, "update", down)
    assert checkout(product.id)["statusCode"] == 303  # fails open: a sale is not lost
    body = b"email=buyer%40example.test"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    asked = from_ip(ONE, "POST", "/library", body=body, headers=form)
    assert asked["statusCode"] == 503  # fails closed: it sends mail


def test_the_library_form_answers_429_past_its_limit(client, monkeypatch, clock):
    monkeypatch.setenv("RATE_LIMIT_LIBRARY", "2")
    fresh_store(clock)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    asks = [
        from_ip(ONE, "POST", "/library", body=b"email=a%40example.test", headers=form)
        for _ in range(3)
    ]
    assert [a["statusCode"] for a in asks] == [200, 200, 429]
    assert int(asks[-1]["headers"]["Retry-After"]) in range(1, 61)


@pytest.mark.parametrize("answers_html", [True, False], ids=["browser route", "API route"])
def test_429_carries_retry_after_with_the_routes_own_body(answers_html, env):
    browser_route, api_route = error_boundaries(lambda: None)
    boundary = browser_route if answers_html else api_route

    @boundary
    def handler():
        raise RateLimited(42)

    answer = handler()
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "42"
    if answers_html:
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "Too many requests" in answer.body
    else:
        error = json.loads(answer.body)["error"]
        assert error["code"] == "rate_limited" and "try again" in error["message"]


def test_the_license_api_answers_429_json_past_its_limit(client, monkeypatch, clock):
    monkeypatch.setenv("RATE_LIMIT_LICENSES", "2")
    fresh_store(clock)
    body = json.dumps({"license_key": "NOPE"}).encode()
    headers = {"Content-Type": "application/json"}
    calls = [
        from_ip(ONE, "POST", f"/licenses/{action}", body=body, headers=headers)
        for action in ("validate", "activate", "deactivate")
    ]
    assert [c["statusCode"] != 429 for c in calls] == [True, True, False]
    refused = calls[-1]
    assert refused["headers"]["Content-Type"] == "application/json"
    assert json.loads(refused["body"])["error"]["code"] == "rate_limited"
    assert int(refused["headers"]["Retry-After"]) in range(1, 61)
    assert (
        from_ip(OTHER, "POST", "/licenses/validate", body=body, headers=headers)["statusCode"]
        != 429
    )


def test_an_ipv6_client_is_its_64_block_so_stepping_through_addresses_does_not_help(shop, product):
    block = [f"2001:db8:7:1:{n:x}::{n + 1:x}" for n in range(LIMIT + 1)]  # one /64
    answers = [checkout(product.id, ip)["statusCode"] for ip in block]
    assert answers == [303] * LIMIT + [429]
    assert checkout(product.id, "2001:db8:7:2::1")["statusCode"] == 303  # the next /64
    for _ in range(LIMIT - 1):
        assert checkout(product.id, ONE)["statusCode"] == 303
    assert checkout(product.id, "::ffff:203.0.113.7")["statusCode"] == 303  # IPv4, mapped...
    assert checkout(product.id, ONE)["statusCode"] == 429  # ...is that IPv4 client
    assert len(shop.sessions) == 2 * LIMIT + 1
