"""Gap 10: moto's state dump, skipping attributes whose getter fails (see gaps.py)."""

from __future__ import annotations

import json
from typing import Any


def model_data(self: Any, request: Any, full_url: str, headers: Any) -> Any:
    from moto.core.model_instances import model_data as tracked

    results: dict[str, dict[str, list[Any]]] = {}
    for service in sorted(tracked):
        results[service] = {}
        for name in sorted(tracked[service]):
            instances = []
            for instance in tracked[service][name].instances_tracked:  # type: ignore[attr-defined]
                attributes = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:  # noqa: S112 - skipped, like unserialisable values
                        continue
                    attributes[attr] = value
                instances.append(attributes)
            results[service][name] = instances
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)
