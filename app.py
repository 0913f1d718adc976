"""Bull on Chalice: the app. Its routes live in `chalicelib/routes/` (by who calls them) and
every service they call is built by `chalicelib/store/`."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.routes import blueprint, scheduled
from chalicelib.web.responses import framework_errors, settings_or_none
from chalicelib.web.security import security_headers

app = Chalice(app_name="bull")
app.register_middleware(security_headers(settings_or_none), "http")  # outermost: every answer
app.register_middleware(framework_errors(app.routes), "http")
app.register_blueprint(blueprint)
app.register_blueprint(scheduled)
