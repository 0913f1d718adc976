"""A purchase's private download link: how links are made, its landing page, taking a download.

A token is HMAC-SHA256(link key, "session_id:version"), base64url: 256 bits the buyer holds and
we can recompute (so `/thanks` shows the same link as the email). Only its SHA-256 is stored.
A resend bumps the version, which gives a new token and kills the old link.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.errors import LinkGone, NotFound, Unavailable
from chalicelib.platform.tables import DownloadLink
from chalicelib.platform.transactions import condition_failed
from chalicelib.sale.download_log import DownloadEntry

if TYPE_CHECKING:
    from chalicelib.catalog.view import ProductView

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")

GONE_MESSAGES = {
    "used_up": "This link has given all of its downloads.",
    "expired": "This link has expired.",
    "refunded": "This purchase was refunded, so its link no longer works.",
    "revoked": "The seller has turned this link off.",
    "on_hold": "This purchase is under review, so downloads are paused.",
    "replaced": "A newer link was sent for this purchase; use the one in the latest email.",
}


def make_token(key: str, session_id: str, version: int) -> str:
    mac = hmac.new(key.encode(), f"{session_id}:{version}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkPolicy:
    """How links are made: the signing key, the base URL they live under, and what a new link
    gives (downloads, days)."""

    key: str
    base_url: str
    download_limit: int
    ttl_days: int

    def token(self, session_id: str, version: int) -> str:
        return make_token(self.key, session_id, version)

    def token_hash(self, session_id: str, version: int) -> str:
        return hash_token(self.token(session_id, version))

    def url(self, session_id: str, version: int) -> str:
        return f"{self.base_url}/download/{self.token(session_id, version)}"

    def expiry(self, start: datetime) -> datetime:
        return start + timedelta(days=self.ttl_days)

    def new_link(self, session_id: str, product: ProductView, now: datetime) -> DownloadLink:
        """The first link of a purchase (version 1): full downloads, expiring in `ttl_days`."""
        return DownloadLink(
            self.token_hash(session_id, 1),
            session_id=session_id,
            product_id=product.id,
            product_name=product.name,
            file_key=product.file_key,
            filename=product.filename,
            downloads_left=self.download_limit,
            expires_at=int(self.expiry(now).timestamp()),
            state="active",
            created_at=now,
        )

    def replacement(self, old: DownloadLink, version: int, now: datetime) -> DownloadLink:
        """A new link that carries on where `old` stands: its downloads, expiry, state, log."""
        return DownloadLink(
            self.token_hash(old.session_id, version),
            session_id=old.session_id,
            product_id=old.product_id,
            product_name=old.product_name,
            file_key=old.file_key,
            filename=old.filename,
            downloads_left=int(old.downloads_left),
            expires_at=int(old.expires_at),
            state=old.state,
            licensed=old.licensed,
            log=set(old.log or ()) or None,
            created_at=now,
        )


@dataclass(frozen=True)
class LinkView:
    """What the landing page shows."""

    product_name: str
    downloads_left: int
    expires_at: datetime
    state: str
    filename: str
    licensed_session: str | None = None  # a purchase with a license key: its session id

    def gone_reason(self, now: float) -> str | None:
        if self.state != "active":
            return self.state
        if self.expires_at.timestamp() <= now:
            return "expired"
        if self.downloads_left <= 0:
            return "used_up"
        return None


@dataclass(frozen=True)
class Grant:
    """One download taken: where to send the buyer."""

    url: str
    downloads_left: int


def link_view(link: DownloadLink) -> LinkView:
    """What a stored link says: its state, downloads left, expiry."""
    return LinkView(
        product_name=link.product_name,
        downloads_left=int(link.downloads_left),
        expires_at=datetime.fromtimestamp(int(link.expires_at), UTC),
        state=link.state,
        filename=link.filename,
        licensed_session=link.session_id if link.licensed else None,
    )


def read_links(model: type[DownloadLink], token_hashes: Iterable[str]) -> dict[str, DownloadLink]:
    """The links stored under `token_hashes`, by hash, read strongly consistent in batches of
    a hundred; hashes with no link are left out.

    Raises:
        Unavailable: DynamoDB failed.
    """
    wanted = sorted(set(token_hashes))
    try:
        return {link.token_hash: link for link in model.batch_get(wanted, consistent_read=True)}
    except PynamoDBException as exc:
        raise Unavailable("The store could not read the download links.") from exc


def _gone(reason: str) -> LinkGone:
    return LinkGone(reason, GONE_MESSAGES.get(reason, "This link no longer works."))


class Links:
    """Looks up links and hands out downloads, one conditional update each."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        presign_seconds: int,
        model: type[DownloadLink] = DownloadLink,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        mark_ip: Callable[[str], str],
    ) -> None:
        self._mark_ip = mark_ip  # the IP as the download log keeps it (`download_ip`)
        self._s3 = s3
        self._bucket = bucket
        self._presign_seconds = presign_seconds
        self._model = model
        self._clock = clock

    def _find(self, token: str) -> DownloadLink:
        if not TOKEN_PATTERN.match(token or ""):
            raise NotFound("No such download link.")
        try:
            return self._model.get(hash_token(token))
        except DoesNotExist:
            raise NotFound("No such download link.") from None
        except PynamoDBException as exc:
            raise Unavailable("The store could not read this link. Try again.") from exc

    def landing(self, token: str) -> LinkView:
        """The facts the landing page shows; takes nothing.

        Raises:
            NotFound: unknown or malformed token.
            LinkGone: the link exists but gives no more downloads.
        """
        view = link_view(self._find(token))
        reason = view.gone_reason(self._clock().timestamp())
        if reason:
            raise _gone(reason)
        return view

    def views(self, token_hashes: Iterable[str]) -> dict[str, LinkView]:
        """The links stored under `token_hashes` (one BatchGetItem per hundred), by hash;
        hashes with no link are left out. Takes nothing.

        Raises:
            Unavailable: DynamoDB failed.
        """
        found = read_links(self._model, token_hashes)
        return {token_hash: link_view(link) for token_hash, link in found.items()}

    def take(self, token: str, ip: str = "", user_agent: str = "") -> Grant:
        """Take one download and return a short-lived presigned URL for the file.

        Raises:
            NotFound: unknown or malformed token.
            LinkGone: no downloads left, expired, refunded, revoked or on hold (nothing taken).
            Unavailable: DynamoDB or S3 failed (nothing taken).
        """
        if not TOKEN_PATTERN.match(token or ""):
            raise NotFound("No such download link.")
        now = self._clock().timestamp()
        model = self._model
        entry = DownloadEntry.taken(now, self._mark_ip(ip), user_agent)
        link = model(hash_token(token))
        try:
            link.update(
                actions=[model.downloads_left.add(-1), model.log.add({entry.to_json()})],
                # An unknown token fails `state = active` too, so no item is ever created.
                condition=(
                    (model.state == "active")
                    & (model.downloads_left > 0)
                    & (model.expires_at > int(now))
                ),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                raise self._explain(token) from None
            raise Unavailable("The store could not hand out the download. Try again.") from exc
        except PynamoDBException as exc:
            raise Unavailable("The store could not hand out the download. Try again.") from exc
        try:
            url = self.presign(link.file_key, link.filename)
        except Exception as exc:
            self._give_back(link)
            raise Unavailable("The file could not be prepared. Try again in a minute.") from exc
        return Grant(url=url, downloads_left=int(link.downloads_left))

    def presign(self, key: str, filename: str) -> str:
        safe_name = filename.replace('"', "")
        return self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{safe_name}"',
            },
            ExpiresIn=self._presign_seconds,
        )

    def _explain(self, token: str) -> Exception:
        """Why a conditional take failed: the link is gone, or it never existed."""
        link = self._find(token)
        reason = link_view(link).gone_reason(self._clock().timestamp()) or "used_up"
        return _gone(reason)

    def _give_back(self, link: DownloadLink) -> None:
        # If this fails too, the buyer loses one download; the seller can reset the link.
        with contextlib.suppress(PynamoDBException):
            link.update(actions=[self._model.downloads_left.add(1)])
