"""The local stack's moto server with the harness's gap-fillers (tests/harness/gaps.py).

`python -m tests.harness.moto_server PORT` (from the project root): applies `gaps.apply()`,
then serves exactly like `bull_chalice.moto_server` — one request at a time, on 127.0.0.1.
"""

from __future__ import annotations

import sys

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import run_simple

from bull_chalice.moto_server import serialised_app
from tests.harness import gaps


def main() -> None:
    port = int(sys.argv[1])
    gaps.apply()
    run_simple(
        "127.0.0.1", port, serialised_app(), threaded=True, request_handler=MotoRequestHandler
    )


if __name__ == "__main__":
    main()
