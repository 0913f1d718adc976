"""The store's HTTP API as an OpenAPI 3.1 document, generated from the routes themselves.

`python -m bull_chalice.openapi` (or `make openapi`) writes `docs/openapi.json`; a test checks
that the committed file is what this produces, so the document cannot drift from `app.py`.

It walks `app.routes` (path, method, view function, content types) and reads each view's
docstring: the first paragraph is the summary, prose paragraphs the description, and these
sections, Google style, describe the rest:

    Path:    name: description                      (path parameters)
    Query:   name (date, required): description     (query parameters)
    Headers: Name (required): description           (request headers)
    Body (form or JSON): name (integer, required): description
    Returns: 200 Component: description             (a shape below, or none)
    Raises:  NotFound (404) for ..., Conflict (409) when ...

Routes behind `admin_only` declare the Cognito ID token and its 401 and 403. Errors are
`{"error": {"code", "message"}}` on API routes and a small HTML page on browser routes
(`browser_route` marks them `answers_html`).
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from typing import Any

from bull_chalice.openapi_shapes import SHAPES, ref
from bull_chalice.paths import REPO_ROOT

OUTPUT = REPO_ROOT / "docs" / "openapi.json"
SECTIONS = ("Path", "Query", "Headers", "Body", "Returns", "Raises")
METHODS = ("get", "head", "post", "put", "patch", "delete")
FORM, JSON_TYPE = "application/x-www-form-urlencoded", "application/json"
TYPES = {"integer", "boolean", "object", "string", "date"}
MEDIA = re.compile(r"\b(?:text|application|image)/[\w.+-]+")
RAISED = re.compile(r"\b([A-Z][A-Za-z]+) \((\d{3})(?:,\s*([^)]*))?\)")
SECURITY = "cognitoIdToken"
UNAUTHORIZED = (
    "Unauthorized: no ID token of this pool and app client, or an expired, forged or "
    "malformed one, or an access token"
)


def parse_docstring(doc: str | None) -> dict[str, Any]:
    """`{"summary", "description", "qualifiers": {section: text}, section: [entry lines]}`."""
    parts: dict[str, Any] = {"summary": "", "description": "", "qualifiers": {}}
    prose: list[str] = []
    section = None
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(doc or "")):
        head = re.match(rf"^({'|'.join(SECTIONS)})\b([^:\n]*):[ \t]*(.*)", paragraph, re.S)
        if head:
            section = head.group(1)
            parts["qualifiers"][section] = head.group(2).strip(" ()")
            parts[section] = _entries(head.group(3))
        elif not parts["summary"]:
            parts["summary"] = " ".join(paragraph.split())
        else:
            section = None
            prose.append(" ".join(paragraph.split()))
    parts["description"] = "\n\n".join(prose)
    return parts


def _entries(text: str) -> list[str]:
    """Entry lines of a section: a deeper indent continues the entry above."""
    lines = [line for line in text.splitlines() if line.strip()]
    base = min((len(line) - len(line.lstrip()) for line in lines), default=0)
    entries: list[str] = []
    for line in lines:
        if len(line) - len(line.lstrip()) > base and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line.strip())
    return entries


def fields(entries: list[str]) -> list[tuple[str, set[str], str]]:
    """`name (integer, required): text` entries as (name, qualifiers, text)."""
    found = []
    for entry in entries:
        m = re.match(r"^([\w-]+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$", entry)
        if m:
            found.append((m.group(1), {q.strip() for q in (m.group(2) or "").split(",")}, m[3]))
    return found


def raised(doc: dict[str, Any]) -> list[tuple[str, int, str]]:
    """The documented errors as (class name, status, when)."""
    text = " ".join(doc.get("Raises", []))
    matches = list(RAISED.finditer(text))
    result = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        when = text[m.end() : end].strip(" ,.;")
        when = re.sub(r"(,|\bor|\band)$", "", when).strip(" ,.;")
        when = "; ".join(filter(None, [when, m.group(3)]))
        result.append((m.group(1), int(m.group(2)), when))
    return result


def is_admin(view: Any) -> bool:
    """Whether the view runs `admin_only`'s check: a wrapper in its `__wrapped__` chain whose
    code (which `functools.wraps` leaves alone) was defined in `admin_only`."""
    while view is not None:
        if getattr(getattr(view, "__code__", None), "co_qualname", "").startswith("admin_only."):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def _schema(qualifiers: set[str]) -> dict[str, Any]:
    kind = next((q for q in qualifiers if q in TYPES), "string")
    return {"type": "string", "format": "date"} if kind == "date" else {"type": kind}


def _content(html: bool, shape: str | None, text: str = "") -> dict[str, Any]:
    """HTML for a browser route, JSON (of `shape`) for an API route, or the media types the
    answer's description names (`text/csv`; JavaScript)."""
    named = MEDIA.findall(text) + (["application/javascript"] if "JavaScript" in text else [])
    content = {} if html else {JSON_TYPE: {"schema": ref(shape)} if shape else {}}
    for media in named or (["text/html"] if html else []):
        content.setdefault(media, {"schema": {"type": "string"}})
    return content


def _error(html: bool, text: str) -> dict[str, Any]:
    return {"description": text, "content": _content(html, None if html else "Error")}


def operation(entry: Any) -> dict[str, Any]:
    """One OpenAPI operation for a Chalice `RouteEntry`."""
    view = entry.view_function
    doc = parse_docstring(view.__doc__)
    html = bool(getattr(view, "answers_html", False))
    admin = is_admin(view) or entry.authorizer is not None
    op: dict[str, Any] = {"operationId": entry.view_name, "summary": doc["summary"]}
    if doc["description"]:
        op["description"] = doc["description"]
    op["tags"] = ["admin" if admin else "pages" if html else "API"]
    path_text = {name: text for name, _, text in fields(doc.get("Path", []))}
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        | ({"description": path_text[n]} if n in path_text else {})
        for n in entry.view_args
    ]
    for section, where in (("Query", "query"), ("Headers", "header")):
        for name, quals, text in fields(doc.get(section, [])):
            params.append(
                {"name": name, "in": where, "description": text, "schema": _schema(quals)}
                | ({"required": True} if "required" in quals else {})
            )
    if params:
        op["parameters"] = params
    if "Body" in doc:
        body_fields = fields(doc["Body"])
        schema = {
            "type": "object",
            "properties": {n: {**_schema(q), "description": t} for n, q, t in body_fields},
        }
        if required := [n for n, q, _ in body_fields if "required" in q]:
            schema["required"] = required
        said = doc["qualifiers"]["Body"].lower()
        named = [k for k, word in ((JSON_TYPE, "json"), (FORM, "form")) if word in said]
        kinds = [k for k in named or (JSON_TYPE, FORM) if k in entry.content_types]
        op["requestBody"] = {
            "required": "no body at all is fine" not in said,
            "content": {k: {"schema": schema} for k in kinds},
        }
    responses: dict[str, Any] = {}
    for line in doc.get("Returns", []):
        m = re.match(r"^(\d{3})(?:\s+([A-Z]\w*))?\s*:\s*(.*)$", line)
        if not m:
            continue
        status, shape, text = m.group(1), m.group(2), m.group(3)
        answer: dict[str, Any] = {"description": text or "OK"}
        if status.startswith("3"):
            answer["headers"] = {"Location": {"schema": {"type": "string", "format": "uri"}}}
        elif entry.method != "HEAD":
            answer["content"] = _content(html, shape, text)
        responses[status] = answer
    errors: dict[int, list[str]] = {}
    for name, status, when in raised(doc):
        errors.setdefault(status, []).append(f"{name} {when}".strip())
    if admin:
        errors.setdefault(401, []).insert(0, UNAUTHORIZED)
        errors.setdefault(403, []).insert(0, "Forbidden: signed in but not in the group `admins`")
        op["security"] = [{SECURITY: []}]
    for status in sorted(errors):
        responses[str(status)] = _error(html, "; ".join(errors[status]))
    responses["default"] = _error(html, "Anything else went wrong (500), without internals.")
    op["responses"] = responses
    return op


def _used(node: Any) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        found = {ref.rsplit("/", 1)[1]} if ref.startswith("#/components/schemas/") else set()
        return found.union(*(_used(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_used(v) for v in node))
    return set()


def build(app: Any = None) -> dict[str, Any]:
    """The OpenAPI document of `app` (by default `app.py`'s)."""
    if app is None:
        sys.path.insert(0, str(REPO_ROOT))
        from app import app
    paths: dict[str, Any] = {}
    for path in sorted(app.routes):
        entries = app.routes[path]
        ops = {m.lower(): operation(e) for m, e in entries.items()}
        paths[path] = {m: ops[m] for m in METHODS if m in ops}
    seen: set[str] = set()
    for item in paths.values():
        for method, op in item.items():  # one view for GET and HEAD: `name`, `name_head`
            if op["operationId"] in seen:
                op["operationId"] += f"_{method}"
            seen.add(op["operationId"])
    schemas, todo = {}, _used(paths)
    while todo:
        name = todo.pop()
        schemas[name] = SHAPES[name]
        todo |= _used(SHAPES[name]) - set(schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bull on Chalice",
            "version": "1",
            "summary": "A serverless store for digital files: the routes sellers and their "
            "software call.",
            "description": "Generated from `app.py` by `python -m bull_chalice.openapi`; see "
            "CONTRACT.md. Money is integer minor units with an ISO currency code. API routes "
            'answer errors as `{"error": {"code", "message"}}`, browser routes as a small '
            "HTML page.",
        },
        "servers": [
            {
                "url": "https://{api_id}.execute-api.{region}.amazonaws.com/api",
                "description": "API Gateway's default URL (the stage `api` is a path segment)",
                "variables": {
                    "api_id": {"default": "abcdef1234"},
                    "region": {"default": "us-east-1"},
                },
            },
            {
                "url": "https://{domain}{base_path}",
                "description": "A custom domain, at the root or under a base-path mapping",
                "variables": {
                    "domain": {"default": "store.example.com"},
                    "base_path": {"default": "", "description": "empty, or e.g. `/shop`"},
                },
            },
            {"url": "http://127.0.0.1:8000", "description": "`make run` (chalice local)"},
        ],
        "tags": [
            {"name": "API", "description": "Public JSON routes and Stripe's webhook."},
            {"name": "pages", "description": "Pages for buyers' browsers (HTML)."},
            {"name": "admin", "description": "The seller's API: a Cognito ID token of an admin."},
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A Cognito user-pool ID token (`token_use` = `id`) of a "
                    "user in the group `admins`, alone or after `Bearer `. An access token, "
                    "or a missing, malformed, forged or expired one, is 401; a user outside "
                    "`admins` is 403.",
                }
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(render(build()))
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
