"""The receipt itemises subtotal, discount, tax and total when a discount or tax applies, in
the text part as in the HTML part; a plain sale shows only the amount paid."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.sale.receipts import Receipt
from chalicelib.web.pages import render


def _receipt(**amounts) -> Receipt:
    return Receipt(
        to="b@example.test",
        product_name="Zine",
        currency=amounts.pop("currency", "usd"),
        link="https://store.example.test/download/x",
        downloads=5,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        session_id="cs_test_1",
        **amounts,
    )


def _both(receipt: Receipt) -> tuple[str, str]:
    context = {"r": receipt, "amount": "shown", "site_name": "Bull", "library": "x"}
    return render("receipt.txt", **context), render("receipt.html", **context)


def test_discount_and_tax_are_itemised_in_text_and_html(env):
    text, page = _both(
        _receipt(amount_cents=1760, subtotal_cents=2000, discount_cents=400, tax_cents=160)
    )
    for line in ("Subtotal: $20.00", "Discount: -$4.00", "Tax: $1.60", "Total: $17.60"):
        assert line in text
    assert '<span id="discount">-$4.00</span>' in page and '<span id="tax">$1.60</span>' in page


def test_a_yen_receipt_uses_whole_yen_and_works_back_a_missing_subtotal(env):
    text, _ = _both(_receipt(amount_cents=1100, tax_cents=100, currency="jpy"))
    assert "Subtotal: ¥1,000" in text and "Tax: ¥100" in text and "Total: ¥1,100" in text


def test_a_plain_sale_is_not_itemised(env):
    text, page = _both(_receipt(amount_cents=1999, subtotal_cents=1999))
    assert "Subtotal" not in text and 'id="itemised"' not in page
