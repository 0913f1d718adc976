"""The dashboard: one script file under the page's nonce policy, and an admin API that sends it
amounts, prices and link states already formatted in each currency's own exponent."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from chalicelib.admin.desk import link_shown
from tests.helpers import sell, send_json

SCRIPT = Path(__file__).parents[2] / "chalicelib" / "web" / "static" / "dashboard.js"


def _create(client, admin, **fields):
    body = {"name": "Field guide", "filename": "guide.pdf", **fields}
    return send_json(client, "POST", "/admin/products", admin, body)


# -- the page and its script -------------------------------------------------------------------


def test_the_page_runs_only_its_script_file_under_the_nonce(client, pool):
    page = client.http.get("/admin")
    body = page.body.decode()
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", policy).group(1)
    script_src = policy.split("script-src")[1].split(";")[0]
    assert "unsafe-inline" not in script_src and "self" not in script_src

    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", body, re.S)
    assert scripts == [""]  # one script, nothing inline
    tag = re.search(r"<script\b[^>]*>", body).group(0)
    version = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]
    assert f'src="https://store.example.test/admin/dashboard.js?v={version}"' in tag
    assert f'nonce="{nonce}"' in tag
    assert 'data-base="https://store.example.test"' in tag
    assert f'data-client-id="{pool.client_id}"' in tag
    assert not re.search(r"\son[a-z]+=", body)  # no inline event handlers either


def test_each_page_view_gets_its_own_nonce(client):
    policies = {client.http.get("/admin").headers["Content-Security-Policy"] for _ in range(2)}
    assert len(policies) == 2


def test_the_script_is_served_as_javascript_with_a_long_cache(client):
    answer = client.http.get("/admin/dashboard.js")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert "max-age=31536000" in answer.headers["Cache-Control"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.body == SCRIPT.read_bytes()


def test_the_script_formats_no_money_itself():
    script = SCRIPT.read_text()
    assert "/ 100" not in script and "NumberFormat" not in script and "price_cents" not in script


# -- what the admin API shows ------------------------------------------------------------------


def test_a_yen_sale_shows_as_yen_in_purchases_and_the_report(yen, client, admin):
    product = json.loads(_create(client, admin, price="1500").body)["product"]
    sell(client, product["id"], amount=1500, currency="jpy")

    [row] = json.loads(client.http.get("/admin/purchases", headers=admin).body)["purchases"]
    assert (row["amount_cents"], row["amount"], row["refunded"]) == (1500, "¥1,500", "¥0")
    assert (row["state"], row["state_label"]) == ("active", "active")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row["created"])

    detail = json.loads(client.http.get(f"/admin/purchases/{row['id']}", headers=admin).body)
    purchase = detail["purchase"]
    assert purchase["amount"] == "¥1,500" and purchase["receipt"].startswith("Sent ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", purchase["expires"])

    report = json.loads(client.http.get("/reports", headers=admin).body)
    assert report["currency"] == "jpy"
    assert (report["totals"]["gross_cents"], report["totals"]["gross"]) == (1500, "¥1,500")
    assert report["totals"]["net"] == "¥1,500" and report["totals"]["refunded"] == "¥0"
    assert report["days"][-1]["gross"] == "¥1,500"
    assert report["products"][0]["gross"] == "¥1,500"
    assert report["axis"] == {
        "top_cents": 2000,
        "labels": ["¥0", "¥500", "¥1,000", "¥1,500", "¥2,000"],
    }


def test_a_dollar_sale_shows_in_dollars_and_the_report_keeps_its_contract_fields(
    client, admin, product
):
    sell(client, product.id)
    [row] = json.loads(client.http.get("/admin/purchases", headers=admin).body)["purchases"]
    assert (row["amount"], row["refunded"]) == ("$19.99", "$0.00")
    report = json.loads(client.http.get("/reports", headers=admin).body)
    assert {"orders", "gross_cents", "refunded_cents", "net_cents"} <= set(report["totals"])
    assert report["totals"]["gross"] == "$19.99"
    assert report["axis"]["labels"] == ["$0", "$5", "$10", "$15", "$20"]
    csv = client.http.get("/reports?format=csv", headers=admin).body.decode()
    assert csv.splitlines()[0].startswith("date,orders,gross_cents,refunded_cents,net_cents")


@pytest.mark.parametrize(
    ("status", "dispute", "link", "shown"),
    [
        ("pending", None, None, "pending"),
        ("failed", None, None, "failed"),
        ("paid", "open", "active", "on_hold"),
        ("paid", "won", "active", "active"),
        ("paid", None, "refunded", "refunded"),
        ("paid", None, "revoked", "revoked"),
        ("paid", None, None, "active"),
    ],
)
def test_the_link_state_the_seller_reads(status, dispute, link, shown):
    assert link_shown(status, dispute, link) == shown
