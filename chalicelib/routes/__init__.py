"""The store's routes, by who calls them, all on one blueprint that `app.py` registers (the
scheduled handlers on another, `scheduled`: see `schedules`). Each route is a few lines: it
reads the request, calls one service from `chalicelib.store`, answers.
"""

from chalicelib.routes import (  # noqa: F401 - register
    admin,
    dashboard,
    library,
    licenses,
    schedules,
    shop,
    webhooks,
)
from chalicelib.routes.common import bp as blueprint
from chalicelib.routes.schedules import bp as scheduled

__all__ = ["blueprint", "scheduled"]
