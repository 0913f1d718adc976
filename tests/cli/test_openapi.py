"""docs/openapi.json: generated from the routes and their docstrings, and true to the store."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from bull_chalice import openapi
from chalicelib import errors
from tests.conftest import checkout_session, deliver, stripe_event

POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_openapi"


@pytest.fixture(scope="module")
def app() -> Any:
    from app import app

    return app


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return openapi.build(app)


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method.upper()): op
        for path, item in document["paths"].items()
        for method, op in item.items()
    }


def _routes(app: Any) -> dict[tuple[str, str], Any]:
    return {(path, m): entry for path, by in app.routes.items() for m, entry in by.items()}


def test_the_committed_document_is_what_the_generator_makes_from_the_routes_now(document):
    committed = openapi.OUTPUT.read_text() if openapi.OUTPUT.exists() else ""
    assert committed == openapi.render(document), (
        "docs/openapi.json is out of date: run `make openapi` "
        "(python -m bull_chalice.openapi) and commit it"
    )


def test_every_route_and_method_of_the_app_is_documented_and_nothing_else(app, document):
    assert set(_operations(document)) == set(_routes(app))


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


# Routes that exist only to answer an error (the 404 page for any unknown top-level address).
ERROR_ONLY = {("/{page}", "get"), ("/{page}", "head")}


def test_every_operation_has_a_summary_and_says_what_it_answers_on_success(document):
    for (path, method), op in _operations(document).items():
        assert op["summary"], f"{method} {path}: its docstring has no first line"
        ok = [status for status in op["responses"] if status[0] in "23"]
        if (path, method.lower()) in ERROR_ONLY:
            assert not ok and "404" in op["responses"], f"{method} {path} is the 404 page"
            continue
        assert ok, f"{method} {path}: its docstring's `Returns:` names no 2xx or 3xx answer"
        for status in ok:
            json_answer = op["responses"][status].get("content", {}).get("application/json")
            assert json_answer is None or "$ref" in json_answer["schema"], (
                f"{method} {path}: name the JSON answer's shape in `Returns:` ({status} Shape)"
            )


def test_the_admin_routes_and_only_they_declare_the_cognito_token_and_its_401_and_403(
    app, document
):
    operations = _operations(document)
    admin = {key for key, entry in _routes(app).items() if openapi.is_admin(entry.view_function)}
    assert {("/reports", "GET"), ("/admin/products", "GET")} <= admin
    assert ("/admin", "GET") not in admin  # the dashboard page holds no data
    secured = {key for key, op in operations.items() if "security" in op}
    assert secured == admin
    for key in admin:
        assert operations[key]["security"] == [{openapi.SECURITY: []}]
        assert {"401", "403"} <= set(operations[key]["responses"]), key
    scheme = document["components"]["securitySchemes"][openapi.SECURITY]
    assert (scheme["in"], scheme["name"]) == ("header", "Authorization")


def test_the_routes_api_gateways_cognito_authorizer_guards_are_the_documented_admin_routes(
    document,
):
    script = (
        "import json; from app import app; print(json.dumps(sorted([p, m] for p, by in "
        "app.routes.items() for m, e in by.items() if e.authorizer is not None)))"
    )
    env = {**os.environ, "USER_POOL_ARN": POOL_ARN}
    answer = subprocess.run(
        [sys.executable, "-c", script],
        cwd=openapi.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    guarded = {tuple(pair) for pair in json.loads(answer.stdout.strip().splitlines()[-1])}
    secured = {key for key, op in _operations(document).items() if "security" in op}
    assert guarded == secured


def test_every_documented_error_is_a_store_error_with_the_status_the_docstring_says(app):
    for (path, method), entry in _routes(app).items():
        for name, status, _ in openapi.raised(openapi.parse_docstring(entry.view_function.__doc__)):
            error = getattr(errors, name, None)
            assert isinstance(error, type) and issubclass(error, errors.StoreError), (
                f"{method} {path}: {name} is not an error of chalicelib/errors.py"
            )
            assert error.status == status, f"{method} {path}: {name} is {error.status}"


def _raised_names(source: str) -> set[str]:
    """The exception classes `raise X(...)` names in `source`."""
    names = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _chalicelib_builds() -> set[str]:
    """The names chalicelib calls (`NotFound(...)`): an error is built where it is raised, or
    in a helper that returns it for raising."""
    names = set()
    for path in (openapi.REPO_ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                names.add(getattr(node.func, "id", "") or getattr(node.func, "attr", ""))
    return names


def test_every_error_a_route_raises_itself_is_documented_and_each_documented_one_is_built(app):
    anywhere = _chalicelib_builds()
    for (path, method), entry in _routes(app).items():
        view = inspect.unwrap(entry.view_function)
        documented = {n for n, _, _ in openapi.raised(openapi.parse_docstring(view.__doc__))}
        own = _raised_names(inspect.getsource(view))
        assert own <= documented, f"{method} {path} raises {own - documented} undocumented"
        for name in documented:
            kinds = {c.__name__ for c in vars(errors).values() if _is_subclass(c, name)}
            assert kinds & (anywhere | own), f"{method} {path}: nothing builds {name}"


def _is_subclass(value: Any, name: str) -> bool:
    base = getattr(errors, name, None)
    return isinstance(value, type) and isinstance(base, type) and issubclass(value, base)


def test_a_route_added_later_appears_with_its_docstring_and_the_error_answers():
    from chalice import Chalice

    from chalicelib.web.responses import error_boundaries

    later = Chalice(app_name="later")
    _, api_route = error_boundaries(lambda: later.current_request)

    @later.route("/licenses/{key}", methods=["GET"])
    @api_route
    def license_status(key: str) -> Any:
        """A license's state.

        Returns:
            200: the license.

        Raises:
            NotFound (404) for an unknown key.
        """

    op = openapi.build(later)["paths"]["/licenses/{key}"]["get"]
    assert op["summary"] == "A license's state."
    assert op["parameters"][0]["name"] == "key"
    assert set(op["responses"]) == {"200", "404", "default"}
    error = op["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


# -- the store's real answers against the document ----------------------------------------


def _check(document: dict[str, Any], method: str, path: str, answer: Any) -> str:
    """What is wrong with `answer` by the document ("" when nothing)."""
    op = document["paths"][_route(document, path)][method.lower()]
    documented = op["responses"].get(str(answer.status_code))
    where = f"{method} {path} -> {answer.status_code}"
    if documented is None:
        return f"{where}: status not documented"
    content = documented.get("content", {})
    headers = {k.lower(): v for k, v in answer.headers.items()}
    media = headers.get("content-type", "").split(";")[0].strip()
    if method == "HEAD" or not content:
        return ""
    if media not in content:
        return f"{where}: {media} is not among {sorted(content)}"
    schema = content[media].get("schema", {})
    if media == "application/json" and schema:
        validator = jsonschema.Draft202012Validator(
            {**schema, "components": document["components"]},
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        problems = [e.message for e in validator.iter_errors(json.loads(answer.body))]
        return f"{where}: {problems[:3]}" if problems else ""
    return ""


def test_the_stores_answers_have_the_documented_statuses_media_types_and_shapes(
    client, product, pool, document
):
    admin, helper = pool.headers(), pool.headers("helper@example.test")
    sale = stripe_event("checkout.session.completed", checkout_session(product_id=product.id))
    unknown = "prod_unknown000"
    new = {"name": "Zine", "price_cents": 500, "currency": "usd", "filename": "zine.pdf"}
    answers: list[tuple[str, str, Any]] = []

    def call(method: str, path: str, body: Any = None, headers: Any = None) -> None:
        if _route(document, path) is None:  # a route gone is the route-set test's to report
            return
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body).encode()
        answer = client.http.request(method, path, headers=headers, body=body or b"")
        answers.append((method, path, answer))

    answers.append(("POST", "/webhooks/stripe", deliver(client, sale)))
    for method, path in [
        ("GET", "/"),
        ("GET", "/products"),
        ("GET", "/admin"),
        ("GET", "/admin/dashboard.js"),
        ("GET", "/thanks"),
        ("POST", f"/checkout/{unknown}"),
        ("GET", "/download/x"),
        ("HEAD", "/download/x"),
        ("POST", "/download/x"),
        ("POST", "/webhooks/stripe"),
        ("GET", "/reports"),
    ]:
        call(method, path)
    call("GET", "/reports", headers=helper)
    for path in [
        "/reports",
        "/reports?format=csv",
        "/reports?from=someday",
        "/admin/products",
        "/admin/purchases",
        "/admin/purchases?email=x",
        "/admin/purchases/cs_test_a1",
        "/admin/purchases/cs_unknown",
    ]:
        call("GET", path, headers=admin)
    call("POST", "/admin/products", new, admin)
    call("POST", "/admin/products", {}, admin)
    for body in ({"name": "The Bull Book"}, {"bogus": 1}):
        call("PATCH", f"/admin/products/{product.id}", body, admin)
    call("PATCH", f"/admin/products/{unknown}", {}, admin)
    for action in ("reset", "dance"):
        call("POST", f"/admin/purchases/cs_test_a1/{action}", headers=admin)

    seen = {(m, _route(document, p), a.status_code) for m, p, a in answers}
    assert {("GET", "/reports", 401), ("GET", "/reports", 403), ("GET", "/reports", 200)} <= seen
    assert ("POST", "/admin/products", 201) in seen
    problems = [_check(document, m, p, answer) for m, p, answer in answers]
    assert [p for p in problems if p] == [], "\n".join(p for p in problems if p)


def _route(document: dict[str, Any], path: str) -> str | None:
    """The documented path template that `path` (without its query) falls under."""
    import re

    path = path.split("?")[0]
    for template in document["paths"]:
        if re.fullmatch(re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)), path):
            return template
    return None
