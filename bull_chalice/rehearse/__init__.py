"""`make rehearse`: the store in its deployed shape, on this machine.

`Rehearsal` builds the artifact `chalice package` makes for Lambda, unzips it, and serves it the
way AWS does: an HTTP front that plays API Gateway (`gateway`: routes, Cognito
authorizer, REST proxy events under the stage path) and a Lambda Runtime API that hands each
invocation to one of a few execution environments — clean interpreters with nothing on their
path but the unzipped package and the standard library (`bootstrap`; `runtime` feeds them).

`python -m bull_chalice.rehearse --port P --task DIR --sam FILE [--opt DIR] [--base-path /api]`
serves a built package (its layer unzipped in `--opt`) in the foreground (the local stack
starts it this way); the function's environment comes as JSON in `BULL_FUNCTION_ENV`.
"""

from bull_chalice.rehearse.artifact import Package, RehearsalError, build_package
from bull_chalice.rehearse.front import Rehearsal, normalise_base_path

__all__ = ["Package", "Rehearsal", "RehearsalError", "build_package", "normalise_base_path"]
