"""Provisioning the local stack's moto server: the tables, bucket, sender identity and user
pool from the same definitions production uses, an admin, and the demo product."""

from __future__ import annotations

import os
from typing import Any

import boto3

from bull_chalice import demo, resources, users
from chalicelib.platform.config import Settings

REGION = "us-east-1"


def provision(
    moto_url: str, settings: Settings, admin_email: str, admin_password: str, restored: bool
) -> resources.UserPool:
    """Create what the store needs in moto, or, after a replay, find what is there."""
    # PynamoDB takes credentials from the environment; moto accepts any.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    session = boto3.session.Session(
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any
        region_name=REGION,
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=moto_url)

    s3 = client("s3")
    resources.create_tables(settings)
    resources.create_bucket(s3, settings)
    resources.verify_sender(client("ses"), settings)
    cognito = client("cognito-idp")
    pool = (restored and resources.find_user_pool(cognito, "local")) or (
        resources.create_user_pool(cognito, "local")
    )
    users.add_user(cognito, pool.pool_id, admin_email, admin_password)
    demo.add_demo_product(s3, settings)
    return pool
