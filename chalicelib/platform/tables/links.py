"""The links table: buyers' download links, and the library's sign-in tokens and mail
allowances, the purchases' license keys, the rate limiter's counts and the unknown Checkout
Sessions, which share the table (and its key schema) under prefixed keys."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from chalicelib.platform.tables.base import ON_DEMAND


class DownloadLink(Model):
    """A buyer's private link, keyed by the SHA-256 of its token.

    Everything a download needs sits on this one item, so taking a download is one
    conditional update: `downloads_left > 0`, not expired, `state = active`.
    """

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_name = UnicodeAttribute(default="")
    file_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    downloads_left = NumberAttribute()
    expires_at = NumberAttribute()  # epoch seconds, UTC
    state = UnicodeAttribute(default="active")
    licensed = BooleanAttribute(null=True)  # the purchase has a license key to show
    # The download log, one JSON string per download (see `delivery.DownloadEntry`). A string
    # set grows with one `ADD` inside the take's conditional update and keeps the item small,
    # which every download's write is billed by and returns.
    log = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class LibraryToken(Model):
    """A buyer's sign-in link to their library (`/library/{token}`), an item of the links
    table keyed `library#<SHA-256 of the token>` (never the token itself; no download token's
    hash starts so). `expires_at` ends it (410 after); DynamoDB deletes it at `purge_at`."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds, UTC
    created_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()


class MailAllowance(Model):
    """How often the library mailed an address, or was asked by a client, in the last hour:
    an item of the links table keyed `allowance#<kind>#<SHA-256 of the address or IP>`, with
    the epoch seconds of each use in the window. `version` makes every change conditional on
    the read it started from, so Lambda containers racing each other never exceed the limit;
    DynamoDB deletes it at `purge_at`."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    uses = ListAttribute(of=NumberAttribute, default=list)
    version = VersionAttribute()
    purge_at = TTLAttribute()


class License(Model):
    """A purchase's license key, an item of the links table keyed `license#<SHA-256 of the
    canonical key>` (never the key itself, which is derived from the session id). It carries
    what validation and activation need, so an activation is one conditional update:
    `activations` maps each instance id to its name and time (epoch seconds), and
    `activation_count` never passes `activation_limit`."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    activation_limit = NumberAttribute()
    activation_count = NumberAttribute(default=0)
    activations = MapAttribute(default=dict)
    created_at = UTCDateTimeAttribute()


class RateCount(Model):
    """How many requests one client made to one route in one fixed window: an item of the
    links table keyed `limit#<route>#<HMAC of the client's IP>#<window start>`. Each request
    adds one with a single conditional `ADD` (never a read first), so Lambda containers racing
    each other never exceed the limit; DynamoDB deletes it at `purge_at`. The daily summary
    counts itself the same way (`summary#<day>`, at most one)."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(null=True)
    purge_at = TTLAttribute(null=True)


class UnknownSession(Model):
    """A Checkout Session id Stripe said is not this store's (or does not exist), keyed
    `unknown#<SHA-256 of the id>`, so asking again makes no Stripe call until `purge_at`."""

    class Meta:
        table_name = "links"
        billing_mode = ON_DEMAND

    token_hash = UnicodeAttribute(hash_key=True)
    purge_at = TTLAttribute()
