"""The seller's cost ceiling (issue 15): how many requests a second API Gateway lets through to
the store and how many Lambda containers may run it at once, whatever a flood of clients does.

- Reserved concurrency is Chalice's own `reserved_concurrency` setting, written for the API's
  function (`lambda_functions.api_handler`) in the stage of `.chalice/config.json`; `chalice
  deploy` applies it (PutFunctionConcurrency, or DeleteFunctionConcurrency when it is absent).
  The other functions (the daily schedule) are left unreserved.
- Stage throttling has no Chalice setting: `bull` keeps the rate and burst in the stage under
  `bull_throttling` and applies them to the deployed API's stage with API Gateway's
  UpdateStage (`/*/*/throttling/rateLimit`, `/*/*/throttling/burstLimit`): `bull setup` when
  the stage is deployed already, and `bull stripe webhook`, which runs after `chalice deploy`.
  API Gateway keeps a stage's settings across later deployments.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from bull_chalice import paths

RATE_LIMIT = 100.0  # requests a second, the stage's steady rate
BURST_LIMIT = 200  # requests at once above it
RESERVED_CONCURRENCY = 50  # Lambda containers at most; 0 = unreserved (the account's pool)
API_FUNCTION = "api_handler"  # Chalice's name for the function behind the REST API
API_STAGE = "api"


@dataclass(frozen=True)
class Ceiling:
    rate_limit: float
    burst_limit: int
    reserved_concurrency: int

    def describe(self) -> str:
        functions = (
            f"at most {self.reserved_concurrency} containers at once (reserved concurrency)"
            if self.reserved_concurrency
            else "no reserved concurrency (the account's pool)"
        )
        return (
            f"Cost ceiling: API Gateway lets through {self.rate_limit:g} requests a second "
            f"(bursts of {self.burst_limit}), the function runs {functions}."
        )


def ceiling_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--rate-limit`, `--burst-limit`, `--reserved-concurrency` (kept by later runs)."""
    options = [
        click.option(
            "--reserved-concurrency",
            type=click.IntRange(0, 10_000),
            help=f"Lambda containers the store may run at once (default {RESERVED_CONCURRENCY}; "
            "0: no reservation). Kept by later runs without the option.",
        ),
        click.option(
            "--burst-limit",
            type=click.IntRange(1, 100_000),
            help=f"API Gateway stage burst (default {BURST_LIMIT}). Kept by later runs.",
        ),
        click.option(
            "--rate-limit",
            type=click.FloatRange(1, 100_000),
            help=f"API Gateway stage requests a second (default {RATE_LIMIT:g}). Kept by "
            "later runs.",
        ),
    ]
    for option in options:
        command = option(command)
    return command


def write_ceiling(
    stage_config: dict[str, Any],
    rate_limit: float | None,
    burst_limit: int | None,
    reserved_concurrency: int | None,
) -> Ceiling:
    """Put the ceiling in the stage's config (options given, else the stage's, else the
    defaults); the ceiling written."""
    kept = stage_ceiling(stage_config)
    ceiling = Ceiling(
        rate_limit=kept.rate_limit if rate_limit is None else rate_limit,
        burst_limit=kept.burst_limit if burst_limit is None else burst_limit,
        reserved_concurrency=(
            kept.reserved_concurrency if reserved_concurrency is None else reserved_concurrency
        ),
    )
    stage_config["bull_throttling"] = {
        "rate_limit": ceiling.rate_limit,
        "burst_limit": ceiling.burst_limit,
    }
    function = stage_config.setdefault("lambda_functions", {}).setdefault(API_FUNCTION, {})
    if ceiling.reserved_concurrency:
        function["reserved_concurrency"] = ceiling.reserved_concurrency
    else:
        function.pop("reserved_concurrency", None)
    return ceiling


def stage_ceiling(stage_config: dict[str, Any]) -> Ceiling:
    """The ceiling a stage's config holds (defaults for what it does not)."""
    throttling = stage_config.get("bull_throttling") or {}
    function = (stage_config.get("lambda_functions") or {}).get(API_FUNCTION) or {}
    reserved = function.get("reserved_concurrency")
    if reserved is None:
        reserved = 0 if "bull_throttling" in stage_config else RESERVED_CONCURRENCY
    return Ceiling(
        rate_limit=float(throttling.get("rate_limit", RATE_LIMIT)),
        burst_limit=int(throttling.get("burst_limit", BURST_LIMIT)),
        reserved_concurrency=int(reserved),
    )


def deployed_rest_api_id(stage: str) -> str | None:
    """The REST API `chalice deploy` recorded for the stage, if any."""
    path = paths.deployed_file(stage)
    if not path.exists():
        return None
    for resource in json.loads(path.read_text()).get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return resource.get("rest_api_id")
    return None


def apply_throttling(apigateway: Any, rest_api_id: str, ceiling: Ceiling) -> None:
    """Set the deployed stage's default method throttling (every resource and method).

    Raises:
        botocore.exceptions.ClientError: API Gateway refused (bull's error handler says so).
    """
    apigateway.update_stage(
        restApiId=rest_api_id,
        stageName=API_STAGE,
        patchOperations=[
            {
                "op": "replace",
                "path": "/*/*/throttling/rateLimit",
                "value": f"{ceiling.rate_limit:g}",
            },
            {
                "op": "replace",
                "path": "/*/*/throttling/burstLimit",
                "value": str(ceiling.burst_limit),
            },
        ],
    )


def throttle_deployed(target: Any, stage: str, stage_config: dict[str, Any]) -> str:
    """Apply the stage's throttling to its deployed API; a line saying what was done."""
    rest_api_id = deployed_rest_api_id(stage)
    ceiling = stage_ceiling(stage_config)
    if rest_api_id is None:
        return (
            "Stage throttling is applied once the API exists: by bull stripe webhook after "
            f"chalice deploy --stage {stage}."
        )
    apply_throttling(target.client("apigateway"), rest_api_id, ceiling)
    return (
        f"Throttled stage {API_STAGE} of API {rest_api_id}: {ceiling.rate_limit:g} requests a "
        f"second, bursts of {ceiling.burst_limit}."
    )
