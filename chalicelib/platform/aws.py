"""AWS clients, created on first use and cached for the life of the container.

Every client, and the one DynamoDB connection all models share, comes from a single botocore
session: a new session loads the service models again (~100 ms per client on a cold start).
Tests swap them with `reset()` (for example inside `moto.mock_aws`). The endpoint comes from
`AWS_ENDPOINT_URL` when set, which is how the local stack points everything at moto.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection import Connection

from chalicelib.platform.config import get_settings

# The services the store calls. The packaged layer keeps only these botocore models
# (`bull_chalice.package.slim_layer`), so a client for any other fails here, in every test.
SERVICES = ("dynamodb", "s3", "ses", "ssm")

# botocore builds clients from a shared session unsafely across threads (pynamodb#153);
# building is rare, so one lock around it costs nothing afterwards.
_BUILD_LOCK = threading.RLock()


@functools.cache
def botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def _boto3_session() -> Any:
    # Exactly one wrapper per botocore session: each registers boto3's S3 customisations.
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())


def _client(service: str, **config: Any) -> Any:
    from botocore.config import Config

    if service not in SERVICES:
        raise ValueError(f"{service} is not in aws.SERVICES: add it, so the package keeps it")
    settings = get_settings()
    with _BUILD_LOCK:
        return _boto3_session().client(
            service,
            region_name=settings.region,
            config=Config(**{"retries": {"max_attempts": 3, "mode": "standard"}, **config}),
        )


@functools.cache
def s3_client() -> Any:
    # moto (the local stack) needs path-style URLs; AWS prefers virtual-hosted ones.
    style = "path" if get_settings().aws_endpoint_url else "virtual"
    return _client("s3", signature_version="s3v4", s3={"addressing_style": style})


@functools.cache
def ses_client() -> Any:
    return _client("ses")


@functools.cache
def ses_brief_client() -> Any:
    """SES for mail nobody waits on (the seller's notices, sent while Stripe waits for the
    webhook's answer): one attempt with short timeouts, so an SES that is slow or unreachable
    costs a webhook seconds, not minutes."""
    once = {"total_max_attempts": 1, "mode": "standard"}
    return _client("ses", connect_timeout=2, read_timeout=5, retries=once)


@functools.cache
def ssm_client() -> Any:
    return _client("ssm")


class SharedConnection(Connection):
    """A PynamoDB connection whose client comes from the container's one botocore session.

    PynamoDB gives every model its own connection, session and client (pynamodb#1245); the
    store binds all its models and transactions to one of these instead.
    """

    @property
    def session(self) -> Any:
        return botocore_session()

    @property
    def client(self) -> Any:
        with _BUILD_LOCK:
            return Connection.client.fget(self)


@functools.cache
def dynamodb_connection() -> Connection:
    settings = get_settings()
    return SharedConnection(region=settings.region, host=settings.aws_endpoint_url)


@dataclass(frozen=True)
class AwsClients:
    """Where the store's services get their clients (each built on first use); a test may hand
    the store its own."""

    s3: Callable[[], Any] = field(default=lambda: s3_client())
    ses: Callable[[], Any] = field(default=lambda: ses_client())
    ses_brief: Callable[[], Any] = field(default=lambda: ses_brief_client())
    ssm: Callable[[], Any] = field(default=lambda: ssm_client())
    dynamodb: Callable[[], Connection] = field(default=lambda: dynamodb_connection())


def reset() -> None:
    """Drop every cached client and the session, so the next call builds anew."""
    for getter in (
        s3_client,
        ses_client,
        ses_brief_client,
        ssm_client,
        dynamodb_connection,
        _boto3_session,
        botocore_session,
    ):
        getter.cache_clear()
