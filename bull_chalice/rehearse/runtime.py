"""Lambda's side of the rehearsal: the Runtime API and the execution environments it feeds.

Each environment is a clean interpreter (`python -I -S bootstrap.py`: nothing on its path but
the unzipped package and the standard library) that asks the Runtime API for the next
invocation, runs the handler and posts the result, one invocation at a time, as on Lambda.
"""

from __future__ import annotations

import json
import queue
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bull_chalice.processes import die_with_parent, terminate
from bull_chalice.rehearse import gateway
from bull_chalice.rehearse.artifact import RehearsalError

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")


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
        self,
        task_root: Path,
        environment: dict[str, str],
        function: dict[str, Any],
        workers: int,
        opt: Path | None = None,
    ) -> None:
        self._task_root = task_root
        self._opt = opt  # the unzipped layer: Lambda's /opt
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
            ready = self._ready.acquire(timeout=max(deadline - time.monotonic(), 0.1))
            if not ready or self._init_errors:
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

    def hand_back(self, invocation: _Invocation) -> None:
        """An environment that asked for work died before it got it: another one takes it."""
        self._queue.put(invocation)

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
        """The handler could not be imported: `start()` stops waiting and says why."""
        self._init_errors.append(str((error or {}).get("errorMessage", error)))
        self._ready.release()

    # -- internals

    def _spawn(self) -> subprocess.Popen:
        assert self._server is not None
        port = self._server.server_address[1]
        env = {
            **_lambda_environment(self._function, self._task_root),
            **self._function.get("Environment", {}).get("Variables", {}),
            **self._environment,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            **({"BULL_REHEARSAL_OPT": str(self._opt)} if self._opt else {}),
        }
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(BOOTSTRAP)],
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
        "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
        "_HANDLER": str(function.get("Handler", "app.app")),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.get('Runtime', 'python3.11')}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.get("MemorySize", 128)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
    }


def _peer_gone(connection: socket.socket) -> bool:
    """Whether the environment waiting on `connection` has gone (its socket reads as closed)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


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
            if _peer_gone(self.connection):
                return service.hand_back(invocation)
            try:
                self._send_invocation(invocation)
            except OSError:  # the environment died while we answered
                service.hand_back(invocation)

        def _send_invocation(self, invocation: _Invocation) -> None:
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
