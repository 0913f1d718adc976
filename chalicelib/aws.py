"""AWS clients, created on first use and cached for the life of the container.

Tests swap them with `reset()` (for example inside `moto.mock_aws`). The endpoint comes from
`AWS_ENDPOINT_URL` when set, which is how the local stack points everything at moto.
"""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.config import get_settings


def _client(service: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    settings = get_settings()
    return boto3.session.Session().client(
        service,
        region_name=settings.region,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, **config),
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
def ssm_client() -> Any:
    return _client("ssm")


def reset() -> None:
    """Drop every cached client (and the models' connections) so the next call builds anew."""
    for getter in (s3_client, ses_client, ssm_client):
        getter.cache_clear()
