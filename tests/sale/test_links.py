"""The private link: a free landing page, and a button that takes one of a few downloads."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib.platform.tables import DownloadLink
from chalicelib.sale.links import download_log
from tests.conftest import checkout_session, deliver, sent_emails, stripe_event


@pytest.fixture
def token(client, product) -> str:
    """The token of a fresh link with 5 downloads, as mailed to the buyer."""
    payload = stripe_event("checkout.session.completed", checkout_session(product_id=product.id))
    assert deliver(client, payload).status_code == 200
    match = re.search(r"/download/([A-Za-z0-9_-]{43})", sent_emails()[0].body)
    return match.group(1)


def _left() -> int:
    return next(iter(DownloadLink.scan())).downloads_left


def test_landing_page_shows_product_downloads_left_and_expiry(client, token):
    response = client.http.get(f"/download/{token}")
    assert response.status_code == 200
    body = response.body.decode()
    assert "The Bull Handbook" in body and "5 downloads left" in body
    assert 'method="post"' in body
    assert f'action="https://store.example.test/download/{token}"' in body


def test_landing_page_takes_no_download(client, token):
    for _ in range(10):
        assert client.http.get(f"/download/{token}").status_code == 200
    assert _left() == 5


def test_download_redirects_to_a_short_lived_attachment_url(client, token):
    response = client.http.post(f"/download/{token}", headers={"User-Agent": "pytest-buyer"})
    assert response.status_code == 303
    url = urlparse(response.headers["Location"])
    query = parse_qs(url.query)
    assert url.path.endswith("/bull-handbook.pdf")
    assert 0 < int(query["X-Amz-Expires"][0]) <= 300
    assert query["response-content-disposition"] == ['attachment; filename="bull-handbook.pdf"']
    assert _left() == 4


def test_each_download_is_logged_with_time_hashed_ip_and_user_agent(client, token):
    client.http.post(f"/download/{token}", headers={"User-Agent": "pytest-buyer"})
    (entry,) = download_log(next(iter(DownloadLink.scan())))
    assert entry.user_agent == "pytest-buyer"
    assert abs(entry.at.timestamp() - time.time()) < 60


def test_five_downloads_then_410_that_says_why(client, token):
    statuses = [client.http.post(f"/download/{token}").status_code for _ in range(6)]
    assert statuses == [303] * 5 + [410]
    gone = client.http.post(f"/download/{token}")
    assert "all of its downloads" in gone.body.decode()
    assert "store@example.test" in gone.body.decode()
    assert _left() == 0


def test_twenty_concurrent_downloads_with_five_left_give_exactly_five(client, token):
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(
            pool.map(lambda _: client.http.post(f"/download/{token}").status_code, range(20))
        )
    assert sorted(statuses) == [303] * 5 + [410] * 15
    assert _left() == 0
    assert len(download_log(next(iter(DownloadLink.scan())))) == 5


def test_identical_downloads_in_the_same_instant_are_logged_apart(client, token, clock):
    clock.freeze()
    for _ in range(2):
        client.http.post(f"/download/{token}", headers={"User-Agent": "same-browser"})
    log = download_log(next(iter(DownloadLink.scan())))
    assert [entry.user_agent for entry in log] == ["same-browser", "same-browser"]


def test_expired_link_is_410_and_takes_nothing(client, token, clock):
    clock.advance(timedelta(days=31))
    response = client.http.post(f"/download/{token}")
    assert response.status_code == 410
    assert "expired" in response.body.decode()
    assert client.http.get(f"/download/{token}").status_code == 410
    assert _left() == 5


@pytest.mark.parametrize(
    ("state", "words"),
    [("revoked", "turned this link off"), ("refunded", "refunded"), ("on_hold", "under review")],
)
def test_dead_link_says_which_and_takes_nothing(client, token, state, words):
    link = next(iter(DownloadLink.scan()))
    link.update(actions=[DownloadLink.state.set(state)])
    response = client.http.post(f"/download/{token}")
    assert response.status_code == 410
    assert words in response.body.decode()
    assert _left() == 5


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


def test_html_in_product_names_is_escaped_on_the_landing_page(client, token):
    link = next(iter(DownloadLink.scan()))
    link.update(actions=[DownloadLink.product_name.set("<script>alert(1)</script>")])
    body = client.http.get(f"/download/{token}").body.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
