"""API Gateway's side of a REST API with Lambda proxy integration, for `make rehearse`.

Built from AWS's documented shapes, not from Chalice's local converter: the routes and the
Cognito authorizer come from the Swagger document `chalice package` writes into `sam.json`;
requests become REST proxy events ("Input format of a Lambda function for proxy integration"),
the function's answer becomes the HTTP response ("Output format ..."), and API Gateway's own
answers (no such route, unauthorized, a function error, a timeout) are the ones it gives.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatch
from typing import Any
from urllib.parse import parse_qsl, unquote

ACCOUNT_ID = "123456789012"
API_ID = "rehearsal"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Answer:
    """An HTTP response: what API Gateway sends back to the client."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    from_gateway: bool = False  # API Gateway's own answer: its gateway responses apply


def gateway_answer(status: int, message: str, **extra: str) -> Answer:
    """API Gateway's own JSON answers, e.g. 403 `{"message": "Missing Authentication Token"}`."""
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", extra.get("kind", ""))]
    body = json.dumps({"message": message}).encode()
    return Answer(status, [h for h in headers if h[1]], body, from_gateway=True)


@dataclass(frozen=True)
class Method:
    resource: str
    method: str
    authorizer: dict[str, Any] | None


@dataclass
class RestApi:
    """The deployed API's routes, binary media types and authorizers (from Swagger 2.0)."""

    resources: dict[str, dict[str, Method]]
    binary_types: list[str] = field(default_factory=list)
    # `DEFAULT_4XX` / `DEFAULT_5XX` -> the static headers of that gateway response
    gateway_headers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_sam(cls, sam: dict[str, Any]) -> RestApi:
        api = next(r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Api")
        swagger = api["Properties"]["DefinitionBody"]
        authorizers = swagger.get("securityDefinitions") or {}
        resources: dict[str, dict[str, Method]] = {}
        for path, operations in swagger["paths"].items():
            for verb, spec in operations.items():
                if verb not in METHODS:
                    continue
                names = [name for rule in spec.get("security") or [] for name in rule]
                authorizer = (
                    authorizers[names[0]]["x-amazon-apigateway-authorizer"] if names else None
                )
                resources.setdefault(path, {})[verb.upper()] = Method(
                    path, verb.upper(), authorizer
                )
        binary = list(swagger.get("x-amazon-apigateway-binary-media-types") or [])
        return cls(resources, binary, _gateway_headers(swagger))

    def with_gateway_headers(self, answer: Answer) -> Answer:
        """API Gateway's own answer with its `DEFAULT_4XX`/`5XX` response's headers."""
        extra = self.gateway_headers.get(f"DEFAULT_{answer.status // 100}XX", [])
        names = {name.lower() for name, _ in extra}
        kept = [h for h in answer.headers if h[0].lower() not in names]
        return replace(answer, headers=kept + extra) if answer.from_gateway else answer

    def match(self, path: str, verb: str) -> tuple[Method, dict[str, str]] | None:
        """The method a request path (below the base path) reaches, and its path parameters."""
        segments = [s for s in path.split("/") if s] if path != "/" else []
        # As API Gateway does: a literal path part wins over a path parameter at its level.
        by_specificity = sorted(self.resources.items(), key=lambda item: _variables(item[0]))
        for resource, methods in by_specificity:
            params = _match_segments([s for s in resource.split("/") if s], segments)
            if params is not None:  # the resource is found first, then its method
                return (methods[verb], params) if verb in methods else None
        return None

    def is_binary(self, content_type: str) -> bool:
        kind = content_type.split(";")[0].strip().lower()
        return any(fnmatch(kind, pattern) for pattern in self.binary_types)


def _gateway_headers(swagger: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The static headers (`'value'` in single quotes) of each gateway response type."""
    found: dict[str, list[tuple[str, str]]] = {}
    for kind, spec in (swagger.get("x-amazon-apigateway-gateway-responses") or {}).items():
        for name, value in (spec.get("responseParameters") or {}).items():
            if name.startswith("gatewayresponse.header.") and value[:1] == value[-1:] == "'":
                found.setdefault(kind, []).append((name.split(".", 2)[2], value[1:-1]))
    return found


def _variables(resource: str) -> tuple[bool, ...]:
    return tuple(part.startswith("{") for part in resource.split("/") if part)


def _match_segments(template: list[str], segments: list[str]) -> dict[str, str] | None:
    if len(template) != len(segments):
        return None
    params = {}
    for want, got in zip(template, segments, strict=True):
        if want.startswith("{") and want.endswith("}"):
            params[want[1:-1]] = unquote(got)
        elif want != got:
            return None
    return params


@dataclass(frozen=True)
class Stage:
    """Where the API is served: the stage name and the base path clients use.

    API Gateway's default URL has the stage as the base path (`/api`); a custom domain maps any
    base path (or none) to the stage, and then the event's `path` keeps that base path too.
    """

    name: str = "api"
    base_path: str = "/api"
    region: str = "us-east-1"

    @property
    def is_default_domain(self) -> bool:
        return self.base_path == f"/{self.name}"


def build_event(
    *,
    stage: Stage,
    method: Method,
    params: dict[str, str],
    verb: str,
    resource_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    domain_name: str,
    binary: bool,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A REST API Lambda proxy event, as AWS documents it."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    full_path = stage.base_path + resource_path if resource_path != "/" else stage.base_path + "/"
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    if binary and body:
        event_body: str | None = base64.b64encode(body).decode("ascii")
    else:
        event_body = body.decode("utf-8", errors="replace") if body else None
    return {
        "resource": method.resource,
        "path": resource_path if stage.is_default_domain else full_path,
        "httpMethod": verb,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "authorizer": {"claims": claims} if claims is not None else None,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".")[0],
            "extendedRequestId": request_id[:16] + "=",
            "httpMethod": verb,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": next((v for k, v in headers if k.lower() == "user-agent"), None),
                "userArn": None,
            },
            "path": full_path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": re.sub(r"[^a-z0-9]", "", method.resource.lower())[:6] or "root",
            "resourcePath": method.resource,
            "stage": stage.name,
        },
        "body": event_body,
        "isBase64Encoded": bool(binary and body),
    }


def answer_from_result(result: Any) -> Answer:
    """The HTTP response for a proxy integration's output; 502 when it is malformed."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return gateway_answer(502, "Internal server error")
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers = [h for h in headers if h[0].lower() != name.lower()]
        headers += [(name, str(v)) for v in values]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return Answer(result["statusCode"], headers, raw)


class CognitoAuthorizer:
    """A `cognito_user_pools` authorizer without OAuth scopes: the `Authorization` header must
    hold a valid ID token of one of the provider pools (signature by the pool's JWKS, issuer,
    `token_use` = id, not expired); the claims go to the function as strings."""

    def __init__(self, jwks_url_for: Any, region: str) -> None:
        self._jwks_url_for = jwks_url_for
        self._region = region
        self._keys: dict[str, Any] = {}

    def claims(self, authorizer: dict[str, Any], header: str | None) -> dict[str, str] | Answer:
        import jwt

        token = (header or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            return gateway_answer(401, "Unauthorized", kind="UnauthorizedException")
        for arn in authorizer.get("providerARNs") or []:
            pool_id = str(arn).rsplit("/", 1)[-1]
            issuer = f"https://cognito-idp.{self._region}.amazonaws.com/{pool_id}"
            try:
                key = self._key(pool_id, jwt.get_unverified_header(token).get("kid", ""))
                claims = jwt.decode(
                    token, key=key, algorithms=["RS256"], issuer=issuer,
                    options={"verify_aud": False, "require": ["exp", "iss", "token_use"]},
                )  # fmt: skip
            except jwt.ExpiredSignatureError:
                return gateway_answer(401, "The incoming token has expired")
            except (jwt.PyJWTError, KeyError, ValueError, OSError):  # OSError: JWKS unreachable
                continue
            if claims.get("token_use") != "id":
                continue
            return {k: _claim_text(v) for k, v in claims.items()}
        return gateway_answer(401, "Unauthorized", kind="UnauthorizedException")

    def _key(self, pool_id: str, kid: str) -> Any:
        import jwt

        if (pool_id, kid) not in self._keys:
            document = json.loads(_fetch(self._jwks_url_for(pool_id)))
            for jwk in document.get("keys", []):
                self._keys[(pool_id, jwk["kid"])] = jwt.PyJWK(jwk, algorithm="RS256").key
        return self._keys[(pool_id, kid)]


def _claim_text(value: Any) -> str:
    """A claim as API Gateway passes it: text; lists like `cognito:groups` as `[a b]`."""
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read()
