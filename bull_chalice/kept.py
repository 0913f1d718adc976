"""What a local stack keeps across restarts, in its state dir's `data/`.

- `aws.jsonl`: moto's own recorder (`MOTO_RECORDER_FILEPATH`) appends every request the moto
  server receives — tables, files, mails, users — one JSON line each, written before it is
  answered, so a `kill -9` loses nothing acknowledged. A restart replays it against the new
  moto server, then records on. Cognito's pool and client ids come from moto's HASH strategy,
  so the replayed requests find the pool they name.
- `stripe.json`: the Stripe stand-in's sessions, charges and webhook endpoints.
- `link-signing-key`: the key download links are signed with (mode 600), so links mailed
  before a restart keep working.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import requests

RECORDER = "/moto-api/recorder"


class KeptData:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.recording = directory / "aws.jsonl"
        self.standin_state = directory / "stripe.json"
        self.key_file = directory / "link-signing-key"

    def forget(self) -> None:
        """Start empty (`BULL_FRESH=1`)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def link_key(self) -> str:
        """The kept link-signing key, made on first use."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
        return self.key_file.read_text().strip()

    def moto_environment(self) -> dict[str, str]:
        return {
            "MOTO_RECORDER_FILEPATH": str(self.recording),
            "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
            "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
            # Cognito checks TOTP codes as AWS does (moto accepts any code without it).
            "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true",
        }

    def replay(self, moto_url: str) -> bool:
        """Replay the recording into a fresh moto server at `moto_url`, then record what
        follows; whether there was anything to replay."""
        entries = self.recording.read_text().splitlines() if self.recording.exists() else []
        with requests.Session() as http:
            for line in entries:
                if line.strip():
                    _send(http, moto_url, json.loads(line))
            http.post(f"{moto_url}{RECORDER}/start-recording", timeout=10).raise_for_status()
        return bool(entries)


def _send(http: requests.Session, moto_url: str, entry: dict) -> None:
    """One recorded request, sent to this run's moto server (as moto's own replay does)."""
    import base64
    from urllib.parse import urlsplit

    body = entry.get("body") or b""
    if entry.get("body_encoded"):
        body = base64.b64decode(body)
    recorded = urlsplit(entry["url"])
    url = f"{moto_url}{recorded.path}" + (f"?{recorded.query}" if recorded.query else "")
    headers = {k: v for k, v in (entry.get("headers") or {}).items() if k.lower() != "host"}
    headers.pop("Transfer-Encoding", None)
    http.request(entry["method"], url, headers=headers, data=body, timeout=30)
