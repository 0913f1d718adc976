"""The buyer's IP in the download log, keyed with a server secret.

A bare SHA-256 of an IP is no protection: anyone holding the log can hash all 2^32 IPv4
addresses in minutes and read it back. The log keeps instead
HMAC-SHA256(ip key, ip), where the ip key is HMAC-SHA256(the store's LINK_SIGNING_KEY,
"download-log-ip") — a secret from SSM/env that never leaves the Lambda. The same IP still
gives the same mark, so a seller sees repeated downloads from one address (dispute evidence).

Marks are 24 hex digits (96 bits); entries logged before (a bare SHA-256's first 16 hex
digits) stay as they were and read as before.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable

IP_KEY_CONTEXT = b"download-log-ip"
MARK_HEX_DIGITS = 24


def ip_key(link_signing_key: str) -> bytes:
    """The key that marks IPs, derived from the link-signing key (its own purpose, so a mark
    reveals nothing about link tokens and the reverse)."""
    return hmac.new(link_signing_key.encode(), IP_KEY_CONTEXT, hashlib.sha256).digest()


def ip_mark(key: bytes, ip: str) -> str:
    """The IP's mark under `key`; "" for no IP."""
    if not ip:
        return ""
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:MARK_HEX_DIGITS]


class IpMarker:
    """`marker(ip)` -> the IP's mark; reads the secret on the first IP it marks (a container
    that never logs a download never reads it)."""

    def __init__(self, link_signing_key: Callable[[], str]) -> None:
        self._secret = link_signing_key
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self, ip: str) -> str:
        if not ip:
            return ""
        with self._lock:
            if self._key is None:
                self._key = ip_key(self._secret())
        return ip_mark(self._key, ip)
