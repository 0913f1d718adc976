"""Erasing a buyer's traces from the links table's items (`privacy.Privacy.erase`): the
device behind each logged download, and the names given to a license key's activations."""

from __future__ import annotations

from dataclasses import replace

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.errors import Unavailable
from chalicelib.platform.tables import DownloadLink, License
from chalicelib.platform.transactions import condition_failed
from chalicelib.sale.download_log import download_log
from chalicelib.sale.privacy_view import activations_of

SCRUB_ATTEMPTS = 4


def scrub_link(model: type[DownloadLink], link: DownloadLink) -> int:
    """Blank the IP hash and user agent of every download the link logged; how many
    entries needed it. Conditional on no download being taken meanwhile (each take logs
    one), else read again."""
    for _ in range(SCRUB_ATTEMPTS):
        entries = download_log(link)
        marked = [e for e in entries if e.ip_hash or e.user_agent]
        if not marked:
            return 0
        clean = {replace(e, ip_hash="", user_agent="").to_json() for e in entries}
        try:
            link.update(
                actions=[model.log.set(clean)],
                condition=model.downloads_left == int(link.downloads_left),
            )
            return len(marked)
        except UpdateError as exc:
            if not condition_failed(exc):
                raise Unavailable("The store could not scrub a download link.") from exc
        except PynamoDBException as exc:
            raise Unavailable("The store could not scrub a download link.") from exc
        try:
            link = model.get(link.token_hash, consistent_read=True)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise Unavailable("The store could not read a download link.") from exc
    raise Unavailable("Downloads kept changing the link; run the erase again.")


def scrub_license(model: type[License], item: License) -> int:
    """Blank the name the buyer gave each activated instance (it may name them or their
    machine), keeping its id and time, so the key still counts and frees activations."""
    blanked = 0
    for instance, entry in activations_of(item).items():
        if not (entry or {}).get("name"):
            continue
        try:
            item.update(
                actions=[model.activations[instance].set({**entry, "name": ""})],
                condition=model.activations[instance].exists(),
            )
            blanked += 1
        except UpdateError as exc:
            if not condition_failed(exc):  # else deactivated meanwhile: nothing to blank
                raise Unavailable("The store could not blank an instance name.") from exc
        except PynamoDBException as exc:
            raise Unavailable("The store could not blank an instance name.") from exc
    return blanked
