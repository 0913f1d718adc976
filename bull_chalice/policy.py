"""The Lambda role's policy, written by hand: exactly the actions `chalicelib` calls, on
exactly the stage's resources. `bull setup` writes it to `.chalice/policy-<stage>.json` from
the stack's outputs; `tests/test_policy.py` fails when code calls an action it lacks."""

from __future__ import annotations

from typing import Any

# What each DynamoDB table is used for; Scan only where the seller lists every product.
TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
INDEXED_TABLES = ("ProductsTable", "PurchasesTable")


def build_policy(region: str, account: str, stage: str, outputs: dict[str, str]) -> dict[str, Any]:
    """The least-privilege policy document for a stage's Lambda function."""

    def table(name: str) -> str:
        return f"arn:aws:dynamodb:{region}:{account}:table/{outputs[name]}"

    tables = ["ProductsTable", "PurchasesTable", "LinksTable", "SalesTable"]
    parameter = f"arn:aws:ssm:{region}:{account}:parameter"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/bull-{stage}*",
            },
            {
                "Sid": "StoreTables",
                "Effect": "Allow",
                "Action": TABLE_ACTIONS,
                "Resource": [table(t) for t in tables]
                + [f"{table(t)}/index/*" for t in INDEXED_TABLES],
            },
            {
                # The buyer's library reads the links of its purchases in one batch.
                "Sid": "ReadLinks",
                "Effect": "Allow",
                "Action": ["dynamodb:BatchGetItem"],
                "Resource": table("LinksTable"),
            },
            {
                "Sid": "ListProducts",
                "Effect": "Allow",
                "Action": ["dynamodb:Scan"],
                "Resource": table("ProductsTable"),
            },
            {
                "Sid": "ProductFiles",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{outputs['ProductsBucket']}/products/*",
            },
            {
                # Only so that HeadObject tells a missing product file (404) from a refusal
                # (403) before a product goes on sale.
                "Sid": "FindProductFiles",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": f"arn:aws:s3:::{outputs['ProductsBucket']}",
            },
            {
                "Sid": "Receipts",
                "Effect": "Allow",
                "Action": ["ses:SendEmail"],
                "Resource": f"arn:aws:ses:{region}:{account}:identity/{outputs['SenderEmail']}",
            },
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [
                    f"{parameter}{outputs[name]}"
                    for name in (
                        "StripeSecretKeyParam",
                        "StripeWebhookSecretParam",
                        "LinkSigningKeyParam",
                    )
                ],
            },
        ],
    }


def example_outputs(stage: str) -> dict[str, str]:
    """The names the stack gives a stage (for the committed example policy)."""
    return {
        "ProductsTable": f"bull-{stage}-products",
        "PurchasesTable": f"bull-{stage}-purchases",
        "LinksTable": f"bull-{stage}-links",
        "SalesTable": f"bull-{stage}-sales",
        "ProductsBucket": f"bull-{stage}-products-123456789012-us-east-1",
        "SenderEmail": "store@example.com",
        "StripeSecretKeyParam": f"/bull/{stage}/stripe-secret-key",
        "StripeWebhookSecretParam": f"/bull/{stage}/stripe-webhook-secret",
        "LinkSigningKeyParam": f"/bull/{stage}/link-signing-key",
    }
