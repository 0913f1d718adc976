"""The composition root: every service of the store, built from settings, AWS clients, secrets
and a clock, and nothing else.

Routes call `current()`, the store of this container, built from the environment on first use
(nothing is built at import time). Tests build their own `Store` with their own clock, clients
or key fetcher and `install()` it.
"""

from __future__ import annotations

import threading

from chalicelib.platform import aws, config
from chalicelib.store.root import Store, utc_now

__all__ = ["Store", "current", "install", "reset", "utc_now"]

_current: Store | None = None
_current_lock = threading.Lock()


def current() -> Store:
    """This container's store, built from the environment on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = Store(config.get_settings())
        return _current


def install(store: Store) -> None:
    """Use `store` from now on (tests)."""
    global _current
    with _current_lock:
        _current = store


def reset() -> None:
    """Forget the store, the settings and every AWS client: the next request builds anew."""
    install(None)  # type: ignore[arg-type]
    config.reset()
    aws.reset()
