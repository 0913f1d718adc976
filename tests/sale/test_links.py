"""The private link: a free landing page, and a button that takes one of a few downloads."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from botocore.exceptions import ClientError

from chalicelib import store
from chalicelib.platform.tables import DownloadLink
from chalicelib.sale.download_log import download_log
from tests.helpers import Outage, only_link


def test_landing_page_shows_product_downloads_left_and_expiry(client, paid_token):
    response = client.http.get(f"/download/{paid_token}")
    assert response.status_code == 200
    body = response.body.decode()
    assert "The Bull Handbook" in body and "5 downloads left" in body
    assert 'method="post"' in body
    assert f'action="https://store.example.test/download/{paid_token}"' in body


def test_landing_page_takes_no_download(client, paid_token):
    for _ in range(10):
        assert client.http.get(f"/download/{paid_token}").status_code == 200
    assert only_link().downloads_left == 5


def test_download_redirects_to_a_short_lived_attachment_url(client, paid_token):
    response = client.http.post(f"/download/{paid_token}", headers={"User-Agent": "pytest-buyer"})
    assert response.status_code == 303
    url = urlparse(response.headers["Location"])
    query = parse_qs(url.query)
    assert url.path.endswith("/bull-handbook.pdf")
    assert 0 < int(query["X-Amz-Expires"][0]) <= 300
    assert query["response-content-disposition"] == ['attachment; filename="bull-handbook.pdf"']
    assert only_link().downloads_left == 4


def test_each_download_is_logged_with_time_hashed_ip_and_user_agent(client, paid_token):
    client.http.post(f"/download/{paid_token}", headers={"User-Agent": "pytest-buyer"})
    (entry,) = download_log(only_link())
    assert entry.user_agent == "pytest-buyer"
    assert abs(entry.at.timestamp() - time.time()) < 60


def test_five_downloads_then_410_that_says_why(client, paid_token):
    statuses = [client.http.post(f"/download/{paid_token}").status_code for _ in range(6)]
    assert statuses == [303] * 5 + [410]
    gone = client.http.post(f"/download/{paid_token}")
    assert "all of its downloads" in gone.body.decode()
    assert "store@example.test" in gone.body.decode()
    assert only_link().downloads_left == 0


def test_twenty_concurrent_downloads_with_five_left_give_exactly_five(client, paid_token):
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(
            pool.map(lambda _: client.http.post(f"/download/{paid_token}").status_code, range(20))
        )
    assert sorted(statuses) == [303] * 5 + [410] * 15
    assert only_link().downloads_left == 0
    assert len(download_log(only_link())) == 5


def test_identical_downloads_in_the_same_instant_are_logged_apart(client, paid_token, clock):
    clock.freeze()
    for _ in range(2):
        client.http.post(f"/download/{paid_token}", headers={"User-Agent": "same-browser"})
    log = download_log(only_link())
    assert [entry.user_agent for entry in log] == ["same-browser", "same-browser"]


def test_expired_link_is_410_and_takes_nothing(client, paid_token, clock):
    clock.advance(timedelta(days=31))
    response = client.http.post(f"/download/{paid_token}")
    assert response.status_code == 410
    assert "expired" in response.body.decode()
    assert client.http.get(f"/download/{paid_token}").status_code == 410
    assert only_link().downloads_left == 5


@pytest.mark.parametrize(
    ("state", "words"),
    [("revoked", "turned this link off"), ("refunded", "refunded"), ("on_hold", "under review")],
)
def test_dead_link_says_which_and_takes_nothing(client, paid_token, state, words):
    link = only_link()
    link.update(actions=[DownloadLink.state.set(state)])
    response = client.http.post(f"/download/{paid_token}")
    assert response.status_code == 410
    assert words in response.body.decode()
    assert only_link().downloads_left == 5


@pytest.mark.parametrize(
    "path",
    [
        "/download/" + "A" * 43,
        "/download/short",
        "/download/" + "%00" * 3,
        "/download/..%2F..%2Fetc",
        "/download/" + "%E2%98%83" * 2,
        "/download/" + "x" * 500,
    ],
    ids=["unknown", "short", "nul", "dotdot", "unicode", "long"],
)
def test_unknown_or_malformed_token_is_404(client, product, path):
    for method in ("GET", "POST"):
        response = client.http.request(method, path)
        assert response.status_code == 404, (method, path)
        assert b"Traceback" not in response.body


def test_html_in_product_names_is_escaped_on_the_landing_page(client, paid_token):
    link = only_link()
    link.update(actions=[DownloadLink.product_name.set("<script>alert(1)</script>")])
    body = client.http.get(f"/download/{paid_token}").body.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


# -- faults ------------------------------------------------------------------------------------


def test_dynamodb_down_on_download_is_a_clear_page_and_takes_nothing(
    client, paid_token, monkeypatch
):
    Outage(monkeypatch, "UpdateItem", code="InternalServerError")
    page = client.http.post(f"/download/{paid_token}")
    assert page.status_code == 503
    assert "Try again" in page.body.decode() and "InternalServerError" not in page.body.decode()
    assert only_link().downloads_left == 5


def test_presign_failure_gives_the_download_back(client, paid_token, monkeypatch):
    def broken(*args, **kwargs):
        raise ClientError(
            {"Error": {"Code": "ExpiredToken", "Message": "session expired"}}, "GetObject"
        )

    with monkeypatch.context() as patch:
        patch.setattr(store.current().links, "presign", broken)
        page = client.http.post(f"/download/{paid_token}")
    assert page.status_code == 503 and "ExpiredToken" not in page.body.decode()
    assert only_link().downloads_left == 5
    assert client.http.post(f"/download/{paid_token}").status_code == 303
