"""A link's download log: one entry per download taken, the evidence a seller shows in a
dispute (when, from which keyed IP, with which browser)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.platform.tables import DownloadLink

MAX_USER_AGENT = 300


@dataclass(frozen=True)
class DownloadEntry:
    """One taken download: the evidence a seller shows in a dispute.

    Stored as a JSON string in the link's `log` set; `id` keeps two downloads in the same
    microsecond from the same browser apart (a set would merge them).
    """

    at: datetime
    ip_hash: str = ""
    user_agent: str = ""
    id: str = ""

    @classmethod
    def taken(cls, now: float, ip_mark: str, user_agent: str) -> DownloadEntry:
        """A download taken at `now`; `ip_mark` is the keyed IP (`download_ip`), "" if none."""
        return cls(
            at=datetime.fromtimestamp(now, UTC),
            ip_hash=ip_mark,
            user_agent=(user_agent or "")[:MAX_USER_AGENT],
            id=secrets.token_hex(4),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "ip_hash": self.ip_hash,
                "user_agent": self.user_agent,
                "id": self.id,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> DownloadEntry:
        data = json.loads(text)
        return cls(
            at=datetime.fromisoformat(data["at"]),
            ip_hash=data.get("ip_hash", ""),
            user_agent=data.get("user_agent", ""),
            id=data.get("id", ""),
        )


def download_log(link: DownloadLink) -> list[DownloadEntry]:
    """The link's downloads, oldest first."""
    return sorted((DownloadEntry.from_json(text) for text in link.log or ()), key=lambda e: e.at)
