"""Building and measuring the Lambda deployment artifact (`chalice package`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bull_chalice.paths import REPO_ROOT, chalice_executable
from chalicelib.platform.aws import SERVICES

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


SIZE_TARGET = 20 * 1024 * 1024  # ours (issue 15): the app and its layer, zipped
LAYER_ZIP = "layer-deployment.zip"  # Chalice's `automatic_layer`: the dependencies
# botocore's service models, one folder per service (~16 MB zipped for ~400 services).
BOTOCORE_MODEL = re.compile(r"^python/lib/python3\.\d+/site-packages/botocore/data/([^/]+)/")


@dataclass(frozen=True)
class PackageSize:
    """The app's zip and its dependencies' layer zip (`automatic_layer`), and what dominates."""

    app_zipped: int
    layer_zipped: int
    unzipped: int
    largest: list[tuple[str, int]]

    @property
    def zipped(self) -> int:
        return self.app_zipped + self.layer_zipped

    def report(self) -> str:
        mb = 1024 * 1024
        lines = [
            f"zipped   {self.zipped / mb:6.1f} MB (app {self.app_zipped / mb:.2f} MB + layer "
            f"{self.layer_zipped / mb:.1f} MB) of {SIZE_TARGET / mb:.0f} MB "
            f"({self.zipped / SIZE_TARGET:.0%})",
            f"unzipped {self.unzipped / mb:6.1f} MB of {UNZIPPED_LIMIT / mb:.0f} MB "
            f"({self.unzipped / UNZIPPED_LIMIT:.0%})",
            "largest: " + ", ".join(f"{name} {size / mb:.1f} MB" for name, size in self.largest),
        ]
        return "\n".join(lines)


def slim_layer(layer: Path, services: Iterable[str]) -> int:
    """Rewrite the layer zip without botocore's models of the services the store never calls
    (the SDK's code and version stay the pinned ones); the bytes saved. Idempotent, and the
    result is reproducible (entries keep their order and timestamps)."""
    keep = set(services)
    before = layer.stat().st_size
    slim = layer.with_suffix(".slim")
    with zipfile.ZipFile(layer) as source, zipfile.ZipFile(slim, "w") as target:
        for item in source.infolist():
            model = BOTOCORE_MODEL.match(item.filename)
            if model is None or model.group(1) in keep:
                target.writestr(item, source.read(item))
    slim.replace(layer)
    return before - layer.stat().st_size


@contextlib.contextmanager
def packaging_lock(project: Path) -> Iterator[None]:
    """One `chalice package` at a time in a project: they share Chalice's dependency cache
    (`.chalice/deployments`), which a second build could read half-written."""
    build_dir = project / "build"
    build_dir.mkdir(exist_ok=True)
    with (build_dir / ".rehearse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def cached_layer(project: Path) -> Path:
    """Where Chalice keeps the project's dependency layer between builds
    (`.chalice/deployments/managed-layer-<hash of requirements.txt>-pythonX.Y.zip`): `chalice
    package` and `chalice deploy` both reuse that file while `requirements.txt` is unchanged."""
    from chalice.deploy.packager import LayerDeploymentPackager
    from chalice.utils import UI, OSUtils

    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packager = LayerDeploymentPackager(OSUtils(), None, UI())  # type: ignore[arg-type]
    return Path(packager.deployment_package_filename(str(project), python))


def slim_built(project: Path, out_dir: Path) -> None:
    """Slim the layer `chalice package` wrote into `out_dir` and the cached layer it came from,
    so that a later `chalice deploy`, which reuses the cache, publishes the slim one."""
    for layer in (cached_layer(project), out_dir / LAYER_ZIP):
        if layer.exists():
            slim_layer(layer, SERVICES)


def build(out_dir: Path, stage: str = "dev", project: Path = REPO_ROOT) -> Path:
    """Run `chalice package` for `stage` of `project` into `out_dir` and slim its layer, and
    Chalice's cached copy of it (`slim_built`); the app's deployment zip's path (the layer zip
    is beside it).

    Raises:
        subprocess.CalledProcessError: `chalice package` failed (its output in `stderr`).
    """
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    with packaging_lock(project):
        subprocess.run(
            package_command(chalice_executable(), project, stage, out_dir),
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        slim_built(project, out_dir)
    return out_dir / "deployment.zip"


def prepare_layer(project: Path, stage: str) -> PackageSize:
    """Package `stage` once, in a folder thrown away after, so that the layer Chalice keeps for
    `chalice deploy` is the slim one; the package's sizes.

    Raises:
        click.ClickException: `chalice package` failed (the end of what it said).
    """
    import click

    with tempfile.TemporaryDirectory(prefix="bull-package-") as tmp:
        try:
            size = measure(build(Path(tmp) / "package", stage, project))
        except subprocess.CalledProcessError as exc:
            said = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
            raise click.ClickException("chalice package failed: " + " / ".join(said)) from None
    if not cached_layer(project).exists():  # e.g. another architecture: a name we did not make
        raise click.ClickException(
            f"chalice package left no layer at {cached_layer(project)}: chalice deploy would "
            "build and publish its own, unslimmed"
        )
    return size


def measure(zip_path: Path, top: int = 5) -> PackageSize:
    """The app's zip at `zip_path` and the layer zip beside it (if any): sizes, and the `top`
    largest top-level packages unzipped."""
    layer = zip_path.with_name(LAYER_ZIP)
    sizes: Counter[str] = Counter()
    for archive_path in (zip_path, layer):
        if not archive_path.exists():
            continue
        with zipfile.ZipFile(archive_path) as archive:
            for item in archive.infolist():
                name = item.filename.split("/")
                top_name = name[4] if name[0] == "python" and len(name) > 4 else name[0]
                sizes[top_name] += item.file_size
    return PackageSize(
        app_zipped=zip_path.stat().st_size,
        layer_zipped=layer.stat().st_size if layer.exists() else 0,
        unzipped=sum(sizes.values()),
        largest=sizes.most_common(top),
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m bull_chalice.package OUT_DIR`: what `make package` runs."""
    out = Path((argv if argv is not None else sys.argv[1:] or ["build/package"])[0])
    print(measure(build(out.resolve())).report())


if __name__ == "__main__":
    main()
