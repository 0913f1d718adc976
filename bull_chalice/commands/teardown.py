"""`bull teardown`: remove what `bull setup`, `chalice deploy` and `bull stripe webhook` made
for a stage, keeping the tables and bucket (a later `bull setup` adopts them) unless
`--delete-data`. Each step says what it removed or that it was already gone, so a re-run after
a half-finished teardown finishes it."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import click
from botocore.exceptions import ClientError

from bull_chalice import infra, paths
from bull_chalice.errors import attempt, cli_errors, error_code, one_line
from bull_chalice.stack import delete_stack, locate, outputs_of
from bull_chalice.stripe_client import stage_client, store_id, webhook_endpoints
from bull_chalice.targets import (
    Target,
    deployed_url,
    read_config,
    stage_environment,
    stage_option,
    write_config,
)


def _delete_webhooks(target: Target, stage: str, names: dict[str, str], env: dict[str, str]):
    """Delete the stage's Stripe webhook endpoints: those at `{api}/webhooks/stripe` for the
    deployed API or SITE_URL, and those `bull stripe webhook` tagged with the stage's store."""
    try:
        client = stage_client(target.client("ssm"), names["StripeSecretKeyParam"])
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        click.echo("Stripe webhook: no Stripe key in SSM any more, so none left to remove.")
        return
    urls = {
        f"{base.rstrip('/')}/webhooks/stripe"
        for base in (deployed_url(stage), env.get("SITE_URL"))
        if base
    }
    store = store_id(stage, env)
    # Every page first, then the deletions: deleting while paging would pull the cursor
    # (`starting_after`, the last id of a page) out from under the next page.
    doomed = [
        (endpoint.id, data.get("url"))
        for endpoint in webhook_endpoints(client)
        for data in [endpoint.to_dict()]  # a StripeObject is not a dict
        if data.get("url") in urls or (data.get("metadata") or {}).get("store") == store
    ]
    for endpoint_id, url in doomed:
        try:
            client.v1.webhook_endpoints.delete(endpoint_id)
        except Exception as exc:
            if getattr(exc, "code", None) != "resource_missing":
                raise
        click.echo(f"Deleted the Stripe webhook {endpoint_id} ({url}).")
    if not doomed:
        click.echo(f"Stripe webhook: none for stage {stage} (already gone).")


def _chalice_delete(target: Target, stage: str) -> None:
    """`chalice delete --stage S` in the project dir, when chalice deployed something."""
    deployed = paths.deployed_file(stage)
    if not deployed.exists() or not json.loads(deployed.read_text()).get("resources"):
        click.echo(f"API and function: no chalice deployment of stage {stage} (already gone).")
        return
    chalice = paths.chalice_executable()
    env = {**os.environ, "AWS_DEFAULT_REGION": target.region, "AWS_REGION": target.region}
    if target.endpoint:
        env["AWS_ENDPOINT_URL"] = target.endpoint
    try:
        done = subprocess.run(
            [chalice, "delete", "--stage", stage],
            cwd=paths.project_root(),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise click.ClickException(f"could not run {chalice}: {exc.strerror}") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise click.ClickException(
            one_line(f"chalice delete --stage {stage} failed: {lines[-1] if lines else '?'}")
        )
    click.echo(f"Deleted the API and function (chalice delete --stage {stage}).")


def _delete_parameters(target: Target, names: dict[str, str]) -> None:
    ssm = target.client("ssm")
    for output in infra.SECRET_OUTPUTS:
        if attempt(ssm.delete_parameter, "ParameterNotFound", Name=names[output]):
            click.echo(f"Deleted the SSM parameter {names[output]}.")
        else:
            click.echo(f"SSM parameter {names[output]}: already gone.")


def _empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; how many were removed."""
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise click.ClickException(
                    f"could not empty {bucket}: {first.get('Key')}: {first.get('Message')}"
                )
            removed += len(batch)
    return removed


def _delete_data(target: Target, names: dict[str, str]) -> None:
    dynamodb = target.client("dynamodb")
    for output in infra.TABLE_SUFFIXES:
        table = names[output]
        if not attempt(dynamodb.delete_table, "ResourceNotFoundException", TableName=table):
            click.echo(f"Table {table}: already gone.")
            continue
        dynamodb.get_waiter("table_not_exists").wait(TableName=table)
        click.echo(f"Deleted the table {table}.")
    s3 = target.client("s3")
    bucket = names["ProductsBucket"]
    try:
        removed = _empty_bucket(s3, bucket)
        s3.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucket":
            raise
        click.echo(f"Bucket {bucket}: already gone.")
        return
    click.echo(f"Emptied ({removed} object versions) and deleted the bucket {bucket}.")


def _clear_stage_config(stage: str) -> None:
    try:
        config = read_config()
    except FileNotFoundError:
        return
    stage_config = config.get("stages", {}).get(stage)
    if stage_config is None:
        click.echo(f"Stage {stage} is not in .chalice/config.json (already clear).")
        return
    bare = {"BULL_STAGE": stage}
    if stage_config.get("environment_variables") == bare and (
        "api_gateway_custom_domain" not in stage_config
    ):
        click.echo(f"Stage {stage}'s environment in .chalice/config.json: already clear.")
        return
    stage_config["environment_variables"] = bare
    stage_config.pop("api_gateway_custom_domain", None)
    write_config(config)
    click.echo(f"Cleared stage {stage}'s environment and custom domain in .chalice/config.json.")


@click.command()
@stage_option
@click.option("--region", help="AWS region (default: AWS_REGION).")
@click.option(
    "--delete-data",
    is_flag=True,
    help="Also delete the tables (every sale and purchase) and the bucket (every file and "
    "version). Without it they are kept, and a later `bull setup` adopts them.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@cli_errors
def teardown(stage: str, region: str | None, delete_data: bool, yes: bool) -> None:
    """Remove what `bull setup`, `chalice deploy` and `bull stripe webhook` made for a stage.

    Deletes the Stripe webhook endpoint, the API and function, the SSM parameters, the
    infra stack and the stage's environment in .chalice/config.json. Keeps the tables and the
    bucket unless --delete-data. Safe to run again.
    """
    if stage == "local":
        raise click.ClickException("the local stack stops with Ctrl-C; BULL_FRESH=1 starts empty")
    found = locate(stage, region)
    target, name, names, stack = found.target, found.name, found.names, found.description
    cloudformation = found.cloudformation
    if stack is not None:
        outputs = outputs_of(stack)
        names.update({k: v for k, v in outputs.items() if k in names and v})
    env = stage_environment(stage)
    if not yes:
        fate = (
            "DELETE the tables and the bucket: every sale, purchase and file, for good"
            if delete_data
            else "keep the tables and the bucket"
        )
        click.confirm(
            f"Tear down stage {stage} in {target.region} (the API and function, the Stripe "
            f"webhook, the SSM secrets and the stack {name}) and {fate}?",
            abort=True,
        )
    _delete_webhooks(target, stage, names, env)
    _chalice_delete(target, stage)
    _delete_parameters(target, names)
    if stack is None:
        click.echo(f"Stack {name}: already gone.")
    else:
        delete_stack(cloudformation, name)
        click.echo(f"Deleted the stack {name}.")
    if delete_data:
        _delete_data(target, names)
    else:
        tables = ", ".join(names[output] for output in infra.TABLE_SUFFIXES)
        click.echo(
            f"Kept the tables {tables} and the bucket {names['ProductsBucket']}; "
            f"`bull setup --stage {stage}` adopts them, `--delete-data` deletes them."
        )
    _clear_stage_config(stage)
    click.echo(f"Stage {stage} is torn down.")
