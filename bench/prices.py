"""Published prices the cost benchmark uses: AWS us-east-1 pay-as-you-go (free tiers left
out), Stripe's card fee, and the fees of Gumroad and Lemon Squeezy. Every figure names the
page it comes from and when it was read; check them before relying on them.

Read 2026-11-25. The AWS rates are the list prices on the pages below (DynamoDB's on-demand
rates are those after AWS's November 2024 cut, as the page and third-party summaries give
them); the platform fees are the ones the linked pages state on that date.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_ON = "2026-11-25"

AWS = {
    # aws.amazon.com/lambda/pricing/ (x86, us-east-1)
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_per_gb_second": 0.0000166667,
    # aws.amazon.com/api-gateway/pricing/ (REST APIs, first 333 million a month)
    "apigateway_rest_per_request": 3.50 / 1_000_000,
    # aws.amazon.com/dynamodb/pricing/on-demand/ (Standard table class)
    "dynamodb_per_wru": 0.625 / 1_000_000,
    "dynamodb_per_rru": 0.125 / 1_000_000,
    # aws.amazon.com/ses/pricing/ (outbound email, no attachments)
    "ses_per_email": 0.10 / 1_000,
    # aws.amazon.com/s3/pricing/ (S3 Standard requests; data transfer out to the internet,
    # 10 TB tier, after the 100 GB a month AWS gives free across services)
    "s3_per_get": 0.0004 / 1_000,
    "s3_per_put": 0.005 / 1_000,
    "s3_transfer_out_per_gb": 0.09,
}

SOURCES = {
    "Lambda": "https://aws.amazon.com/lambda/pricing/",
    "API Gateway": "https://aws.amazon.com/api-gateway/pricing/",
    "DynamoDB": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "SES": "https://aws.amazon.com/ses/pricing/",
    "S3": "https://aws.amazon.com/s3/pricing/",
    "Stripe": "https://stripe.com/pricing",
    "Gumroad": "https://gumroad.com/pricing (10% + 50¢ per direct sale, 30% via Discover)",
    "Lemon Squeezy": "https://docs.lemonsqueezy.com/help/getting-started/fees",
}


@dataclass(frozen=True)
class Fee:
    """`percent` of the price plus `fixed` dollars; `includes_card` when the platform pays the
    card processor out of it (a merchant of record), so Stripe's fee is not added again."""

    name: str
    percent: float
    fixed: float
    includes_card: bool
    note: str

    def on(self, price: float) -> float:
        return round(price * self.percent / 100 + self.fixed, 4)


STRIPE = Fee("Stripe card processing", 2.9, 0.30, True, "US cards; +1.5% international cards")
PLATFORMS = [
    Fee(
        "Gumroad",
        10.0,
        0.50,
        False,
        "direct sales; 30% on Discover sales; card processing comes on top",
    ),
    Fee(
        "Lemon Squeezy",
        5.0,
        0.50,
        True,
        "card processing included; +1.5% international, +1.5% PayPal",
    ),
]
