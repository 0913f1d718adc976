"""License keys: how a purchase's key is made, read back and stored.

A key is HMAC-SHA256(the link signing key, "license:" + session id), its first 150 bits written
in Crockford's base32 (digits and capitals without I, L, O, U) as six groups of five joined by
dashes, e.g. `7K3QF-0ZC9M-...`. The store recomputes it whenever it shows it (receipt, landing
page, library) and keeps only the SHA-256 of this canonical form: on the purchase
(`license_hash`) and as the key of its `License` item (`license#<SHA-256>`).

Reading a key back forgives what people do when they copy one: any case, spaces, missing or
extra dashes, and O / I / L typed for 0 / 1 / 1.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.platform.tables import License

if TYPE_CHECKING:
    from chalicelib.catalog.view import ProductView

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})
GROUPS, GROUP = 6, 5
KEY_BITS = GROUPS * GROUP * 5  # 150 bits of secret entropy
KEY_PREFIX = "license#"
MAX_TYPED = 100  # longer text is no key, whatever it holds


def derive_key(secret: str, session_id: str) -> str:
    """The license key of the purchase of `session_id`, in its canonical grouped form."""
    mac = hmac.new(secret.encode(), f"license:{session_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac, "big") >> (len(mac) * 8 - KEY_BITS)
    chars = [ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(GROUPS * GROUP))]
    text = "".join(chars)
    return "-".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


def canonical(typed: Any) -> str | None:
    """The canonical form of a key as someone typed or pasted it; None when it cannot be one."""
    if not isinstance(typed, str) or len(typed) > MAX_TYPED:
        return None
    text = "".join(typed.split()).replace("-", "").upper().translate(TYPOS)
    if len(text) != GROUPS * GROUP or any(c not in ALPHABET for c in text):
        return None
    return "-".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


def key_hash(key: str) -> str:
    """The SHA-256 (hex) of a canonical key: what the purchase records."""
    return hashlib.sha256(key.encode()).hexdigest()


def item_key(key: str) -> str:
    """The links-table key of a canonical key's `License` item."""
    return KEY_PREFIX + key_hash(key)


def shown_key(secret: str, purchase: Any) -> str | None:
    """The key to show for a purchase: recomputed, and only if the purchase has one."""
    if not getattr(purchase, "license_hash", None):
        return None
    return derive_key(secret, purchase.session_id)


def new_license(key: str, session_id: str, product: ProductView, now: datetime) -> License:
    """The `License` item of a new paid purchase (its canonical `key`) of a product that hands
    out keys."""
    return License(
        item_key(key),
        session_id=session_id,
        product_id=product.id,
        activation_limit=product.activation_limit,
        activation_count=0,
        activations={},
        created_at=now,
    )
