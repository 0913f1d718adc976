"""Cold start: importing the Lambda app in a fresh interpreter vs `import boto3` alone."""

from __future__ import annotations

from bench.common import alternate, report, run_python


def _run(code: str) -> None:
    run_python(code, env={"AWS_DEFAULT_REGION": "us-east-1"})


def run(rounds: int = 15) -> None:
    app, baseline = alternate(lambda: _run("import app"), lambda: _run("import boto3"), rounds)
    report(
        "cold start: import app / import boto3",
        app / baseline,
        1.25,
        f"{app * 1000:.0f} ms vs {baseline * 1000:.0f} ms",
    )
