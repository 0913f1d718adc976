"""The seller's dashboard page and its script, and the figures it reads: the sales report and
the orders export."""

from __future__ import annotations

from chalice import Response

from chalicelib import store
from chalicelib.errors import BadRequest
from chalicelib.routes.common import (
    ADMIN_AUTHORIZER,
    admin_only,
    bp,
    browser_route,
    page,
)
from chalicelib.sale.figures import MAX_DAYS, DateRange, as_csv, parse_range
from chalicelib.sale.orders import orders_csv
from chalicelib.store import Store
from chalicelib.web import security, static
from chalicelib.web.responses import (
    NO_STORE,
    header,
    html,
    json_response,
)


@bp.route("/admin", methods=["GET"])
@browser_route
def dashboard() -> Response:
    """The admin dashboard page; it signs in with Cognito and reads the admin API.

    The page itself holds no data and needs no token.

    Returns:
        200: the dashboard (HTML).
    """
    s, nonce = store.current().settings, security.new_nonce()
    body = page(
        "admin.html",
        nonce=nonce,
        script_version=static.dashboard_script().version,
        cognito_url=security.cognito_url(s),
        client_id=s.user_pool_client_id,
        currency=s.currency,
    )
    return html(body, headers=security.dashboard_headers(s, nonce))


@bp.route("/admin/dashboard.js", methods=["GET"])
@browser_route
def dashboard_script() -> Response:
    """The dashboard's script. Public: it holds no data.

    Returns:
        200: JavaScript, cached for a year (the page asks for it by its version).
    """
    script = static.dashboard_script()
    return Response(body=script.body, status_code=200, headers=script.headers)


@bp.route("/reports", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def sales_report() -> Response:
    """Sales per day, totals and per product, as JSON or CSV (`format=csv`, `Accept: text/csv`).

    One row per day of the range, zero days included; `net_cents` = gross - refunded - disputed
    (lost disputes, on the day they closed). Sales in another currency than the store's are in
    `other_currencies`, never in the days.

    Query:
        from (date): the first day, YYYY-MM-DD, in the store timezone (default: 29 days
            before `to`).
        to (date): the last day, YYYY-MM-DD (default: today in the store timezone).
        format: `json` (the default) or `csv`.

    Returns:
        200 Report: the report as JSON; as `text/csv` headed
            `date,orders,gross_cents,refunded_cents,net_cents,disputed_cents,tax_cents,discount_cents`
            with `format=csv`.

    Raises:
        BadRequest (400) for a bad date or format, a reversed range or more than 366 days,
        Unavailable (503) when the store cannot read its sales.
    """
    shop = store.current()
    days, wants_csv = _asked_range(shop)
    report = shop.reports.sales(days)
    if wants_csv:
        return _csv_download(as_csv(report), f"sales-{days.start}-{days.end}.csv")
    return json_response(report)


@bp.route("/admin/orders", methods=["GET"], authorizer=ADMIN_AUTHORIZER)
@admin_only
def admin_orders() -> Response:
    """Every order whose sale day (store timezone) falls in the range, oldest first, as JSON
    or CSV (`format=csv`, `Accept: text/csv`): for the seller's books.

    Any range may be asked for: the orders come in pages of at most 2,000 orders and ten
    years, each pointing to the next (`next` in JSON, the `X-Next-Cursor` header on CSV;
    absent on the last page), asked for with `cursor`. Cost grows with the orders in the
    range, not with all orders stored. `status` is the payment's (`paid`, `pending`,
    `failed`); refunds and disputes have their own columns.

    Query:
        from (date): the first day, YYYY-MM-DD, in the store timezone (default: 29 days
            before `to`).
        to (date): the last day, YYYY-MM-DD (default: today in the store timezone).
        format: `json` (the default) or `csv`.
        cursor: where to go on: the `next` of the page before, for the same range.

    Returns:
        200 OrderList: `{"from", "to", "timezone", "orders": [...], "next"}`; as `text/csv`
            headed
            `date,order_id,email,product_id,product_name,currency,amount_cents,tax_cents,discount_cents,refunded_cents,disputed_cents,status`
            with `format=csv`, every page with the header.

    Raises:
        BadRequest (400) for a bad date, format or cursor, or a reversed range,
        Unavailable (503) when the store cannot read its orders.
    """
    shop = store.current()
    days, wants_csv = _asked_range(shop, max_days=None)
    cursor = (bp.current_request.query_params or {}).get("cursor") or None
    page = shop.orders.page(days, cursor)
    if wants_csv:
        name = f"orders-{days.start}-{days.end}.csv"
        more = {"X-Next-Cursor": page.next} if page.next else {}
        return _csv_download(orders_csv(page.orders), name, {**NO_STORE, **more})
    timezone = shop.settings.report_timezone
    body = {
        "from": str(days.start),
        "to": str(days.end),
        "timezone": timezone,
        "orders": page.orders,
        "next": page.next,
    }
    return json_response(body, headers=NO_STORE)


def _asked_range(shop: Store, max_days: int | None = MAX_DAYS) -> tuple[DateRange, bool]:
    """The days asked (`from`, `to`; store timezone) and whether CSV was asked (`format=csv`
    or `Accept: text/csv`).

    Raises:
        BadRequest: a bad format or date, a reversed range, more than `max_days` days.
    """
    request = bp.current_request
    query = request.query_params or {}
    if query.get("format") not in (None, "csv", "json"):
        raise BadRequest("format must be json or csv")
    timezone = shop.settings.report_timezone
    days = parse_range(query.get("from"), query.get("to"), timezone, shop.clock(), max_days)
    wants_csv = query.get("format") == "csv" or "text/csv" in (header(request, "accept") or "")
    return days, wants_csv


def _csv_download(body: str, filename: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            **(headers or {}),
        },
    )
