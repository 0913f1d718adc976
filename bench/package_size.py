"""Package: the app's zip and its dependencies' layer (Chalice `automatic_layer`, botocore
slimmed to the services the store calls) against our 20 MB target and Lambda's limits."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from bench.common import report
from bull_chalice.package import SIZE_TARGET, UNZIPPED_LIMIT, build, measure


def run() -> None:
    with TemporaryDirectory() as tmp:
        size = measure(build(Path(tmp) / "dev"))
    mb = 2**20
    report(
        "package: app + layer zipped / 20 MB",
        size.zipped / SIZE_TARGET,
        1.0,
        f"{size.zipped / mb:.1f} MB (app {size.app_zipped / mb:.2f} MB, layer "
        f"{size.layer_zipped / mb:.1f} MB)",
    )
    report(
        "package: unzipped / 250 MB",
        size.unzipped / UNZIPPED_LIMIT,
        1.0,
        f"{size.unzipped / mb:.1f} MB",
    )
    print("  largest: " + ", ".join(f"{n} {s / mb:.1f} MB" for n, s in size.largest))
