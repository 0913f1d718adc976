"""Gap 8: API Gateway imports a Swagger 2.0 document, as `chalice deploy` sends it (gaps.py)."""

from __future__ import annotations

import json
from typing import Any

from moto.apigateway.models import APIGatewayBackend, RestAPI

_real_import_rest_api = APIGatewayBackend.import_rest_api
_real_put_rest_api = APIGatewayBackend.put_rest_api

PARAMETER_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}
AUTHORIZER_TYPES = {
    "cognito_user_pools": "COGNITO_USER_POOLS",
    "token": "TOKEN",
    "request": "REQUEST",
}


def _is_swagger2(api_doc: dict[str, Any]) -> bool:
    return str(api_doc.get("swagger", "")).startswith("2")


def import_rest_api(
    self: APIGatewayBackend, api_doc: dict[str, Any], fail_on_warnings: bool
) -> RestAPI:
    if not _is_swagger2(api_doc):
        return _real_import_rest_api(self, api_doc, fail_on_warnings)
    info = api_doc.get("info", {})
    api = self.create_rest_api(name=info.get("title", ""), description=info.get("description", ""))
    _put_swagger2(self, api.id, api_doc, mode="overwrite")
    return self.get_rest_api(api.id)


def put_rest_api(
    self: APIGatewayBackend,
    function_id: str,
    api_doc: dict[str, Any],
    fail_on_warnings: bool,
    mode: str = "merge",
) -> RestAPI:
    if not _is_swagger2(api_doc):
        return _real_put_rest_api(self, function_id, api_doc, fail_on_warnings, mode)
    _put_swagger2(self, function_id, api_doc, mode=mode)
    return self.get_rest_api(function_id)


def _resource_for(backend: APIGatewayBackend, api: RestAPI, path: str) -> Any:
    """The resource at `path`, creating it and its missing ancestors."""
    resource = api.get_resource_for_path("/")
    current = ""
    for part in [p for p in path.split("/") if p]:
        current += "/" + part
        found = api.get_resource_for_path(current)
        if found is None:
            found = backend.create_resource(api.id, resource.id, part)
        resource = found
    return resource


def _put_swagger2(
    backend: APIGatewayBackend, api_id: str, api_doc: dict[str, Any], mode: str
) -> None:
    api = backend.get_rest_api(api_id)
    if mode == "overwrite":
        api.resources = {}
        api.default = api.add_child("/")
        api.authorizers = {}

    authorizers: dict[str, Any] = {}
    sigv4: set[str] = set()
    api_keys: set[str] = set()
    for name, definition in (api_doc.get("securityDefinitions") or {}).items():
        spec = definition.get("x-amazon-apigateway-authorizer")
        if spec:
            authorizers[name] = backend.create_authorizer(
                api_id,
                name,
                AUTHORIZER_TYPES[spec["type"].lower()],
                provider_arns=spec.get("providerARNs"),
                authorizer_uri=spec.get("authorizerUri"),
                authorizer_credentials=spec.get("authorizerCredentials"),
                identity_source=spec.get("identitySource")
                or f"method.request.header.{definition.get('name', 'Authorization')}",
                identiy_validation_expression=spec.get("identityValidationExpression"),
                authorizer_result_ttl=spec.get("authorizerResultTtlInSeconds"),
                auth_type=definition.get("x-amazon-apigateway-authtype"),
            )
        elif definition.get("x-amazon-apigateway-authtype") == "awsSigv4":
            sigv4.add(name)
        elif definition.get("type") == "apiKey" and definition.get("name") == "x-api-key":
            api_keys.add(name)

    binary = api_doc.get("x-amazon-apigateway-binary-media-types")
    if binary is not None:
        api.binaryMediaTypes = (
            list(binary)
            if mode == "overwrite"
            else api.binaryMediaTypes + [b for b in binary if b not in api.binaryMediaTypes]
        )
    if api_doc.get("x-amazon-apigateway-policy") is not None:
        api.policy = json.dumps(api_doc["x-amazon-apigateway-policy"])

    for path, path_doc in sorted(api_doc.get("paths", {}).items()):
        resource = _resource_for(backend, api, path)
        shared_parameters = [p for p in path_doc.get("parameters", []) if isinstance(p, dict)]
        for method, method_doc in path_doc.items():
            if method == "parameters" or not isinstance(method_doc, dict):
                continue
            http_method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            authorization_type, authorizer_id, scopes = "NONE", None, None
            api_key_required = False
            for requirement in method_doc.get("security", api_doc.get("security", [])):
                for name, requirement_scopes in requirement.items():
                    if name in authorizers:
                        authorizer = authorizers[name]
                        authorization_type = (
                            "COGNITO_USER_POOLS"
                            if authorizer.type == "COGNITO_USER_POOLS"
                            else "CUSTOM"
                        )
                        authorizer_id = authorizer.id
                        scopes = requirement_scopes or None
                    elif name in sigv4:
                        authorization_type = "AWS_IAM"
                    elif name in api_keys:
                        api_key_required = True
            request_parameters = {
                f"method.request.{PARAMETER_LOCATIONS[p['in']]}.{p['name']}": bool(
                    p.get("required", False)
                )
                for p in [*shared_parameters, *method_doc.get("parameters", [])]
                if p.get("in") in PARAMETER_LOCATIONS
            }
            backend.put_method(
                api_id,
                resource.id,
                http_method,
                authorization_type,
                api_key_required=api_key_required,
                request_parameters=request_parameters or None,
                operation_name=method_doc.get("operationId"),
                authorizer_id=authorizer_id,
                authorization_scopes=scopes,
            )
            for code in method_doc.get("responses", {}):
                backend.put_method_response(
                    api_id,
                    resource.id,
                    http_method,
                    str(code),
                    response_models=None,
                    response_parameters=None,
                )
            integration = method_doc.get("x-amazon-apigateway-integration")
            if integration:
                args = backend._build_integration_args(integration)
                # API Gateway keeps these enums upper-case whatever case the document used.
                for name in ("integration_type", "passthrough_behavior"):
                    if args.get(name):
                        args[name] = args[name].upper()
                backend.put_integration(
                    function_id=api_id,
                    resource_id=resource.id,
                    method_type=http_method,
                    **{k: v for k, v in args.items() if v is not None},
                )
                for response in backend._build_integration_responses_args(integration):
                    backend.put_integration_response(
                        function_id=api_id,
                        resource_id=resource.id,
                        method_type=http_method,
                        **{k: v for k, v in response.items() if v is not None},
                    )


_real_create_deployment = RestAPI.create_deployment


def create_deployment(
    self: RestAPI, name: str, description: str, stage_variables: Any = None
) -> Any:
    """Gap 11: a deployment to an existing stage points that stage at it and keeps the stage's
    settings (its method settings, such as throttling), as API Gateway does; moto makes a
    new stage and loses them."""
    kept = self.stages.get(name) if name else None
    deployment = _real_create_deployment(self, name, description, stage_variables)
    if kept is not None:
        fresh = self.stages[name]
        kept.deployment_id = fresh.deployment_id
        if stage_variables:
            kept.variables = fresh.variables
        self.stages[name] = kept
    return deployment
