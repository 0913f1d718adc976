"""`chalice package` builds a deployable artifact within Lambda's size limits."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bull_chalice.package import UNZIPPED_LIMIT, ZIP_LIMIT, build, measure


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("package") / "dev"
    return build(out)


def test_package_fits_lambda_limits_and_reports_its_size(package, capsys):
    size = measure(package)
    with capsys.disabled():
        print("\n" + size.report())
    assert size.zipped < ZIP_LIMIT and size.unzipped < UNZIPPED_LIMIT


def test_package_ships_the_app_and_templates_but_not_the_cli_or_tests(package):
    names = zipfile.ZipFile(package).namelist()
    assert "app.py" in names and "chalicelib/web/templates/admin.html" in names
    assert not any(n.startswith(("bull_chalice/", "tests/", "bench/")) for n in names)


def test_packaged_template_is_cfn_lint_clean_and_uses_the_hand_written_policy(package):
    sam = package.parent / "sam.json"
    text = sam.read_text()
    assert "dynamodb:UpdateItem" in text and "ses:SendEmail" in text
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(sam)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
