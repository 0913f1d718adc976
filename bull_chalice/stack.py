"""The infra stack (`infra/stack.yaml` as `bull-<stage>`) in CloudFormation: describe, create
or update and wait, delete and wait, and say which resource made it fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from bull_chalice import infra
from bull_chalice.errors import one_line
from bull_chalice.targets import Target, target_for


@dataclass
class StageStack:
    """A stage's infra stack where it is (or would be): the target, the account, the stack's
    name, the names the template gives its kept resources, and its description (None: there
    is no such stack)."""

    target: Target
    account: str
    name: str
    names: dict[str, str]
    cloudformation: Any
    description: dict[str, Any] | None


def locate(stage: str, region: str | None) -> StageStack:
    """The stage's stack in the account and region the credentials name."""
    target = target_for(stage, region)
    account = target.client("sts").get_caller_identity()["Account"]
    name = infra.stack_name(stage)
    cloudformation = target.client("cloudformation")
    return StageStack(
        target=target,
        account=account,
        name=name,
        names=infra.kept_names(stage, account, target.region),
        cloudformation=cloudformation,
        description=describe_stack(cloudformation, name),
    )


def describe_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """The stack's description, or None when there is no such stack."""
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        return None


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    """A stack description's outputs, by output name."""
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    return outputs_of(cloudformation.describe_stacks(StackName=name)["Stacks"][0])


def _failure(cloudformation: Any, name: str, exc: WaiterError) -> click.ClickException:
    """What made the stack fail, from its events (the first resource that failed)."""
    try:
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    except (ClientError, BotoCoreError):
        events = []
    for event in reversed(events):  # oldest first
        if event.get("ResourceStatus", "").endswith("_FAILED") and event.get(
            "ResourceStatusReason"
        ):
            return click.ClickException(
                one_line(
                    f"stack {name} failed: {event.get('LogicalResourceId')}: "
                    f"{event['ResourceStatusReason']}"
                )
            )
    return click.ClickException(one_line(f"stack {name} failed: {exc}"))


def _wait(cloudformation: Any, waiter: str, name: str) -> None:
    try:
        cloudformation.get_waiter(waiter).wait(StackName=name)
    except WaiterError as exc:
        raise _failure(cloudformation, name, exc) from None


def deploy_stack(
    cloudformation: Any, name: str, parameters: dict[str, str], stack: dict[str, Any] | None
) -> str:
    """Create or update the infra stack and wait; `created`, `updated` or `unchanged`.

    `stack` is its description (None: there is none). A stack whose creation failed
    (ROLLBACK_COMPLETE) cannot be updated: it is deleted and created again.
    """
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    body = infra.template_body()
    if stack is not None and stack.get("StackStatus") == "ROLLBACK_COMPLETE":
        click.echo(f"Stack {name} failed to create earlier; deleting it to start over.")
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=name)
        stack = None
    if stack is None:
        cloudformation.create_stack(StackName=name, TemplateBody=body, Parameters=params)
        _wait(cloudformation, "stack_create_complete", name)
        return "created"
    try:
        cloudformation.update_stack(StackName=name, TemplateBody=body, Parameters=params)
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            return "unchanged"
        raise
    _wait(cloudformation, "stack_update_complete", name)
    return "updated"


def delete_stack(cloudformation: Any, name: str) -> None:
    """Delete the stack and wait until it is gone."""
    cloudformation.delete_stack(StackName=name)
    _wait(cloudformation, "stack_delete_complete", name)
