"""Stripe's list paging, as the stand-in answers list calls."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from bull_chalice.standin.checks import error_response, json_response


def list_page(objects: list[dict[str, Any]], params: dict, url: str) -> Response:
    """One page of a list as Stripe pages it: newest first, `limit` (1 to 100, default 10)
    objects after the `starting_after` object (before `ending_before`), and `has_more`.
    A cursor that names no object (one deleted meanwhile, say) is refused as Stripe
    refuses it: `resource_missing` on that parameter."""
    newest_first = objects[::-1]  # kept in creation order
    try:
        limit = int(params.get("limit") or 10)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return error_response(400, "limit must be between 1 and 100", param="limit")
    ids = [item["id"] for item in newest_first]
    start, end = 0, len(newest_first)
    for param in ("starting_after", "ending_before"):
        cursor = params.get(param)
        if not cursor:
            continue
        if cursor not in ids:
            return error_response(404, f"No such object: '{cursor}'", "resource_missing", param)
        if param == "starting_after":
            start = ids.index(cursor) + 1
        else:
            end = ids.index(cursor)
            start = max(0, end - limit)
    page = newest_first[start:end][:limit]
    has_more = start + len(page) < end if not params.get("ending_before") else start > 0
    return json_response({"object": "list", "data": page, "has_more": has_more, "url": url})
