"""Where the project lives: the one place `bull` finds `.chalice/` (and the app) from.

`BULL_PROJECT_DIR` points the commands at another copy of the project (a test runs the whole
deploy in one); without it, the repository this package sits in.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    """The project directory: `BULL_PROJECT_DIR` if set, else the repository root."""
    override = os.environ.get("BULL_PROJECT_DIR", "").strip()
    return Path(override).resolve() if override else REPO_ROOT


def chalice_dir() -> Path:
    """The project's `.chalice/` (config.json, policies, deployed/)."""
    return project_root() / ".chalice"
