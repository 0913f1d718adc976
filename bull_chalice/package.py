"""Building and measuring the Lambda deployment artifact (`chalice package`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bull_chalice.paths import REPO_ROOT, chalice_executable

ZIP_LIMIT = 50 * 1024 * 1024  # Lambda: direct upload of a zipped package
UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: function and layers, unzipped
# Merged into the SAM template: the headers API Gateway puts on its own 4xx/5xx answers
# (no such route, unauthorized, throttled, a function error), which never reach the app.
GATEWAY_RESPONSES = Path("infra") / "gateway-responses.json"


def package_command(chalice: str, project: Path, stage: str, out_dir: Path) -> list[str]:
    """The `chalice package` command line for `stage` into `out_dir`, with the gateway
    responses merged into the template."""
    merge = ["--merge-template", str(project / GATEWAY_RESPONSES)]
    return [chalice, "package", "--stage", stage, *merge, str(out_dir)]


@dataclass(frozen=True)
class PackageSize:
    zipped: int
    unzipped: int
    largest: list[tuple[str, int]]

    def report(self) -> str:
        mb = 1024 * 1024
        lines = [
            f"zipped   {self.zipped / mb:6.1f} MB of {ZIP_LIMIT / mb:.0f} MB "
            f"({self.zipped / ZIP_LIMIT:.0%})",
            f"unzipped {self.unzipped / mb:6.1f} MB of {UNZIPPED_LIMIT / mb:.0f} MB "
            f"({self.unzipped / UNZIPPED_LIMIT:.0%})",
            "largest: " + ", ".join(f"{name} {size / mb:.1f} MB" for name, size in self.largest),
        ]
        return "\n".join(lines)


@contextlib.contextmanager
def packaging_lock(project: Path) -> Iterator[None]:
    """One `chalice package` at a time in a project: they share Chalice's dependency cache
    (`.chalice/deployments`), which a second build could read half-written."""
    build_dir = project / "build"
    build_dir.mkdir(exist_ok=True)
    with (build_dir / ".rehearse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(out_dir: Path, stage: str = "dev") -> Path:
    """Run `chalice package` for `stage` into `out_dir`; the deployment zip's path."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    with packaging_lock(REPO_ROOT):
        subprocess.run(
            package_command(chalice_executable(), REPO_ROOT, stage, out_dir),
            cwd=REPO_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    return out_dir / "deployment.zip"


def measure(zip_path: Path, top: int = 5) -> PackageSize:
    with zipfile.ZipFile(zip_path) as archive:
        sizes: Counter[str] = Counter()
        for item in archive.infolist():
            sizes[item.filename.split("/")[0]] += item.file_size
    return PackageSize(
        zipped=zip_path.stat().st_size,
        unzipped=sum(sizes.values()),
        largest=sizes.most_common(top),
    )
