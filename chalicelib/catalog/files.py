"""A product's file in the products bucket: its key, its name, whether it is there."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.errors import BadRequest

SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ ()-]{0,199}$")


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    """Whether `key` is in `bucket` (one HeadObject). Other S3 errors propagate."""
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def file_key_for(product_id: str, version: int, filename: str) -> str:
    return f"products/{product_id}/v{version}/{filename}"


def validate_filename(filename: str) -> str:
    name = filename.strip() if isinstance(filename, str) else ""
    if not SAFE_FILENAME.match(name) or ".." in name:
        raise BadRequest("filename must be a plain file name such as 'guide.pdf'")
    return name
