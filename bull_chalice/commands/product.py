"""`bull product add`: create a product, upload its file and put it on sale, through the
same catalog code the app runs (PynamoDB models bound to the stage's tables)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import ClientError

from bull_chalice.errors import cli_errors, error_code, failure_message
from bull_chalice.targets import stage_option, target_for


@click.group()
def product() -> None:
    """Manage the products on sale."""


@product.command("add")
@click.option("--name", required=True)
@click.option("--price", required=True, help="Like 19.99 (parsed exactly, no floats).")
@click.option(
    "--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--description", default="")
@click.option("--currency", default=None, help="ISO code (default: the store's, usd).")
@click.option(
    "--min-price",
    default=None,
    help="Pay what you want from this minimum, like 5.00; --price is then the suggested price.",
)
@click.option(
    "--tax-code",
    default=None,
    help="Stripe Tax product tax code (default txcd_10000000, electronically supplied services).",
)
@click.option(
    "--license-keys",
    is_flag=True,
    help="Each purchase gets a license key (POST /licenses/activate and validate).",
)
@click.option(
    "--activation-limit",
    type=click.IntRange(1, 1000),
    default=None,
    help="Instances one license key may be active on at once (default 3).",
)
@stage_option
@cli_errors
def product_add(
    name: str,
    price: str,
    path: Path,
    description: str,
    currency: str | None,
    min_price: str | None,
    tax_code: str | None,
    license_keys: bool,
    activation_limit: int | None,
    stage: str,
) -> None:
    """Create a product, upload its file and put it on sale.

    It either completes or leaves nothing behind; run again with the same name, file, price
    and currency, it finds the product made before, or finishes one an interrupted run left,
    instead of adding a second one. It never puts back on sale a product taken off sale, nor
    replaces the file of one that has been on sale.
    """
    from chalicelib.catalog.files import object_exists
    from chalicelib.catalog.products import Catalog
    from chalicelib.errors import StoreError
    from chalicelib.money import parse_amount
    from chalicelib.platform import config

    target = target_for(stage)
    settings = config.load(target.environment())
    currency = (currency or settings.currency).lower()
    try:
        cents = parse_amount(price, currency)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--price") from None
    try:
        min_cents = None if min_price is None else parse_amount(min_price, currency, plain=True)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--min-price") from None
    pricing = {
        "min_price_cents": min_cents,
        "tax_code": tax_code,
        "license_keys": license_keys,
        "activation_limit": activation_limit,
    }
    target.bind_tables()
    s3 = target.client("s3")
    catalog = Catalog(
        currency=settings.currency,
        file_exists=lambda key: object_exists(s3, settings.bucket, key),
    )
    content = path.read_bytes()
    try:
        made = _finish_existing(
            catalog, s3, settings.bucket, name, path.name, content, cents, currency, min_cents
        )
        if made is None:
            made = _create_product(
                catalog,
                s3,
                settings.bucket,
                name,
                description,
                cents,
                currency,
                path,
                content,
                pricing,
            )
    except StoreError as exc:
        raise click.ClickException(failure_message(exc) or exc.message) from None
    minimum = (
        f" (pay what you want from {made.min_price_cents})"
        if made.min_price_cents is not None
        else ""
    )
    click.echo(
        f"{made.id}: {made.name} is on sale at {made.price_cents} {made.currency} cents"
        f"{minimum}; its file {made.filename} is s3://{settings.bucket}/{made.file_key}."
    )


def _same_content(s3: Any, bucket: str, key: str, content: bytes) -> bool:
    """Whether `key` holds exactly `content` (a single-part upload's ETag is its MD5)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    return head.get("ETag", "").strip('"') == digest


MARK = "bull product add"  # what the command marks the products it has not finished with


def _finish_existing(
    catalog: Any,
    s3: Any,
    bucket: str,
    name: str,
    filename: str,
    content: bytes,
    cents: int,
    currency: str,
    min_cents: int | None = None,
) -> Any:
    """The product an earlier run made with this name and file: found when finished, finished
    when that run left it unfinished; None if there is none.

    Only a product this command marked unfinished is ever touched: one the seller took off
    sale stays off, and the file of one that has been on sale (buyers may hold links to it)
    is never overwritten."""
    wanted = name.strip()
    same_name = [p for p in catalog.list_all() if p.name == wanted]
    if not same_name:
        return None
    same_file = [p for p in same_name if p.filename == filename]
    if not same_file:
        ids = ", ".join(f"{p.id} ({p.filename})" for p in same_name)
        raise click.ClickException(
            f"a product named {wanted!r} exists already with another file: {ids}; "
            "give a new file from the dashboard, or pick another name"
        )
    if len(same_file) > 1:
        ids = ", ".join(p.id for p in same_file)
        raise click.ClickException(f"several products are named {wanted!r} with that file: {ids}")
    existing = same_file[0]
    if (existing.price_cents, existing.currency) != (cents, currency):
        raise click.ClickException(
            f"{existing.id} ({wanted}) exists already at {existing.price_cents} "
            f"{existing.currency} cents, not {cents} {currency}: change its price from the "
            "dashboard, or pick another name"
        )
    if existing.min_price_cents != min_cents:
        raise click.ClickException(
            f"{existing.id} ({wanted}) exists already with minimum {existing.min_price_cents}, "
            f"not {min_cents}: change it from the dashboard, or pick another name"
        )
    if existing.unfinished != MARK:
        if not existing.active:
            raise click.ClickException(
                f"{existing.id} ({wanted}) exists already, off sale: put it back on sale from "
                "the dashboard (List), or pick another name"
            )
        if not _same_content(s3, bucket, existing.file_key, content):
            raise click.ClickException(
                f"{existing.id} ({wanted}) is on sale with a different {filename}: upload a new "
                "file version from the dashboard instead"
            )
        click.echo(f"{existing.id} ({wanted}) exists already with this file.")
        return existing
    # Never on sale, so no buyer has its file: (re)upload it and put it on sale.
    if not _same_content(s3, bucket, existing.file_key, content):
        s3.put_object(Bucket=bucket, Key=existing.file_key, Body=content)
    click.echo(f"Finished {existing.id} ({wanted}), which an earlier run left unfinished.")
    return catalog.update(existing.id, {"active": True})


def _create_product(
    catalog: Any,
    s3: Any,
    bucket: str,
    name: str,
    description: str,
    cents: int,
    currency: str,
    path: Path,
    content: bytes,
    pricing: dict[str, Any] | None = None,
) -> Any:
    """Create the record, upload the file, put it on sale; on any failure remove what was made.
    `pricing`: the pay-what-you-want minimum and tax code, if any."""
    from chalicelib.platform.tables import Product

    made = catalog.create(
        name=name,
        description=description,
        price_cents=cents,
        currency=currency,
        filename=path.name,
        unfinished=MARK,
        **(pricing or {}),
    )
    uploaded = False
    try:
        s3.put_object(Bucket=bucket, Key=made.file_key, Body=content)
        uploaded = True
        return catalog.update(made.id, {"active": True})
    except BaseException:
        # Best effort: if AWS is gone altogether, a re-run finds the record by name.
        try:
            if uploaded:
                s3.delete_object(Bucket=bucket, Key=made.file_key)
            Product(made.id).delete()
            click.echo(f"Removed the unfinished product {made.id}.")
        except Exception:  # noqa: S110 - the original failure is what the seller needs to see
            pass
        raise
