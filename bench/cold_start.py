"""Cold start: importing the Lambda app in a fresh interpreter vs `import boto3` alone; and the
packaged function as Lambda loads it, its dependencies in a layer (`automatic_layer`) vs the
same code and dependencies in one zip (the deploy before the layer)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, alternate, report, run_python

# What Lambda's Python runtime does at init: its path (task root, then the layer's folders in
# /opt), import the handler's module; then the first DynamoDB client (botocore's models).
PACKAGED_CHILD = """
import sys
sys.path[0:0] = sys.argv[1:]
import app
from chalicelib.platform import aws
aws.botocore_session().create_client("dynamodb", region_name="us-east-1")
"""


def _run(code: str) -> None:
    run_python(code, env={"AWS_DEFAULT_REGION": "us-east-1"})


def _clean(paths: list[str]) -> None:
    """A clean interpreter (-I -S: no site-packages) with only `paths` before the stdlib."""
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", PACKAGED_CHILD, *paths],
        cwd=paths[0],
        check=True,
        env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1"},
    )


def run(rounds: int = 15) -> None:
    app, baseline = alternate(lambda: _run("import app"), lambda: _run("import boto3"), rounds)
    report(
        "cold start: import app / import boto3",
        app / baseline,
        1.25,
        f"{app * 1000:.0f} ms vs {baseline * 1000:.0f} ms",
    )
    run_packaged(rounds)


def run_packaged(rounds: int) -> None:
    from bull_chalice.rehearse.artifact import build_package

    package = build_package(ROOT / "build" / "bench" / "package")
    assert package.opt is not None, "the package has no layer"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = package.opt / "python" / "lib" / version / "site-packages"
    layered = [str(package.task), str(site), str(package.opt / "python")]
    with tempfile.TemporaryDirectory() as tmp:
        one_zip = Path(tmp) / "task"
        shutil.copytree(package.task, one_zip)
        shutil.copytree(site, one_zip, dirs_exist_ok=True)
        with_layer, alone = alternate(
            lambda: _clean(layered), lambda: _clean([str(one_zip)]), rounds
        )
    report(
        "cold start, packaged: app + layer / one zip",
        with_layer / alone,
        1.10,
        f"{with_layer * 1000:.0f} ms vs {alone * 1000:.0f} ms (import app, first client)",
    )
