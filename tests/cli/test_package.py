"""`chalice package` builds a deployable artifact within Lambda's size limits."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bull_chalice.package import (
    BOTOCORE_MODEL,
    LAYER_ZIP,
    SIZE_TARGET,
    UNZIPPED_LIMIT,
    ZIP_LIMIT,
    build,
    measure,
)
from chalicelib.platform.aws import SERVICES


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("package") / "dev"
    return build(out)


def test_package_fits_lambda_limits_and_reports_its_size(package, capsys):
    size = measure(package)
    with capsys.disabled():
        print("\n" + size.report())
    assert size.zipped < ZIP_LIMIT and size.unzipped < UNZIPPED_LIMIT
    assert size.zipped <= SIZE_TARGET  # the app and its layer together


def test_a_deploy_uploads_the_app_alone_and_its_dependencies_come_in_a_layer(package):
    app = zipfile.ZipFile(package).namelist()
    assert not any(n.startswith(("stripe/", "botocore/", "jinja2/", "pynamodb/")) for n in app)
    layer = zipfile.ZipFile(package.with_name(LAYER_ZIP)).namelist()
    site = {n.split("/")[4] for n in layer if n.startswith("python/lib/")}
    assert {"stripe", "botocore", "boto3", "jinja2", "pynamodb", "jwt", "cryptography"} <= site
    sam = json.loads((package.parent / "sam.json").read_text())["Resources"]
    assert sam["ManagedLayer"]["Properties"]["ContentUri"] == f"./{LAYER_ZIP}"
    assert sam["APIHandler"]["Properties"]["Layers"] == [{"Ref": "ManagedLayer"}]


def test_the_layer_keeps_botocore_models_only_for_the_services_the_store_calls(package):
    layer = zipfile.ZipFile(package.with_name(LAYER_ZIP)).namelist()
    models = {m.group(1) for m in map(BOTOCORE_MODEL.match, layer) if m}
    assert models == set(SERVICES)
    assert any(n.endswith("botocore/data/endpoints.json") for n in layer)


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


def test_packaged_daily_summary_runs_on_its_schedule_with_the_stages_policy(package):
    resources = json.loads((package.parent / "sam.json").read_text())["Resources"]
    summary, api = resources["DailySummary"]["Properties"], resources["APIHandler"]["Properties"]
    # A blueprint's handler is deployed as `<its module>.<function>`: it must import from there.
    assert summary["Handler"] == "chalicelib.routes.schedules.daily_summary"
    [event] = summary["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {"Schedule": "cron(0 7 * * ? *)"}}
    assert summary["Environment"] == api["Environment"]
    assert summary["Layers"] == api["Layers"] == [{"Ref": "ManagedLayer"}]

    def policy(function: dict) -> dict:
        role = resources[function["Role"]["Fn::GetAtt"][0]]
        return [p["PolicyDocument"] for p in role["Properties"]["Policies"]]

    # Its own role, with the same hand-written policy as the API (ses:SendEmail from the
    # sender, the sales and products tables, its log group under /aws/lambda/bull-dev*).
    assert policy(summary) == policy(api)
    with zipfile.ZipFile(package) as code:
        assert "chalicelib/routes/schedules.py" in code.namelist()


def test_packaged_daily_summary_handler_runs_in_a_clean_interpreter(package, tmp_path):
    """Lambda imports the handler string from the unzipped package alone (no app.py import
    first); without NOTIFY_EMAIL it answers that it sent nothing, touching no AWS service."""
    with zipfile.ZipFile(package) as code:
        code.extractall(tmp_path / "task")
    with zipfile.ZipFile(package.with_name(LAYER_ZIP)) as layer:
        layer.extractall(tmp_path / "opt")  # what Lambda mounts at /opt
    site = next((tmp_path / "opt" / "python" / "lib").glob("python3*/site-packages"))
    event = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-21T07:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/bull-dev-daily_summary"],
        "detail": {},
    }
    script = (
        "import importlib, json, sys\n"
        "sys.path[:0] = ['.', sys.argv[3]]  # Lambda's task root, then its layer\n"
        "module, _, name = sys.argv[1].rpartition('.')\n"
        "handler = getattr(importlib.import_module(module), name)\n"
        "print(json.dumps(handler(json.loads(sys.argv[2]), None)))\n"
    )
    env = {"AWS_DEFAULT_REGION": "us-east-1", "BULL_STAGE": "dev", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            script,
            "chalicelib.routes.schedules.daily_summary",
            json.dumps(event),
            str(site),
        ],
        cwd=tmp_path / "task",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {"sent": False}


def test_api_gateways_own_answers_carry_the_security_headers_and_a_throttled_one_retry_after(
    package,
):
    resources = json.loads((package.parent / "sam.json").read_text())["Resources"]
    body = resources["RestAPI"]["Properties"]["DefinitionBody"]
    answers = body["x-amazon-apigateway-gateway-responses"]
    assert set(answers) == {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"}
    for answer in answers.values():
        headers = answer["responseParameters"]
        assert headers["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'"
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
    throttled = answers["THROTTLED"]
    assert throttled["statusCode"] == "429"
    assert throttled["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
