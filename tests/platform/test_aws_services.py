"""The store calls only the AWS services it names; the packaged layer keeps botocore's models
for exactly those, so a client for any other must fail in tests, not in production."""

from __future__ import annotations

import pytest

from chalicelib.platform import aws


def test_a_client_for_a_service_the_package_does_not_keep_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"sqs is not in aws.SERVICES"):
        aws._client("sqs")


def test_every_client_the_store_builds_is_for_a_kept_service(env):
    from chalicelib.platform import aws as clients

    for client in (clients.s3_client(), clients.ses_client(), clients.ssm_client()):
        assert client.meta.service_model.service_name in clients.SERVICES
