"""moto's server with one request at a time, like DynamoDB's per-item atomicity.

moto's threaded server runs requests concurrently against backends that take no locks, so two
conditional writes racing on one item can both succeed, and concurrent `ADD`s lose updates:
real DynamoDB never does either. The local stack exists to show exactly-once behaviour, so it
serialises requests behind one lock (connections are still accepted concurrently).

It also answers `GetLayerVersionByArn`, which moto's backend supports but its server does not
route: `chalice deploy` asks it whether its managed layer (`automatic_layer`) still exists.

`python -m bull_chalice.moto_server PORT`
"""

from __future__ import annotations

import json
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


def _layer_version_by_arn() -> None:
    from moto.awslambda.exceptions import UnknownLayerException
    from moto.awslambda.responses import LambdaResponse

    def get_layer_version_by_arn(self: Any) -> str:
        layer = self.backend.layers_versions_by_arn(self._get_param("Arn"))
        if layer is None:
            raise UnknownLayerException()
        return json.dumps(layer.get_layer_version())

    if not hasattr(LambdaResponse, "get_layer_version_by_arn"):
        LambdaResponse.get_layer_version_by_arn = get_layer_version_by_arn


def serialised_app() -> Any:
    _layer_version_by_arn()
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
