"""The stage's secrets: the Stripe keys and the link-signing key.

Each is given either directly as `NAME` (the local stack, tests) or as `NAME_PARAM`, the name
of an SSM SecureString parameter (deployed stages), read once per container.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.platform.config import ConfigError

SECRET_NAMES = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "LINK_SIGNING_KEY")


class Secrets:
    """Reads each secret on first use and keeps it for the container's life."""

    def __init__(self, environ: Mapping[str, str], ssm: Callable[[], Any]) -> None:
        self._environ = environ
        self._ssm = ssm
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        """The secret `name`.

        Raises:
            ConfigError: unknown name, neither `name` nor `name_PARAM` set, or an empty
                parameter.
        """
        if name not in SECRET_NAMES:
            raise ConfigError(f"unknown secret {name}")
        with self._lock:
            if name not in self._values:
                self._values[name] = self._read(name)
            return self._values[name]

    def _read(self, name: str) -> str:
        direct = self._environ.get(name, "")
        if direct:
            return direct
        param = self._environ.get(f"{name}_PARAM", "")
        if not param:
            raise ConfigError(f"set {name} or {name}_PARAM")
        answer = self._ssm().get_parameter(Name=param, WithDecryption=True)
        value = answer["Parameter"]["Value"]
        if not value:
            raise ConfigError(f"SSM parameter {param} is empty")
        return value
