"""Where things live: the one place `bull` finds the project, `.chalice/`, the local stack's
state file and the `chalice` executable.

`BULL_PROJECT_DIR` points the commands at another copy of the project (a test runs the whole
deploy in one); without it, the repository this package sits in. `BULL_STATE_DIR` (default
`.bull`) holds a local stack's `local.json`, logs and data; two stacks with different state dirs
never touch each other's files. `BULL_STATE_FILE` moves `local.json` alone.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = REPO_ROOT / ".bull"  # the default state dir: the local stack's state, logs, data


def state_dir() -> Path:
    """The local stack's state dir: `BULL_STATE_DIR`, else the folder of `BULL_STATE_FILE`,
    else `.bull`."""
    override = os.environ.get("BULL_STATE_DIR", "").strip()
    if override:
        return Path(override).resolve()
    state_file = os.environ.get("BULL_STATE_FILE", "").strip()
    return Path(state_file).resolve().parent if state_file else LOCAL_DIR


def project_root() -> Path:
    """The project directory: `BULL_PROJECT_DIR` if set, else the repository root."""
    override = os.environ.get("BULL_PROJECT_DIR", "").strip()
    return Path(override).resolve() if override else REPO_ROOT


def chalice_dir() -> Path:
    """The project's `.chalice/` (config.json, policies, deployed/)."""
    return project_root() / ".chalice"


def config_file() -> Path:
    """The project's `.chalice/config.json`."""
    return chalice_dir() / "config.json"


def deployed_file(stage: str) -> Path:
    """What `chalice deploy` recorded for the stage (`.chalice/deployed/<stage>.json`)."""
    return chalice_dir() / "deployed" / f"{stage}.json"


def state_file() -> Path:
    """The running local stack's `local.json`: `BULL_STATE_FILE`, else in the state dir."""
    override = os.environ.get("BULL_STATE_FILE", "").strip()
    return Path(override) if override else state_dir() / "local.json"


def chalice_executable() -> str:
    """The `chalice` installed beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("chalice")
    return str(beside) if beside.exists() else (shutil.which("chalice") or "chalice")
