"""Every model, and their binding to one stage's table names, region and endpoint."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.platform.config import Settings
from chalicelib.platform.tables.links import (
    DownloadLink,
    LibraryToken,
    License,
    MailAllowance,
    RateCount,
    UnknownSession,
)
from chalicelib.platform.tables.products import Product
from chalicelib.platform.tables.purchases import Purchase
from chalicelib.platform.tables.sales import DailySales

ALL_MODELS: tuple[type[Model], ...] = (Product, Purchase, DownloadLink, DailySales)
# Item types kept in another model's table (with its key schema): the links table also holds
# the library's sign-in tokens and mail allowances, the rate limiter's counts and unknown
# Checkout Sessions, which its TTL (`purge_at`) removes.
SHARED_MODELS: dict[type[Model], type[Model]] = {
    LibraryToken: DownloadLink,
    MailAllowance: DownloadLink,
    License: DownloadLink,
    RateCount: DownloadLink,
    UnknownSession: DownloadLink,
}


@dataclass(frozen=True)
class Tables:
    """The models, bound to one stage's tables."""

    products: type[Product]
    purchases: type[Purchase]
    links: type[DownloadLink]
    sales: type[DailySales]
    library_tokens: type[LibraryToken]
    allowances: type[MailAllowance]
    licenses: type[License]
    rate_counts: type[RateCount]
    unknown_sessions: type[UnknownSession]


def bind_tables(settings: Settings, connection: Connection | None = None) -> Tables:
    """Bind every model to the stage's tables (see `bind_models`); the bound models."""
    bind_models(settings, connection)
    return Tables(
        products=Product,
        purchases=Purchase,
        links=DownloadLink,
        sales=DailySales,
        library_tokens=LibraryToken,
        allowances=MailAllowance,
        licenses=License,
        rate_counts=RateCount,
        unknown_sessions=UnknownSession,
    )


def bind_models(settings: Settings, connection: Connection | None = None) -> None:
    """Point every model at the stage's table names, region and endpoint.

    With `connection`, every model talks through it (one botocore client for all tables)
    instead of building a connection of its own on first use.
    """
    names = {
        Product: settings.products_table,
        Purchase: settings.purchases_table,
        DownloadLink: settings.links_table,
        DailySales: settings.sales_table,
        LibraryToken: settings.links_table,
        MailAllowance: settings.links_table,
        License: settings.links_table,
        RateCount: settings.links_table,
        UnknownSession: settings.links_table,
    }
    for model, table_name in names.items():
        model.Meta.table_name = table_name
        model.Meta.region = settings.region
        model.Meta.host = settings.aws_endpoint_url
        model._connection = None
        if connection is not None:
            table = model._get_connection()  # builds the table's metadata; no request
            with contextlib.suppress(ValueError):  # this connection knows the table already
                connection.add_meta_table(table.get_meta_table())
            table.connection = connection
