"""The whole store on one machine: a moto server for AWS, the Stripe stand-in, `chalice local`.

`LocalStack` starts the three as child processes (each in its own process group, all on
127.0.0.1), provisions the tables, bucket, sender identity and user pool from the same
definitions production uses, seeds a demo product and an admin, and writes `.bull/local.json`
once every service answers. `stop()` ends every child by its PID. `bull local` runs one in the
foreground until Ctrl-C; the integration tests start one on free ports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from bull_chalice import demo, paths, resources
from bull_chalice.kept import KeptData
from bull_chalice.processes import (
    StackError,
    port_taken,
    spawn,
    terminate,
    wait_for,
)
from bull_chalice.provision import REGION, provision
from bull_chalice.rehearse import normalise_base_path
from chalicelib.platform import config

DEFAULT_WEBHOOK_SECRET = "whsec_local_" + "0" * 32  # local only: the stand-in signs with it
DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEFAULT_ADMIN_PASSWORD = "Bull-Local-Admin-1"  # noqa: S105 - local stack only, printed
SENDER_EMAIL = "store@example.com"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class LocalState:
    """What `.bull/local.json` holds: everything a tool needs to talk to the local stack."""

    api_url: str
    moto_url: str
    stripe_api_url: str
    region: str
    user_pool_id: str
    user_pool_client_id: str
    admin_email: str
    admin_password: str
    webhook_secret: str
    demo_product_id: str
    sender_email: str


def local_client(state: LocalState, service: str) -> Any:
    """A boto3 client for the running local stack's moto server."""
    return boto3.client(
        service,
        endpoint_url=state.moto_url,
        region_name=state.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any
    )


class LocalStack:
    """Starts, provisions and stops the local store. Use as a context manager or call
    `start()` / `stop()`; `stop()` is safe to call more than once."""

    def __init__(
        self,
        app_port: int = 8000,
        moto_port: int = 5000,
        stripe_port: int = 12111,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        admin_email: str = DEFAULT_ADMIN_EMAIL,
        admin_password: str = DEFAULT_ADMIN_PASSWORD,
        state_file: Path | None = None,
        log_dir: Path | None = None,
        rehearse: bool = False,
        base_path: str = "/api",
        state_dir: Path | None = None,
        fresh: bool = False,
        store_currency: str = "usd",
        selling: dict[str, str] | None = None,
        notify_email: str | None = None,
    ) -> None:
        self.ports = {"app": app_port, "moto": moto_port, "stripe": stripe_port}
        # Rehearsal: the packaged artifact behind API Gateway's events, under the stage path.
        self.rehearse = rehearse
        self.base_path = normalise_base_path(base_path) if rehearse else ""
        self.webhook_secret = webhook_secret
        self.admin_email = admin_email
        self.admin_password = admin_password
        # Everything this stack writes lives in its state dir: local.json, logs and the data
        # kept across restarts (moto's recording of every AWS request, the Stripe stand-in's
        # state, the link-signing key). `fresh` starts empty.
        self.state_dir = state_dir or (state_file.parent if state_file else paths.state_dir())
        self.state_file = state_file or self.state_dir / "local.json"
        self.log_dir = log_dir or self.state_dir / "logs"
        self.data = KeptData(self.state_dir / "data")
        self.fresh = fresh
        self.store_currency = store_currency
        # Checkout's selling options (promotion codes, tax...) and the per-client limits
        # (RATE_LIMIT_*), as the operator's env sets them.
        self.selling = dict(selling or {})
        # The seller's notices go to the admin unless told otherwise ("" turns them off).
        self.notify_email = admin_email if notify_email is None else notify_email
        self.processes: dict[str, subprocess.Popen] = {}
        self.state: LocalState | None = None

    @classmethod
    def from_environment(cls, rehearse: bool = False) -> LocalStack:
        """Ports and credentials from BULL_* and STRIPE_WEBHOOK_SECRET, else defaults."""
        env = os.environ
        return cls(
            app_port=int(env.get("BULL_PORT", "8000")),
            moto_port=int(env.get("BULL_MOTO_PORT", "5000")),
            stripe_port=int(env.get("BULL_STRIPE_PORT", "12111")),
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
            admin_email=env.get("BULL_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL,
            admin_password=env.get("BULL_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD,
            state_file=paths.state_file(),
            rehearse=rehearse,
            base_path=env.get("BULL_BASE_PATH", "/api"),
            state_dir=paths.state_dir(),
            fresh=env.get("BULL_FRESH", "") == "1",
            store_currency=env.get("STORE_CURRENCY") or "usd",
            selling={
                k: env[k] for k in (*config.SELLING_SETTINGS, *config.LIMIT_SETTINGS) if env.get(k)
            },
            notify_email=env.get("NOTIFY_EMAIL"),
        )

    # -- urls and environment -----------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def api_url(self) -> str:
        """The store's base URL: the app's address, plus the stage path when rehearsing."""
        return self.url("app") + self.base_path

    def app_environment(self, user_pool_id: str = "", client_id: str = "") -> dict[str, str]:
        """The environment `chalice local` runs the app with (what a stage config would set)."""
        return {
            "BULL_STAGE": "local",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.url("moto"),
            "SITE_URL": self.api_url,
            "SITE_NAME": "Bull Local Store",
            "STORE_CURRENCY": self.store_currency,
            "SENDER_EMAIL": SENDER_EMAIL,
            "STRIPE_API_BASE": self.url("stripe"),
            "STRIPE_SECRET_KEY": "sk_test_local_standin",
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "LINK_SIGNING_KEY": self._link_key,
            "USER_POOL_ID": user_pool_id,
            "USER_POOL_CLIENT_ID": client_id,
            "NOTIFY_EMAIL": self.notify_email,
            **self.selling,
        }

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, say: Callable[[str], None] = lambda _step: None) -> LocalState:
        """Start every service, provision, seed, and write the state file; `say` hears each
        step as it begins (`bull local` prints them).

        Raises:
            StackError: a port is taken or a service did not come up (everything is stopped).
        """
        taken = [f"{name} port {port}" for name, port in self.ports.items() if port_taken(port)]
        if taken:
            raise StackError(
                f"{', '.join(taken)} already in use; free it or set "
                "BULL_PORT / BULL_MOTO_PORT / BULL_STRIPE_PORT"
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.fresh:
            self.data.forget()
        self._link_key = self.data.link_key()
        try:
            deadline = time.monotonic() + START_TIMEOUT
            say(f"Starting moto (DynamoDB, S3, SES, Cognito) on {self.url('moto')} ...")
            self._spawn(
                "moto",
                [sys.executable, "-m", "bull_chalice.moto_server", str(self.ports["moto"])],
                self.data.moto_environment(),
            )
            wait_for(f"{self.url('moto')}/moto-api/", deadline, self.processes["moto"], "moto")
            if self.data.recording.exists():
                say(f"Replaying the kept data from {self.data.directory} ...")
            restored = self.data.replay(self.url("moto"))
            say("Provisioning tables, bucket, user pool, admin and demo product ...")
            pool = provision(
                self.url("moto"),
                config.load(self.app_environment()),
                self.admin_email,
                self.admin_password,
                restored,
            )
            env = self.app_environment(pool.pool_id, pool.client_id)
            say(f"Starting the Stripe stand-in on {self.url('stripe')} ...")
            self._spawn(
                "stripe",
                [
                    sys.executable,
                    "-m",
                    "bull_chalice.stripe_standin",
                    str(self.ports["stripe"]),
                    f"{self.api_url}/webhooks/stripe",
                ],
                {
                    "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
                    "BULL_STANDIN_STATE": str(self.data.standin_state),
                },
            )
            if self.rehearse:
                say(f"Packaging the app and serving it behind API Gateway on {self.api_url} ...")
                self._spawn_rehearsal(pool, env)
                deadline = time.monotonic() + START_TIMEOUT  # packaging is not starting up
            else:
                say(f"Starting the app (chalice local) on {self.api_url} ...")
                self._spawn("app", self._chalice_local(), env)
            wait_for(f"{self.url('stripe')}/health", deadline, self.processes["stripe"], "stripe")
            wait_for(f"{self.api_url}/products", deadline, self.processes["app"], "app")
        except BaseException:
            self.stop()
            raise
        self.state = LocalState(
            api_url=self.api_url,
            moto_url=self.url("moto"),
            stripe_api_url=self.url("stripe"),
            region=REGION,
            user_pool_id=pool.pool_id,
            user_pool_client_id=pool.client_id,
            admin_email=self.admin_email,
            admin_password=self.admin_password,
            webhook_secret=self.webhook_secret,
            demo_product_id=demo.PRODUCT_ID,
            sender_email=SENDER_EMAIL,
        )
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps(asdict(self.state), indent=2) + "\n")
        return self.state

    def stop(self) -> None:
        """Stop every child (its whole process group) by PID; remove the state file."""
        for name in reversed(list(self.processes)):
            terminate(self.processes.pop(name))
        if self.state_file and self.state_file.exists() and self.state is not None:
            self.state_file.unlink()

    def __enter__(self) -> LocalState:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------

    def _chalice_local(self) -> list[str]:
        port = str(self.ports["app"])
        host = ["--host", "127.0.0.1", "--port", port]
        return [paths.chalice_executable(), "local", "--stage", "local", *host, "--no-autoreload"]

    def _spawn_rehearsal(self, pool: resources.UserPool, env: dict[str, str]) -> None:
        """Package the app as `chalice deploy` would (the admin routes' authorizer names this
        pool) and serve the artifact behind API Gateway's events (`bull_chalice.rehearse`)."""
        from bull_chalice.rehearse import RehearsalError, build_package

        function_env = {**env, "USER_POOL_ARN": pool.arn}
        try:
            package = build_package(self.log_dir.parent / "package", user_pool_arn=pool.arn)
        except RehearsalError as exc:
            raise StackError(str(exc)) from None
        argv = [sys.executable, "-m", "bull_chalice.rehearse", "--port", str(self.ports["app"])]
        argv += ["--task", str(package.task), "--sam", str(package.sam)]
        argv += ["--opt", str(package.opt)] if package.opt else []
        argv += ["--base-path", self.base_path or "/"]
        self._spawn("app", argv, {"BULL_FUNCTION_ENV": json.dumps(function_env)})

    def _spawn(self, name: str, argv: list[str], extra_env: dict[str, str]) -> None:
        log = self.log_dir / f"{name}.log"
        log.unlink(missing_ok=True)
        self.processes[name] = spawn(argv, {**os.environ, **extra_env}, log, paths.REPO_ROOT)
