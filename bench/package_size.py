"""Package: the deployment zip's size against Lambda's limits, and what dominates it."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from bench.common import report
from bull_chalice.package import UNZIPPED_LIMIT, ZIP_LIMIT, build, measure


def run() -> None:
    with TemporaryDirectory() as tmp:
        size = measure(build(Path(tmp) / "dev"))
    report("package: zipped / 50 MB", size.zipped / ZIP_LIMIT, 1.0, f"{size.zipped / 2**20:.1f} MB")
    report(
        "package: unzipped / 250 MB",
        size.unzipped / UNZIPPED_LIMIT,
        1.0,
        f"{size.unzipped / 2**20:.1f} MB",
    )
    print("  largest: " + ", ".join(f"{n} {s / 2**20:.1f} MB" for n, s in size.largest))
