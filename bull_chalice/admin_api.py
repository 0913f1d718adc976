"""The store's admin API, as `bull` calls it: find the stage's API, sign in with Cognito, GET."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from bull_chalice.targets import deployed_url, target_for


def admin_pages(
    stage: str,
    base_url: str | None,
    email: str,
    password: str,
    path: str,
    params: dict[str, str],
    what: str,
) -> Iterator[Any]:
    """Sign in once, then GET `path` and each page after it (the `X-Next-Cursor` of an answer,
    sent back as `cursor`); every 200 answer in turn.

    Raises:
        click.ClickException: no API URL, sign-in refused, or the API refused (`what` names it).
    """
    import requests

    from bull_chalice import signin

    target = target_for(stage)
    env = target.environment()
    api_url = (base_url or env.get("SITE_URL") or deployed_url(stage) or "").rstrip("/")
    if not api_url:
        raise click.ClickException(
            f"no API URL for stage {stage}: run `chalice deploy --stage {stage}` or pass --url"
        )
    tokens = signin.sign_in(
        target.client("cognito-idp"), env.get("USER_POOL_CLIENT_ID", ""), email, password
    )
    asked = dict(params)
    while True:
        answer = requests.get(
            f"{api_url}{path}",
            params=asked,
            timeout=60,
            headers={"Authorization": f"Bearer {tokens.id_token}"},
        )
        if answer.status_code != 200:
            try:
                message = answer.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = answer.text[:200]
            raise click.ClickException(f"{what} refused ({answer.status_code}): {message}")
        yield answer
        cursor = answer.headers.get("X-Next-Cursor")
        if not cursor:
            return
        asked = {**params, "cursor": cursor}
