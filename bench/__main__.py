"""`python -m bench` (`make bench`): every benchmark, each figure a ratio beside its target."""

from __future__ import annotations

import platform
import sys

from bench import (
    burst,
    cold_start,
    cost,
    first_request,
    hot_paths,
    launch,
    package_size,
    reports,
)


def main() -> int:
    quick = "--quick" in sys.argv
    print(
        f"bench on {platform.machine()} Python {platform.python_version()}"
        f"{' (quick sizes)' if quick else ''}\n"
    )
    cold_start.run(rounds=7 if quick else 21)
    first_request.run(rounds=3 if quick else 9)
    hot_paths.run(rounds=40 if quick else 200)
    reports.run(small=200, large=5_000) if quick else reports.run()
    package_size.run()
    burst.run(sessions=20, deliveries=100) if quick else burst.run()
    cost.run(sales=5 if quick else 50)
    launch.run(purchases=100 if quick else launch.DEFAULT_PURCHASES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
