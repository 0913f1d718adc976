"""moto's server with one request at a time, like DynamoDB's per-item atomicity.

moto's threaded server runs requests concurrently against backends that take no locks, so two
conditional writes racing on one item can both succeed, and concurrent `ADD`s lose updates:
real DynamoDB never does either. The local stack exists to show exactly-once behaviour, so it
serialises requests behind one lock (connections are still accepted concurrently).

`python -m bull_chalice.moto_server PORT`
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised_app() -> Any:
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def locked(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return locked


def main() -> None:
    port = int(sys.argv[1])
    run_simple(
        "127.0.0.1", port, serialised_app(), threaded=True, request_handler=MotoRequestHandler
    )


if __name__ == "__main__":
    main()
