"""Reading the infra stack: its template, and turning its outputs into the app's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "stack.yaml"

# Stack output -> environment variable the app reads (chalicelib/config.py).
OUTPUT_ENV = {
    "ProductsTable": "PRODUCTS_TABLE",
    "PurchasesTable": "PURCHASES_TABLE",
    "LinksTable": "LINKS_TABLE",
    "SalesTable": "SALES_TABLE",
    "ProductsBucket": "PRODUCTS_BUCKET",
    "UserPoolId": "USER_POOL_ID",
    "UserPoolArn": "USER_POOL_ARN",
    "UserPoolClientId": "USER_POOL_CLIENT_ID",
    "SenderEmail": "SENDER_EMAIL",
    "SiteName": "SITE_NAME",
    "StripeSecretKeyParam": "STRIPE_SECRET_KEY_PARAM",
    "StripeWebhookSecretParam": "STRIPE_WEBHOOK_SECRET_PARAM",
    "LinkSigningKeyParam": "LINK_SIGNING_KEY_PARAM",
}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short tags (`!Ref`, `!Sub`) as plain values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def template_body(path: Path = TEMPLATE) -> str:
    return path.read_text()


def environment_from_outputs(outputs: dict[str, str], stage: str) -> dict[str, str]:
    """The stage's environment variables for `.chalice/config.json` (names, never secrets)."""
    env = {"BULL_STAGE": stage}
    for output, variable in OUTPUT_ENV.items():
        if outputs.get(output):
            env[variable] = outputs[output]
    return env
