"""The artifact `chalice package` builds for Lambda, unzipped for the rehearsal."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bull_chalice.package import (
    GATEWAY_RESPONSES,
    LAYER_ZIP,
    package_command,
    packaging_lock,
    slim_built,
)
from bull_chalice.paths import project_root
from bull_chalice.rehearse import gateway

PACKAGE_STAGE = "dev"
# What `chalice package` reads: a change to any of these makes a new artifact.
PACKAGE_INPUTS = (
    "app.py",
    "requirements.txt",
    ".chalice/config.json",
    "chalicelib",
    str(GATEWAY_RESPONSES),
)


class RehearsalError(RuntimeError):
    """The artifact could not be built or an execution environment did not start."""


@dataclass(frozen=True)
class Package:
    """A built artifact: the unzipped function code, the unzipped layer (what Lambda puts in
    `/opt`; None without one) and the SAM template describing the API."""

    task: Path
    sam: Path
    opt: Path | None = None

    def function(self, name: str = "APIHandler") -> dict[str, Any]:
        """A function's properties: the API's (Chalice's `APIHandler`) unless named; the
        template also holds one per scheduled handler (`DailySummary`)."""
        return json.loads(self.sam.read_text())["Resources"][name]["Properties"]

    def api(self) -> gateway.RestApi:
        return gateway.RestApi.from_sam(json.loads(self.sam.read_text()))


def build_package(
    out_dir: Path,
    *,
    project_dir: Path | None = None,
    user_pool_arn: str = "",
    stage: str = PACKAGE_STAGE,
) -> Package:
    """`chalice package` the project into `out_dir` and unzip its code where every rehearsal of
    the same code shares it (`build/rehearse/task-<sha>`).

    The pool ARN is read when Chalice loads the app, so the Swagger carries the admin routes'
    Cognito authorizer as `chalice deploy` would; it changes the template, never the code.
    Unchanged inputs reuse the last build.

    Raises:
        RehearsalError: `chalice package` failed.
    """
    project = project_dir or project_root()
    artifact = out_dir / "artifact"
    marker = out_dir / "built"
    digest = _inputs_digest(project, user_pool_arn, stage)
    if not (marker.exists() and marker.read_text() == digest):
        shutil.rmtree(artifact, ignore_errors=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "USER_POOL_ARN": user_pool_arn,
        }
        chalice = Path(sys.executable).with_name("chalice")
        with packaging_lock(project):  # Chalice's dependency cache is shared
            done = subprocess.run(
                package_command(str(chalice), project, stage, artifact),
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RehearsalError(f"chalice package failed: {done.stderr.strip()[-500:]}")
            slim_built(project, artifact)
        marker.write_text(digest)
    layer = artifact / LAYER_ZIP
    return Package(
        task=_unzipped(project, artifact / "deployment.zip"),
        sam=artifact / "sam.json",
        opt=_unzipped(project, layer, "opt") if layer.exists() else None,
    )


def _unzipped(project: Path, archive: Path, kind: str = "task") -> Path:
    """The zip's contents in a folder named by its hash (Chalice's zips are reproducible)."""
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    task = project / "build" / "rehearse" / f"{kind}-{sha}"
    if task.is_dir():
        return task
    with packaging_lock(project):
        if not task.is_dir():
            partial = task.with_name(task.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            with zipfile.ZipFile(archive) as files:
                files.extractall(partial)
            partial.rename(task)
    return task


def _inputs_digest(project: Path, user_pool_arn: str, stage: str) -> str:
    digest = hashlib.sha256(f"{user_pool_arn}\0{stage}".encode())
    for name in PACKAGE_INPUTS:
        path = project / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(project)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
