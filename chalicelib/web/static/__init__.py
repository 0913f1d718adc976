"""The dashboard's script, served by the app under the page's base URL.

Its URL carries a hash of its content (`?v=`), so it may be cached for a year: a new version
is a new URL, and the page itself is never cached.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).parent
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    body: str
    version: str
    content_type: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": self.content_type,
            "Cache-Control": f"public, max-age={YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }


@functools.cache
def dashboard_script() -> Asset:
    """`dashboard.js`, read once per container."""
    body = (FOLDER / "dashboard.js").read_text(encoding="utf-8")
    version = hashlib.sha256(body.encode()).hexdigest()[:12]
    return Asset(body, version, "application/javascript; charset=utf-8")
