"""Where a command acts, and the configuration it reads there.

A `Target` is a deployed stage (AWS, with the stage's environment from `.chalice/config.json`)
or the running local stack (moto, from its state file). `target_for` resolves `--stage` to
one, checking credentials and region up front; `--stage local` needs `make run` running.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3
import click
from botocore.parsers import ResponseParserError

from bull_chalice import paths
from bull_chalice.errors import attempt

stage_option = click.option(
    "--stage", default="dev", show_default=True, help="Chalice stage, or `local` for make run."
)


def reject_junk(http_response: Any, model: Any, **_: Any) -> None:
    """botocore takes a JSON-protocol answer that is not JSON as an empty one (and the command
    then trips over a missing key): refuse it as the XML protocols do."""
    if model.service_model.protocol not in ("json", "rest-json"):
        return
    if not 200 <= http_response.status_code < 300 or not http_response.content:
        return
    try:
        json.loads(http_response.content)
    except ValueError:
        raise ResponseParserError(f"{model.name}: the answer is not JSON") from None


# -- the project's configuration --------------------------------------------------------


def read_config() -> dict[str, Any]:
    return json.loads(paths.config_file().read_text())


def write_config(config: dict[str, Any]) -> None:
    paths.config_file().write_text(json.dumps(config, indent=2) + "\n")


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment in `.chalice/config.json`; empty when there is none."""
    try:
        config = read_config()
    except FileNotFoundError:
        return {}
    return config.get("stages", {}).get(stage, {}).get("environment_variables", {})


def deployed_url(stage: str) -> str | None:
    """The API Gateway URL `chalice deploy` recorded for the stage."""
    path = paths.deployed_file(stage)
    if not path.exists():
        return None
    for resource in json.loads(path.read_text()).get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return resource["rest_api_url"].rstrip("/")
    return None


def local_state() -> dict[str, Any]:
    """The running local stack's state file.

    Raises:
        click.ClickException: the local stack is not running.
    """
    try:
        return json.loads(paths.state_file().read_text())
    except FileNotFoundError:
        raise click.ClickException(
            "the local stack is not running: start it with `make run`"
        ) from None


def put_secret(ssm: Any, name: str, value: str, *, overwrite: bool = True) -> bool:
    """Store a SecureString; False when it exists and `overwrite` is off."""
    return attempt(
        ssm.put_parameter,
        "ParameterAlreadyExists",
        Name=name,
        Value=value,
        Type="SecureString",
        Overwrite=overwrite,
    )


# -- targets ----------------------------------------------------------------------------


@dataclass
class Target:
    """Where a command acts: a deployed stage (AWS) or the local stack (moto)."""

    stage: str
    session: Any
    endpoint: str | None = None
    local: dict[str, Any] | None = None

    def client(self, service: str) -> Any:
        client = self.session.client(service, endpoint_url=self.endpoint)
        client.meta.events.register("after-call", reject_junk)
        return client

    @property
    def region(self) -> str:
        return self.session.region_name

    def environment(self) -> dict[str, str]:
        """The app's environment for this stage (what `chalice local`/Lambda would see)."""
        if self.local is not None:
            return {
                "BULL_STAGE": "local",
                "AWS_ENDPOINT_URL": self.local["moto_url"],
                "AWS_REGION": self.local["region"],
                "USER_POOL_ID": self.local["user_pool_id"],
                "USER_POOL_CLIENT_ID": self.local["user_pool_client_id"],
                "SENDER_EMAIL": self.local["sender_email"],
                "SITE_URL": self.local["api_url"],
            }
        stage_env = stage_environment(self.stage)
        if "PRODUCTS_TABLE" not in stage_env:
            raise click.ClickException(
                f"stage {self.stage} is not set up: run `bull setup --stage {self.stage}` first"
            )
        env = {**stage_env, "AWS_REGION": self.region}
        if self.endpoint:  # the same AWS the command talks to, for PynamoDB too
            env["AWS_ENDPOINT_URL"] = self.endpoint
        return env

    def bind_tables(self) -> Any:
        """The app's settings for this stage, with every table model bound to the stage's
        tables through one connection made with this target's credentials (PynamoDB reads
        credentials from the environment: they are handed over there). Returns
        `(settings, tables)`.

        Raises:
            click.ClickException: no credentials, or the stage is not set up.
        """
        from pynamodb.connection import Connection

        from chalicelib.platform import config
        from chalicelib.platform.tables import bind_tables

        settings = config.load(self.environment())
        creds = self.session.get_credentials()
        if creds is None:
            raise click.ClickException("no AWS credentials found")
        frozen = creds.get_frozen_credentials()
        os.environ["AWS_ACCESS_KEY_ID"] = frozen.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
        if frozen.token:
            os.environ["AWS_SESSION_TOKEN"] = frozen.token
        connection = Connection(region=settings.region, host=settings.aws_endpoint_url)
        connection.session.register("after-call", reject_junk)
        return settings, bind_tables(settings, connection)

    def user_pool(self, setting: str) -> str:
        """The stage's `USER_POOL_ID` or `USER_POOL_CLIENT_ID`.

        Raises:
            click.ClickException: the stage has no user pool.
        """
        value = self.environment().get(setting)
        if not value:
            raise click.ClickException(
                f"stage {self.stage} has no user pool: run `bull setup` first"
            )
        return value


def target_for(stage: str, region: str | None = None) -> Target:
    """Resolve the stage to a session, checking credentials and region up front."""
    if stage == "local":
        state = local_state()
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any
            region_name=state["region"],
        )
        return Target("local", session, endpoint=state["moto_url"], local=state)
    session = boto3.session.Session(
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not session.region_name:
        raise click.ClickException("no AWS region: pass --region or set AWS_REGION")
    if session.get_credentials() is None:
        raise click.ClickException(
            "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    return Target(stage, session, endpoint=os.environ.get("AWS_ENDPOINT_URL") or None)
