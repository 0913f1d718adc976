"""`make rehearse`: the store in its deployed shape, on this machine.

`Rehearsal` builds the artifact `chalice package` makes for Lambda, unzips it, and serves it the
way AWS does: an HTTP front that plays API Gateway (`bull_chalice.gateway`: routes, Cognito
authorizer, REST proxy events under the stage path) and a Lambda Runtime API that hands each
invocation to one of a few execution environments — clean interpreters with nothing on their
path but the unzipped package and the standard library (`bull_chalice.lambda_runtime`).

`python -m bull_chalice.rehearse --port P --task DIR --sam FILE [--base-path /api]` serves a
built package in the foreground (the local stack starts it this way); the app's environment is this
process's.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bull_chalice import gateway
from bull_chalice.paths import project_root
from bull_chalice.processes import die_with_parent, terminate

RUNTIME_SCRIPT = Path(__file__).with_name("lambda_runtime.py")
INTEGRATION_TIMEOUT = 29.0  # API Gateway's limit for a REST API integration
DEFAULT_WORKERS = 3
PACKAGE_STAGE = "dev"
# What `chalice package` reads: a change to any of these makes a new artifact.
PACKAGE_INPUTS = ("app.py", "requirements.txt", ".chalice/config.json", "chalicelib")


class RehearsalError(RuntimeError):
    """The artifact could not be built or an execution environment did not start."""


# -- the artifact -----------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """A built artifact: the unzipped function code and the SAM template describing the API."""

    task: Path
    sam: Path

    def function(self) -> dict[str, Any]:
        resources = json.loads(self.sam.read_text())["Resources"].values()
        return next(r["Properties"] for r in resources if r["Type"] == "AWS::Serverless::Function")

    def api(self) -> gateway.RestApi:
        return gateway.RestApi.from_sam(json.loads(self.sam.read_text()))


def build_package(
    out_dir: Path,
    *,
    project_dir: Path | None = None,
    user_pool_arn: str = "",
    stage: str = PACKAGE_STAGE,
) -> Package:
    """`chalice package` the project into `out_dir` and unzip its code where every rehearsal of
    the same code shares it (`build/rehearse/task-<sha>`).

    The pool ARN is read when Chalice loads the app, so the Swagger carries the admin routes'
    Cognito authorizer as `chalice deploy` would; it changes the template, never the code.
    Unchanged inputs reuse the last build.

    Raises:
        RehearsalError: `chalice package` failed.
    """
    project = project_dir or project_root()
    artifact = out_dir / "artifact"
    marker = out_dir / "built"
    digest = _inputs_digest(project, user_pool_arn, stage)
    if not (marker.exists() and marker.read_text() == digest):
        shutil.rmtree(artifact, ignore_errors=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "USER_POOL_ARN": user_pool_arn,
        }
        chalice = Path(sys.executable).with_name("chalice")
        with _project_lock(project):  # Chalice's dependency cache is shared
            done = subprocess.run(
                [str(chalice), "package", "--stage", stage, str(artifact)],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise RehearsalError(f"chalice package failed: {done.stderr.strip()[-500:]}")
        marker.write_text(digest)
    return Package(task=_unzipped(project, artifact / "deployment.zip"), sam=artifact / "sam.json")


def _unzipped(project: Path, archive: Path) -> Path:
    """The zip's contents in a folder named by its hash (Chalice's zips are reproducible)."""
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    task = project / "build" / "rehearse" / f"task-{sha}"
    if task.is_dir():
        return task
    with _project_lock(project):
        if not task.is_dir():
            partial = task.with_name(task.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            with zipfile.ZipFile(archive) as files:
                files.extractall(partial)
            partial.rename(task)
    return task


@contextlib.contextmanager
def _project_lock(project: Path) -> Iterator[None]:
    build = project / "build"
    build.mkdir(exist_ok=True)
    with (build / ".rehearse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _inputs_digest(project: Path, user_pool_arn: str, stage: str) -> str:
    digest = hashlib.sha256(f"{user_pool_arn}\0{stage}".encode())
    for name in PACKAGE_INPUTS:
        path = project / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(project)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


# -- Lambda: the Runtime API and the execution environments -----------------------------


@dataclass
class _Invocation:
    request_id: str
    event: dict[str, Any]
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    failed: bool = False


class LambdaService:
    """Queues invocations for `workers` execution environments (each one request at a time,
    as Lambda runs them) through the Runtime API, and restarts an environment that dies."""

    def __init__(
        self, task_root: Path, environment: dict[str, str], function: dict[str, Any], workers: int
    ) -> None:
        self._task_root = task_root
        self._environment = environment
        self._function = function
        self._workers = workers
        self._queue: queue.Queue[_Invocation] = queue.Queue()
        self._pending: dict[str, _Invocation] = {}
        self._ready = threading.Semaphore(0)
        self._init_errors: list[str] = []
        self._processes: list[subprocess.Popen] = []
        self._server: ThreadingHTTPServer | None = None
        self._stopping = False
        self.log = sys.stderr

    # -- lifecycle

    def start(self, timeout: float = 60.0) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _runtime_handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        for _ in range(self._workers):
            self._processes.append(self._spawn())
        deadline = time.monotonic() + timeout
        for _ in range(self._workers):
            if not self._ready.acquire(timeout=max(deadline - time.monotonic(), 0.1)):
                self.stop()
                reason = "; ".join(self._init_errors) or "it did not ask for work in time"
                raise RehearsalError(f"the Lambda function did not start: {reason}")
        threading.Thread(target=self._supervise, daemon=True).start()

    def stop(self) -> None:
        self._stopping = True
        for process in self._processes:
            terminate(process)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def invoke(self, event: dict[str, Any], timeout: float) -> tuple[bool, Any]:
        """`(True, result)`, or `(False, error)` when the function raised or timed out."""
        timeout_ms = int(self._function.get("Timeout", 60)) * 1000
        invocation = _Invocation(str(uuid.uuid4()), event, time.time() + timeout_ms / 1000)
        self._pending[invocation.request_id] = invocation
        self._queue.put(invocation)
        try:
            if not invocation.done.wait(timeout):
                return False, "timeout"
            return not invocation.failed, invocation.result
        finally:
            self._pending.pop(invocation.request_id, None)

    # -- the Runtime API's side

    def next_invocation(self) -> _Invocation:
        return self._queue.get()

    def complete(self, request_id: str, result: Any, failed: bool) -> bool:
        invocation = self._pending.get(request_id)
        if invocation is None:
            return False
        invocation.result, invocation.failed = result, failed
        invocation.done.set()
        return True

    def environment_ready(self) -> None:
        self._ready.release()

    def init_failed(self, error: Any) -> None:
        self._init_errors.append(str((error or {}).get("errorMessage", error)))

    # -- internals

    def _spawn(self) -> subprocess.Popen:
        assert self._server is not None
        port = self._server.server_address[1]
        env = {
            **_lambda_environment(self._function, self._task_root),
            **self._function.get("Environment", {}).get("Variables", {}),
            **self._environment,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        }
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(RUNTIME_SCRIPT)],
            cwd=self._task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            preexec_fn=die_with_parent(),
        )

    def _supervise(self) -> None:
        while not self._stopping:
            for index, process in enumerate(self._processes):
                if process.poll() is not None and not self._stopping:
                    print(f"execution environment exited ({process.returncode})", file=self.log)
                    self._processes[index] = self._spawn()
            time.sleep(0.5)


def _lambda_environment(function: dict[str, Any], task_root: Path) -> dict[str, str]:
    """The variables Lambda sets in every execution environment (its documented list)."""
    name = "bull-rehearsal"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(RUNTIME_SCRIPT.parent),
        "_HANDLER": str(function.get("Handler", "app.app")),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.get('Runtime', 'python3.11')}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.get("MemorySize", 128)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
    }


def _runtime_handler(service: LambdaService) -> type[BaseHTTPRequestHandler]:
    prefix = "/2018-06-01/runtime"

    class RuntimeApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # the front logs requests
            pass

        def do_GET(self) -> None:
            if self.path != f"{prefix}/invocation/next":
                return self._reply(404, {"errorMessage": "not found"})
            service.environment_ready()
            invocation = service.next_invocation()
            body = json.dumps(invocation.event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(invocation.deadline * 1000)))
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                f"arn:aws:lambda:us-east-1:{gateway.ACCOUNT_ID}:function:bull-rehearsal",
            )
            self.send_header("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:24]}")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"null")
            parts = self.path[len(prefix) :].strip("/").split("/")
            if parts == ["init", "error"]:
                service.init_failed(payload)
                return self._reply(202, {"status": "OK"})
            known = len(parts) == 3 and parts[0] == "invocation"
            kind = parts[2] if known else ""
            failed = kind == "error"
            if kind in ("response", "error") and service.complete(parts[1], payload, failed):
                return self._reply(202, {"status": "OK"})
            return self._reply(404, {"errorMessage": "unknown invocation"})

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return RuntimeApi


# -- API Gateway: the front ------------------------------------------------------------------


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
        self._lambda = LambdaService(package.task, self.environment, function, self.workers)
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

        def log_message(self, fmt: str, *args: Any) -> None:
            print(f"{self.address_string()} {fmt % args}", file=log, flush=True)

        def _serve(self) -> None:
            verb = self.command
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = self._answer(verb, body)
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if verb != "HEAD":
                self.wfile.write(answer.body)

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
            headers = list(self.headers.items())
            headers += [("X-Forwarded-For", self.client_address[0]), ("X-Forwarded-Proto", "http")]
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
                domain_name=self.headers.get("Host")
                or f"127.0.0.1:{self.server.server_address[1]}",
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
    rehearsal.start(Package(task=args.task, sam=args.sam))
    print(f"Serving the packaged store at {rehearsal.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    rehearsal.stop()


if __name__ == "__main__":
    main()
