"""API Gateway's side of the rehearsal: an HTTP front on 127.0.0.1 that turns requests into
REST proxy events for the packaged function, under the stage path."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bull_chalice.paths import project_root
from bull_chalice.rehearse import gateway
from bull_chalice.rehearse.artifact import Package, build_package
from bull_chalice.rehearse.runtime import LambdaService

INTEGRATION_TIMEOUT = 29.0  # API Gateway's limit for a REST API integration
MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_HEADERS = 10 * 1024  # the request line and header values together (REST API quota)
CLIENT_TIMEOUT = 30.0  # a client that stops sending is dropped
DEFAULT_WORKERS = 3


class Rehearsal:
    """The packaged store behind API Gateway's events on `127.0.0.1:port` under `base_path`.

    `environment` is the function's (what the stage config would set); `AWS_ENDPOINT_URL` in it
    also tells the authorizer where the pool's JWKS is (moto).
    """

    def __init__(
        self,
        environment: dict[str, str],
        port: int,
        *,
        base_path: str = "/api",
        stage: str = "api",
        project_dir: Path | None = None,
        package_dir: Path | None = None,
        workers: int = DEFAULT_WORKERS,
        log: Any = None,
    ) -> None:
        self.environment = environment
        self.port = port
        self.stage = gateway.Stage(
            name=stage,
            base_path=normalise_base_path(base_path),
            region=environment.get("AWS_REGION")
            or environment.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
        self.project_dir = project_dir or project_root()
        self.package_dir = package_dir or self.project_dir / "build" / "rehearse" / "default"
        self.workers = workers
        self.log = log or sys.stderr
        self._lambda: LambdaService | None = None
        self._front: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.stage.base_path}"

    def start(self, package: Package | None = None) -> str:
        """Build (unless `package` is given) and serve; the base URL.

        Raises:
            RehearsalError: the package did not build or the function did not start.
        """
        if package is None:
            arn = self.environment.get("USER_POOL_ARN", "")
            package = build_package(
                self.package_dir, project_dir=self.project_dir, user_pool_arn=arn
            )
        function, api = package.function(), package.api()
        self._lambda = LambdaService(
            package.task, self.environment, function, self.workers, opt=package.opt
        )
        self._lambda.log = self.log
        self._lambda.start()
        endpoint = (self.environment.get("AWS_ENDPOINT_URL") or "").rstrip("/")
        authorizer = gateway.CognitoAuthorizer(
            lambda pool: (
                f"{endpoint}/{pool}/.well-known/jwks.json"
                if endpoint
                else f"https://cognito-idp.{self.stage.region}.amazonaws.com/{pool}/.well-known/jwks.json"
            ),
            self.stage.region,
        )
        handler = _front_handler(api, self.stage, self._lambda, authorizer, self.log)
        try:
            self._front = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        except OSError:
            self._lambda.stop()
            raise
        self._front.daemon_threads = True
        threading.Thread(target=self._front.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._front is not None:
            self._front.shutdown()
            self._front.server_close()
            self._front = None
        if self._lambda is not None:
            self._lambda.stop()
            self._lambda = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def normalise_base_path(base_path: str) -> str:
    """`api`, `/api/` -> `/api`; `` or `/` -> `` (a custom domain mapped at the root)."""
    cleaned = base_path.strip().strip("/")
    return f"/{cleaned}" if cleaned else ""


def _front_handler(
    api: gateway.RestApi,
    stage: gateway.Stage,
    service: LambdaService,
    authorizer: gateway.CognitoAuthorizer,
    log: Any,
) -> type[BaseHTTPRequestHandler]:
    class Front(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = CLIENT_TIMEOUT

        def log_message(self, fmt: str, *args: Any) -> None:
            print(f"{self.address_string()} {fmt % args}", file=log, flush=True)

        def _serve(self) -> None:
            verb = self.command
            answer = self._refusal()
            if answer is None:
                length = int(self.headers.get("Content-Length") or 0)
                answer = self._answer(verb, self.rfile.read(length) if length else b"")
            else:
                self.close_connection = True
            answer = api.with_gateway_headers(answer)
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if verb != "HEAD":
                self.wfile.write(answer.body)

        def _refusal(self) -> gateway.Answer | None:
            """API Gateway's answer to a request it will not pass on, else None."""
            size = len(self.requestline) + sum(len(v) for v in self.headers.values())
            if size > MAX_HEADERS:
                return gateway.gateway_answer(431, "Request Header Fields Too Large")
            length = (self.headers.get("Content-Length") or "0").strip()
            if not length.isdigit():
                return gateway.gateway_answer(400, "Bad Request")
            if int(length) > MAX_PAYLOAD:
                return gateway.gateway_answer(413, "Request Too Long")
            return None

        def _answer(self, verb: str, body: bytes) -> gateway.Answer:
            url = urlsplit(self.path)
            path = url.path or "/"
            if stage.base_path:
                if path != stage.base_path and not path.startswith(stage.base_path + "/"):
                    return gateway.gateway_answer(403, "Forbidden", kind="ForbiddenException")
                path = path[len(stage.base_path) :] or "/"
            matched = api.match(path, verb)
            if matched is None:
                return gateway.gateway_answer(
                    403, "Missing Authentication Token", kind="MissingAuthenticationTokenException"
                )
            method, params = matched
            claims = None
            if method.authorizer is not None:
                found = authorizer.claims(method.authorizer, self.headers.get("Authorization"))
                if isinstance(found, gateway.Answer):
                    return found
                claims = found
            # API Gateway's domain is the one it was called on, never the Host a client sends.
            domain = f"127.0.0.1:{self.server.server_address[1]}"
            headers = [(k, v) for k, v in self.headers.items() if k.lower() != "host"]
            headers += [("Host", domain), ("X-Forwarded-For", self.client_address[0])]
            headers += [("X-Forwarded-Proto", "http")]
            event = gateway.build_event(
                stage=stage,
                method=method,
                params=params,
                verb=verb,
                resource_path=path,
                raw_query=url.query,
                headers=headers,
                body=body,
                source_ip=self.client_address[0],
                domain_name=domain,
                binary=api.is_binary(self.headers.get("Content-Type") or ""),
                claims=claims,
            )
            ok, result = service.invoke(event, INTEGRATION_TIMEOUT)
            if not ok and result == "timeout":
                return gateway.gateway_answer(504, "Endpoint request timed out")
            if not ok:
                return gateway.gateway_answer(502, "Internal server error")
            return gateway.answer_from_result(result)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return Front


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--task", type=Path, required=True, help="the unzipped function code")
    parser.add_argument("--sam", type=Path, required=True, help="the packaged SAM template")
    parser.add_argument("--opt", type=Path, help="the unzipped layer (Lambda's /opt)")
    parser.add_argument("--base-path", default=os.environ.get("BULL_BASE_PATH", "/api"))
    parser.add_argument("--stage", default="api")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args(argv)
    # The function's environment, as the stage config would set it: only what it is given.
    app_env = json.loads(os.environ.get("BULL_FUNCTION_ENV") or "{}")
    rehearsal = Rehearsal(
        app_env, args.port, base_path=args.base_path, stage=args.stage, workers=args.workers
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    rehearsal.start(Package(task=args.task, sam=args.sam, opt=args.opt))
    print(f"Serving the packaged store at {rehearsal.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    rehearsal.stop()


if __name__ == "__main__":
    main()
