"""Selling like the hosted platforms (issue 13): pay what you want, promotion codes, Stripe Tax
and Managed Payments, each a store setting off by default. The amounts a buyer may type are
checked before any Stripe call; the session parameters are Stripe's documented ones, and the
Stripe stand-in refuses what Stripe would refuse."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import boto3
import pytest

from bull_chalice import resources
from bull_chalice.standin.checks import session_refusal
from chalicelib import store
from chalicelib.money import parse_amount, plain_amount
from chalicelib.platform import config
from chalicelib.platform.tables import Purchase
from tests.helpers import (
    REGION,
    buy,
    deliver,
    fresh_store,
    page_message,
    rows,
    sent_emails,
    stripe_event,
)

FORM = "application/x-www-form-urlencoded"


def _pwyw(minimum: int = 500, suggested: int = 1500, name: str = "Zine") -> object:
    """A pay-what-you-want product on sale in the store's currency."""
    product = resources.add_product(
        store.current().catalog,
        boto3.client("s3", region_name=REGION),
        config.get_settings(),
        name=name,
        price_cents=suggested,
        filename="zine.pdf",
        content=b"%PDF zine",
    )
    return store.current().catalog.update(product.id, {"min_price_cents": minimum})


def _code(answer) -> str:
    """The error code the storefront gives beside the amount field."""
    found = re.search(r'role="alert" data-code="([a-z_]+)"', answer.body.decode())
    assert found, answer.body[:300]
    return found.group(1)


def _checkout_json(client, product_id, body):
    return client.http.post(
        f"/checkout/{product_id}",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


# -- pay what you want ---------------------------------------------------------------------------


def test_a_buyer_pays_what_they_want_above_the_minimum(shop, client):
    zine = _pwyw()
    response = buy(client, zine.id, "amount=12.34&email=buyer%40example.test")
    assert response.status_code == 303
    (session,) = shop.sessions.values()
    assert session["amount_total"] == 1234 and session["_unit_amount"] == 1234


def test_without_an_amount_the_suggested_price_is_charged(shop, client):
    zine = _pwyw()
    assert buy(client, zine.id).status_code == 303
    assert next(iter(shop.sessions.values()))["amount_total"] == 1500


def test_exactly_the_minimum_and_the_largest_charge_are_taken(shop, client):
    zine = _pwyw()
    assert buy(client, zine.id, "amount=5.00").status_code == 303
    assert buy(client, zine.id, "amount=999999.99").status_code == 303
    totals = sorted(s["amount_total"] for s in shop.sessions.values())
    assert totals == [500, 99_999_999]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("4.99", "amount_too_low"),  # below the minimum
        ("0", "amount_too_low"),
        ("-20", "bad_amount"),  # negative
        ("1e3", "bad_amount"),  # a float string with an exponent
        ("1E3", "bad_amount"),
        ("NaN", "bad_amount"),
        ("Infinity", "bad_amount"),
        ("0x10", "bad_amount"),
        ("12.", "bad_amount"),
        (".5", "bad_amount"),
        (" 7.50 x", "bad_amount"),
        ("7,50", "bad_amount"),  # another currency's format
        ("1.500,00", "bad_amount"),
        ("1,500.00", "bad_amount"),
        ("19.999", "bad_amount"),  # more decimals than USD has
        ("\uff11\uff12", "bad_amount"),  # full-width digits
        ("", "bad_amount"),
        ("1000000.00", "amount_too_high"),  # over Stripe's largest charge
        ("99999999999", "amount_too_high"),
        ("9" * 40, "bad_amount"),  # absurdly long
    ],
)
def test_an_amount_a_malicious_client_sends_is_400_and_no_stripe_call(shop, client, amount, code):
    zine = _pwyw()
    answer = _checkout_json(client, zine.id, {"amount": amount})
    assert answer.status_code == 400 and page_message(answer)
    form = buy(client, zine.id, "amount=" + quote(amount))
    assert form.status_code == 400
    assert _code(form) == code and page_message(form)
    assert shop.sessions == {}  # Stripe was never asked


@pytest.mark.parametrize("amount", [7.5, 750, True, None, ["7.50"], {"v": 1}])
def test_an_amount_that_is_not_text_is_refused(shop, client, amount):
    zine = _pwyw()
    answer = _checkout_json(client, zine.id, {"amount": amount})
    if amount is None:  # JSON null: no amount, the suggested price
        assert answer.status_code == 303
        return
    assert answer.status_code == 400 and page_message(answer).startswith("Type the amount")
    assert shop.sessions == {}


def test_the_storefront_offers_the_amount_field_prefilled_and_keeps_a_wrong_one(shop, client):
    zine = _pwyw()
    page = client.http.get("/").body.decode()
    assert 'name="amount"' in page and 'value="15.00"' in page
    assert "$5.00 or more" in page
    answer = buy(client, zine.id, "amount=1.500%2C00")
    body = answer.body.decode()
    assert 'value="1.500,00"' in body and 'aria-invalid="true"' in body
    assert page_message(answer).startswith("Type the amount with digits and a point")


def test_a_fixed_price_product_ignores_an_amount(shop, client, product):
    assert buy(client, product.id, "amount=0.01").status_code == 303
    assert next(iter(shop.sessions.values()))["amount_total"] == 1999


def test_get_products_adds_min_price_cents_for_pay_what_you_want_only(shop, client, product):
    zine = _pwyw()
    listed = {p["id"]: p for p in json.loads(client.http.get("/products").body)["products"]}
    assert listed[zine.id]["min_price_cents"] == 500 and listed[zine.id]["price_cents"] == 1500
    assert "min_price_cents" not in listed[product.id]


@pytest.fixture
def yen_shop(yen, stripe_api, client):
    return stripe_api


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("15.5", 400, "bad_amount"),  # yen has no decimals
        ("1500.00", 400, "bad_amount"),
        ("1,500", 400, "bad_amount"),
        ("499", 400, "amount_too_low"),
        ("100000000", 400, "amount_too_high"),  # over ¥99,999,999
        ("99999999", 303, None),
        ("1500", 303, None),
    ],
)
def test_yen_amounts_are_whole_yen(yen_shop, client, amount, status, code):
    zine = _pwyw(minimum=500, suggested=1000)
    answer = _checkout_json(client, zine.id, {"amount": amount})
    assert answer.status_code == status
    if code:
        assert _code(buy(client, zine.id, f"amount={quote(amount)}")) == code
        assert yen_shop.sessions == {}
    else:
        (session,) = yen_shop.sessions.values()
        assert session["amount_total"] == int(amount) and session["currency"] == "jpy"


def test_plain_amount_is_parse_amounts_inverse():
    for cents in (0, 5, 50, 1999, 99_999_999):
        assert parse_amount(plain_amount(cents, "usd"), "usd", plain=True) == cents
        assert parse_amount(plain_amount(cents, "jpy"), "jpy", plain=True) == cents


# -- the seller sets it ------------------------------------------------------------------------


def test_the_catalog_keeps_the_minimum_at_most_the_suggested_price(aws):
    from chalicelib.errors import BadRequest

    catalog = store.current().catalog
    with pytest.raises(BadRequest):
        catalog.create(
            name="x", description="", price_cents=500, currency="usd", filename="a.pdf",
            min_price_cents=900,
        )  # fmt: skip
    made = catalog.create(
        name="x", description="", price_cents=900, currency="usd", filename="a.pdf",
        min_price_cents=100, tax_code="txcd_10202000",
    )  # fmt: skip
    assert (made.min_price_cents, made.tax_code) == (100, "txcd_10202000")
    with pytest.raises(BadRequest):
        catalog.update(made.id, {"price_cents": 50})
    with pytest.raises(BadRequest):
        catalog.update(made.id, {"tax_code": "general"})
    cleared = catalog.update(made.id, {"min_price_cents": None, "tax_code": None})
    again = catalog.get(made.id, fresh=True)
    assert cleared.id == again.id and again.min_price_cents is None and again.tax_code is None


def test_the_admin_api_sets_and_clears_the_minimum(client, admin, pool):
    from tests.helpers import send_json

    headers = pool.headers()
    made = send_json(
        client, "POST", "/admin/products", headers,
        {"name": "Zine", "price": "15.00", "min_price": "5", "filename": "zine.pdf"},
    )  # fmt: skip
    assert made.status_code == 201, made.body
    product = json.loads(made.body)["product"]
    assert product["min_price_cents"] == 500 and product["min_price"] == "$5.00"
    bad = send_json(
        client, "POST", "/admin/products", headers,
        {"name": "Zine", "price": "15.00", "min_price": "1e3", "filename": "zine.pdf"},
    )  # fmt: skip
    assert bad.status_code == 400
    changed = send_json(
        client, "PATCH", f"/admin/products/{product['id']}", headers, {"min_price_cents": None}
    )
    assert json.loads(changed.body)["product"]["min_price_cents"] is None


# -- the session parameters of each setting ------------------------------------------------------


def _params(monkeypatch, clock, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    shop = fresh_store(clock)
    product = shop.catalog.list_active()[0]
    return shop.checkout("https://store.example.test").session_params(product, None)


BASE = {
    "mode": "payment",
    "success_url": "https://store.example.test/thanks?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://store.example.test/",
}


def test_by_default_none_of_the_options_is_sent(product, monkeypatch, clock):
    params = _params(monkeypatch, clock)
    assert set(params) == {*BASE, "line_items", "metadata", "payment_intent_data"}
    assert params["line_items"] == [
        {
            "quantity": 1,
            "price_data": {
                "currency": "usd",
                "unit_amount": 1999,
                "product_data": {"name": "The Bull Handbook"},
            },
        }
    ]


def test_promotion_codes_setting(product, monkeypatch, clock):
    params = _params(monkeypatch, clock, ALLOW_PROMOTION_CODES="true")
    assert params["allow_promotion_codes"] is True and "discounts" not in params


@pytest.mark.parametrize("behavior", ["exclusive", "inclusive"])
def test_stripe_tax_setting(product, monkeypatch, clock, behavior):
    params = _params(monkeypatch, clock, STRIPE_TAX="true", TAX_BEHAVIOR=behavior)
    assert params["automatic_tax"] == {"enabled": True}
    assert params["billing_address_collection"] == "required"
    price = params["line_items"][0]["price_data"]
    assert price["tax_behavior"] == behavior
    assert price["product_data"] == {"name": "The Bull Handbook", "tax_code": "txcd_10000000"}


def test_a_products_own_tax_code_is_sent(product, monkeypatch, clock):
    store.current().catalog.update(product.id, {"tax_code": "txcd_10202000"})
    params = _params(monkeypatch, clock, STRIPE_TAX="true")
    assert params["line_items"][0]["price_data"]["product_data"]["tax_code"] == "txcd_10202000"


def test_managed_payments_setting_leaves_tax_to_stripe(product, monkeypatch, clock):
    params = _params(monkeypatch, clock, MANAGED_PAYMENTS="true", STRIPE_TAX="true")
    assert params["managed_payments"] == {"enabled": True}
    assert "automatic_tax" not in params and "tax_behavior" not in str(params)
    assert params["line_items"][0]["price_data"]["product_data"]["tax_code"] == "txcd_10000000"


def test_a_bad_tax_behavior_setting_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("TAX_BEHAVIOR", "sometimes")
    with pytest.raises(config.ConfigError):
        config.load(dict(__import__("os").environ))


@pytest.mark.parametrize(
    "selling",
    [
        {},
        {"ALLOW_PROMOTION_CODES": "true"},
        {"STRIPE_TAX": "true"},
        {"STRIPE_TAX": "true", "TAX_BEHAVIOR": "inclusive", "ALLOW_PROMOTION_CODES": "true"},
        {"MANAGED_PAYMENTS": "true"},
    ],
)
def test_the_stand_in_takes_every_settings_session(
    shop, client, product, monkeypatch, clock, selling
):
    """What the store sends passes the stand-in's check against Stripe's documented
    parameters (the stripe library's SessionCreateParams for its pinned API version)."""
    for name, value in selling.items():
        monkeypatch.setenv(name, value)
    fresh_store(clock)
    answer = buy(client, product.id, "email=buyer%40example.test")
    assert answer.status_code == 303, answer.body


# -- the stand-in refuses what Stripe refuses ------------------------------------------------------


def _form_params(**extra):
    params = {
        "mode": "payment",
        "success_url": "https://x.test/thanks",
        "line_items": [{"quantity": "1", "price_data": {"currency": "usd", "unit_amount": "1999",
                                                        "product_data": {"name": "x"}}}],
    }  # fmt: skip
    params.update(extra)
    return params


def _refusal(params):
    answer = session_refusal(params)
    return None if answer is None else json.loads(answer.get_data())["error"]


def test_the_stand_in_refuses_unknown_parameters():
    assert _refusal(_form_params()) is None
    assert _refusal(_form_params(colour="red"))["param"] == "colour"
    nested = _form_params()
    nested["line_items"][0]["price_data"]["product_data"]["colour"] = "red"
    assert _refusal(nested)["message"] == (
        "Received unknown parameter: line_items[0][price_data][product_data][colour]"
    )
    # `payment_method_types` left Checkout Sessions in 2026-09-30.endive, the pinned version.
    assert _refusal(_form_params(payment_method_types=["card"])) is not None


@pytest.mark.parametrize("amount", ["-1", "100000000", "19.99", "1e3", "abc"])
def test_the_stand_in_refuses_a_unit_amount_out_of_range(amount):
    params = _form_params()
    params["line_items"][0]["price_data"]["unit_amount"] = amount
    assert _refusal(params)["param"] == "line_items[0][price_data][unit_amount]"


def test_the_stand_in_refuses_stripes_conflicts():
    assert _refusal(_form_params(allow_promotion_codes="true", discounts=[{"coupon": "c"}]))
    taxed = {"automatic_tax": {"enabled": "true"}}
    assert _refusal(_form_params(**taxed, customer="cus_1"))["param"] == "automatic_tax[enabled]"
    assert _refusal(_form_params(**taxed, customer="cus_1", customer_update={"address": "auto"}))\
        is None  # fmt: skip
    managed = {"managed_payments": {"enabled": "true"}}
    assert _refusal(_form_params(**taxed, **managed))["param"] == "automatic_tax"
    bad = _form_params()
    bad["line_items"][0]["price_data"]["tax_behavior"] = "sometimes"
    assert _refusal(bad) is not None
    small = _form_params()
    small["line_items"][0]["price_data"]["unit_amount"] = "49"
    assert _refusal(small)["code"] == "amount_too_small"


# -- discounts and tax, paid through the stand-in --------------------------------------------------


def _pay(shop, client, monkeypatch, code=None, email="buyer@example.test"):
    """Pay the one open session on the stand-in's page (with a promotion `code`), its events
    delivered to the store's webhook as Stripe signs them."""
    monkeypatch.setattr(
        shop, "deliver", lambda kind, obj: deliver(client, stripe_event(kind, obj)).status_code
    )
    (session,) = [s for s in shop.sessions.values() if s["status"] == "open"]
    if code:
        assert shop.apply_promotion_code(session, code) == ""
    address = {"country": "US", "postal_code": "94103", "line1": None}
    shop.complete_payment(session, email, address)
    return session


def _itemised(mail) -> dict[str, str]:
    """The receipt's itemised lines (its HTML part, which moto keeps)."""
    return dict(re.findall(r'<span id="([a-z]+)">([^<]*)</span>', mail.body))


def test_a_100_percent_code_fulfils_exactly_once(shop, client, product, monkeypatch, clock):
    monkeypatch.setenv("ALLOW_PROMOTION_CODES", "true")
    fresh_store(clock)
    buy(client, product.id, "email=free%40example.test")
    session = _pay(shop, client, monkeypatch, "FREE100")
    assert session["payment_status"] == "no_payment_required" and session["amount_total"] == 0
    assert session["payment_intent"] is None and shop.charges == {}
    # Stripe delivers again, and the buyer lands on /thanks: still one purchase, one receipt.
    payload = stripe_event("checkout.session.completed", shop._public(session))
    assert deliver(client, payload).status_code == 200
    thanks = client.http.get(f"/thanks?session_id={session['id']}")
    assert thanks.status_code == 200
    (purchase,) = rows(Purchase)
    assert purchase.status == "paid" and int(purchase.amount_cents) == 0
    assert int(purchase.discount_cents) == 1999 and int(purchase.subtotal_cents) == 1999
    (mail,) = sent_emails()
    assert _itemised(mail) == {"subtotal": "$19.99", "discount": "-$19.99", "total": "$0.00"}


def test_a_free_purchase_offers_no_refund(shop, client, product, monkeypatch, clock, admin, pool):
    monkeypatch.setenv("ALLOW_PROMOTION_CODES", "true")
    fresh_store(clock)
    buy(client, product.id, "email=free%40example.test")
    session = _pay(shop, client, monkeypatch, "FREE100")
    path = f"/admin/purchases/{session['id']}"
    view = json.loads(client.http.get(path, headers=pool.headers()).body)["purchase"]
    assert "refund" not in view["actions"] and "resend" in view["actions"]
    refused = client.http.post(f"{path}/refund", headers=pool.headers())
    assert refused.status_code == 409
    assert json.loads(refused.body)["error"]["code"] == "nothing_paid"


def test_a_20_percent_code_is_recorded_shown_and_counted(
    shop, client, product, monkeypatch, clock, admin, pool
):
    monkeypatch.setenv("ALLOW_PROMOTION_CODES", "true")
    fresh_store(clock)
    buy(client, product.id, "email=launch%40example.test")
    _pay(shop, client, monkeypatch, "LAUNCH20")
    (purchase,) = rows(Purchase)
    assert (int(purchase.amount_cents), int(purchase.discount_cents)) == (1599, 400)
    view = json.loads(
        client.http.get(f"/admin/purchases/{purchase.session_id}", headers=pool.headers()).body
    )
    shown = view["purchase"]
    assert (shown["discount_cents"], shown["discount"], shown["amount"]) == (400, "$4.00", "$15.99")
    report = json.loads(client.http.get("/reports", headers=pool.headers()).body)
    assert report["totals"]["discount_cents"] == 400 and report["totals"]["gross_cents"] == 1599


@pytest.mark.parametrize(
    ("behavior", "total", "tax"), [("exclusive", 2199, 200), ("inclusive", 1999, 182)]
)
def test_stand_in_tax_is_recorded_on_the_receipt_and_in_reports(
    shop, client, product, monkeypatch, clock, admin, pool, behavior, total, tax
):
    monkeypatch.setenv("STRIPE_TAX", "true")
    monkeypatch.setenv("TAX_BEHAVIOR", behavior)
    fresh_store(clock)
    buy(client, product.id, "email=taxed%40example.test")
    session = _pay(shop, client, monkeypatch)
    assert session["total_details"]["amount_tax"] == tax and session["amount_total"] == total
    (purchase,) = rows(Purchase)
    assert (int(purchase.amount_cents), int(purchase.tax_cents)) == (total, tax)
    (mail,) = sent_emails()
    shown = f"${tax // 100}.{tax % 100:02d}"
    assert _itemised(mail) == {"subtotal": "$19.99", "tax": shown, "total": f"${total / 100}"}
    report = json.loads(client.http.get("/reports", headers=pool.headers()).body)
    assert report["totals"]["tax_cents"] == tax and report["totals"]["gross_cents"] == total
