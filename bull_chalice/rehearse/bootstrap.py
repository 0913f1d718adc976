"""A Lambda execution environment's bootstrap: the standard library and the unzipped package.

Run by a clean interpreter (`python -I -S bootstrap.py`: no site-packages, no user site,
no PYTHON* variables, not even this file's folder on the path), it does what Lambda's Python
runtime does: put `LAMBDA_TASK_ROOT` and then the layers' folders in `/opt` (the unzipped
layer the rehearsal names in `BULL_REHEARSAL_OPT`) on the path, import `_HANDLER` (an init
failure is reported to `/runtime/init/error`), then loop on the Runtime API
(`AWS_LAMBDA_RUNTIME_API`): take the next invocation, call the handler with the event and a
context object, post the result or the error. Anything the package imports from outside
itself fails here as on Lambda.
"""

import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

RUNTIME = "/2018-06-01/runtime"


class LambdaContext:
    """The documented attributes of Lambda's Python context object."""

    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def _post(url, body):
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def _error(exc):
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    ).encode()


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + RUNTIME
    opt = os.environ.pop("BULL_REHEARSAL_OPT", "/opt")
    version = "python{}.{}".format(*sys.version_info[:2])
    layers = [f"{opt}/python/lib/{version}/site-packages", f"{opt}/python"]
    sys.path[0:0] = [os.environ["LAMBDA_TASK_ROOT"], *layers]  # Lambda's order
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:
        traceback.print_exc()
        _post(api + "/init/error", _error(exc))
        sys.exit(1)
    while True:
        with urllib.request.urlopen(api + "/invocation/next", timeout=None) as answer:
            request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
            deadline_ms = int(answer.headers["Lambda-Runtime-Deadline-Ms"])
            function_arn = answer.headers["Lambda-Runtime-Invoked-Function-Arn"]
            event = json.loads(answer.read())
        context = LambdaContext(request_id, deadline_ms, function_arn)
        try:
            result = json.dumps(handler(event, context)).encode()
        except Exception as exc:
            traceback.print_exc()
            _post(f"{api}/invocation/{request_id}/error", _error(exc))
            continue
        _post(f"{api}/invocation/{request_id}/response", result)


if __name__ == "__main__":
    main()
