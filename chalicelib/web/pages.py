"""HTML pages, rendered by Jinja2 with autoescape on. Jinja2 is loaded on first render."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from chalicelib.money import format_amount, plain_amount

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda cents, currency: format_amount(cents, currency)
    env.filters["plain_amount"] = plain_amount
    return env


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>` with `context` (every value escaped)."""
    from chalicelib.platform.config import get_settings

    settings = get_settings()
    context.setdefault("site_name", settings.site_name)
    context.setdefault("support_email", settings.support_email)
    return _environment().get_template(template).render(**context)
