"""What moto 5.2.5 lacks for the deploy rehearsal, and how this harness fills it.

The rehearsal (tests/integration/test_deploy_rehearsal.py) runs the README's deploy steps
against a moto server started by `python -m tests.harness.moto_server PORT`, which calls
`apply()` before serving. Every filler follows AWS's documentation and stores its state in
moto's own backends (cognito-idp, ses, s3, apigateway), so every later API call — Cognito
sign-in, SES sends, S3 reads, API Gateway reads — sees what CloudFormation or the import made.
Nothing here is used outside the tests.

Gaps and fillers:

1. CloudFormation has no model for `AWS::Cognito::UserPool`: moto skips the resource with a
   warning, so `Ref` / `Fn::GetAtt` on it fail. Filled by `UserPool`: creates the pool with
   cognito-idp's `create_user_pool` (`UserPoolName`, else a generated name; the other
   properties are CreateUserPool's own), updates it in place, deletes it (refused while a
   domain is attached, as Cognito refuses, so the stack deletes the domain first; its clients
   and groups go with it, as in Cognito). `Ref` = the pool id; `GetAtt` `Arn`,
   `ProviderName`, `ProviderURL`, `UserPoolId`.
2. No model for `AWS::Cognito::UserPoolClient`. Filled by `UserPoolClient`
   (`create_user_pool_client`): `Ref` = the client id; `GetAtt` `ClientId`, `Name`,
   `ClientSecret` (only with `GenerateSecret`).
3. No model for `AWS::Cognito::UserPoolGroup`. Filled by `UserPoolGroup` (`create_group`):
   `Ref` = the group name.
4. No model for `AWS::Cognito::UserPoolDomain`. Filled by `UserPoolDomain`
   (`create_user_pool_domain`): `Ref` = the domain (prefix); `GetAtt` `CloudFrontDistribution`.
5. No model for `AWS::SES::EmailIdentity`. Filled by `EmailIdentity` (ses
   `create_email_identity_v2`, `delete_identity`): `Ref` = the identity.
6. No model for `AWS::S3::BucketPolicy`. Filled by `BucketPolicy` (s3 `put_bucket_policy`,
   `delete_bucket_policy`): `Ref` = the bucket name (the resource's primary identifier).
7. moto evaluates a bucket policy without its `Condition`s, and treats a statement whose
   condition it cannot match as an explicit deny: the stack's `DenyInsecureTransport`
   statement (`Bool aws:SecureTransport false`) would then refuse every object read and write.
   Filled by `bucket_permission`: a statement applies only when its conditions hold for a
   request over TLS (`aws:SecureTransport` = `true`, how every AWS SDK and presigned https URL
   reaches S3; moto itself is plain HTTP only because it is local); the statements that apply
   are evaluated by moto's own `IAMPolicy`.
8. `ImportRestApi` and `PutRestApi` refuse Swagger 2.0 (`InvalidOpenApiDocVersionException`),
   which is what `chalice deploy` sends, and the import reads `info.description`, which
   Swagger makes optional. Filled by `import_rest_api` / `put_rest_api`: a Swagger 2.0
   document is imported as API Gateway documents it — each path's resources (ancestors
   included), each method with its path parameters, method responses and
   `x-amazon-apigateway-integration` (moto's own integration and integration-response
   calls), `securityDefinitions` with `x-amazon-apigateway-authorizer` as authorizers
   (`cognito_user_pools` -> COGNITO_USER_POOLS with its `providerARNs`, `token` / `request`
   -> TOKEN / REQUEST), each method's `security` as its authorization type and authorizer,
   `x-amazon-apigateway-binary-media-types` and `x-amazon-apigateway-policy`;
   `mode=overwrite` replaces resources and authorizers. OpenAPI 3 documents go to moto's
   own code unchanged.
9. `AdminCreateUser` without `TemporaryPassword` leaves the user with no password at all
   (moto stores `None`), so a user added the README's way could never sign in, and nothing is
   delivered. Filled by `admin_create_user`: Cognito generates a temporary password that
   meets the pool's password policy and, unless `MessageAction=SUPPRESS`, e-mails the
   invitation when `DesiredDeliveryMediums` includes `EMAIL` — recorded as a message in moto's
   SES (from Cognito's default sender `no-reply@verificationemail.com`, Cognito's default
   subject and text "Your username is {username} and temporary password is {####}."),
   readable from `/moto-api/data.json` like the store's receipts.
10. `/moto-api/data.json` (moto's own state dump, which `bull mail` and the tests read mail
   from) answers 500 once a Lambda function exists: one of the function's properties
   connects to Docker, and moto only skips attributes that fail to serialise, not ones whose
   getter fails. Filled by `model_data`: the same dump, skipping any attribute whose getter
   raises.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from moto.apigateway.models import APIGatewayBackend, RestAPI
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cognitoidp.models import CognitoIdpBackend, cognitoidp_backends
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.common_models import CloudFormationModel
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.s3.models import FakeBucket, s3_backends
from moto.ses.models import Message, ses_backends
from moto.utilities.utils import get_partition

COGNITO_SENDER = "no-reply@verificationemail.com"
INVITATION_SUBJECT = "Your temporary password"
INVITATION_MESSAGE = "Your username is {username} and temporary password is {####}."
# The request context a bucket policy's conditions are evaluated in (see gap 7).
S3_REQUEST_CONTEXT = {"aws:securetransport": "true"}


def _cognito(account_id: str, region_name: str) -> CognitoIdpBackend:
    return cognitoidp_backends[account_id][region_name]


class _Model:
    """Shared defaults for the models below (each also a direct CloudFormationModel subclass,
    which is how moto's parsing module finds models): resources exist as soon as the backend
    call returns."""

    physical_resource_id: str = ""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    ATTRIBUTES: tuple[str, ...] = ()

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return getattr(self, "attr_" + attribute_name)

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """Replacement: delete the old resource, create the new one."""
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        raise NotImplementedError  # every model deletes through its instance's delete()

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


class UserPool(_Model, CloudFormationModel):
    ATTRIBUTES = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.physical_resource_id = pool.id
        self.attr_Arn = pool.arn
        self.attr_UserPoolId = pool.id
        self.attr_ProviderName = f"cognito-idp.{pool.region}.amazonaws.com/{pool.id}"
        self.attr_ProviderURL = f"https://{self.attr_ProviderName}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @staticmethod
    def _config(properties: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in properties.items() if k != "UserPoolName"}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPool:
        properties = cloudformation_json.get("Properties", {})
        pool = _cognito(account_id, region_name).create_user_pool(
            resource_name, cls._config(properties)
        )
        return cls(pool)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UserPool:
        """Pool settings update without interruption (same pool, same id)."""
        properties = cloudformation_json.get("Properties", {})
        _cognito(account_id, region_name).update_user_pool(
            original_resource.physical_resource_id, cls._config(properties)
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _cognito(account_id, region_name)
        if self.pool.domain is not None:
            # Cognito: "The user pool has a domain configured; delete it first."
            raise RuntimeError(f"user pool {self.pool.id} still has a domain")
        backend.delete_user_pool(self.pool.id)


class UserPoolClient(_Model, CloudFormationModel):
    ATTRIBUTES = ("ClientId", "ClientSecret", "Name")

    def __init__(self, client: Any) -> None:
        self.client = client
        self.physical_resource_id = client.id
        self.attr_ClientId = client.id
        self.attr_Name = client.extended_config.get("ClientName")

    @property
    def attr_ClientSecret(self) -> str | None:
        return self.client.secret if self.client.generate_secret else None

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClientName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPoolClient:
        properties = dict(cloudformation_json.get("Properties", {}))
        pool_id = properties.pop("UserPoolId")
        generate_secret = bool(properties.pop("GenerateSecret", False))
        properties["ClientName"] = resource_name
        client = _cognito(account_id, region_name).create_user_pool_client(
            pool_id, generate_secret, properties
        )
        return cls(client)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _cognito(account_id, region_name)
        if self.client.user_pool_id in backend.user_pools:  # else it went with its pool
            backend.delete_user_pool_client(self.client.user_pool_id, self.client.id)


class UserPoolGroup(_Model, CloudFormationModel):
    def __init__(self, group: Any) -> None:
        self.group = group
        self.physical_resource_id = group.group_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "GroupName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPoolGroup:
        properties = cloudformation_json.get("Properties", {})
        group = _cognito(account_id, region_name).create_group(
            properties["UserPoolId"],
            resource_name,
            properties.get("Description", ""),
            properties.get("RoleArn"),
            properties.get("Precedence"),
        )
        return cls(group)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _cognito(account_id, region_name)
        if self.group.user_pool_id in backend.user_pools:  # else it went with its pool
            backend.delete_group(self.group.user_pool_id, self.group.group_name)


class UserPoolDomain(_Model, CloudFormationModel):
    ATTRIBUTES = ("CloudFrontDistribution",)

    def __init__(self, domain: Any) -> None:
        self.domain = domain
        self.physical_resource_id = domain.domain
        self.attr_CloudFrontDistribution = domain.to_json(extended=False)["CloudFrontDomain"]

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolDomain"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UserPoolDomain:
        properties = cloudformation_json.get("Properties", {})
        domain = _cognito(account_id, region_name).create_user_pool_domain(
            properties["UserPoolId"], properties["Domain"], properties.get("CustomDomainConfig")
        )
        return cls(domain)

    def delete(self, account_id: str, region_name: str) -> None:
        _cognito(account_id, region_name).delete_user_pool_domain(self.domain.domain)


class EmailIdentity(_Model, CloudFormationModel):
    def __init__(self, identity: str) -> None:
        self.physical_resource_id = identity

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SES::EmailIdentity"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "EmailIdentity"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EmailIdentity:
        properties = cloudformation_json.get("Properties", {})
        identity = properties["EmailIdentity"]
        config_set = (properties.get("ConfigurationSetAttributes") or {}).get(
            "ConfigurationSetName"
        )
        ses_backends[account_id][region_name].create_email_identity_v2(
            identity, None, properties.get("DkimSigningAttributes"), config_set
        )
        return cls(identity)

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].delete_identity(self.physical_resource_id)


class BucketPolicy(_Model, CloudFormationModel):
    def __init__(self, bucket: str) -> None:
        self.physical_resource_id = bucket

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> BucketPolicy:
        properties = cloudformation_json.get("Properties", {})
        bucket = properties["Bucket"]
        document = properties["PolicyDocument"]
        if not isinstance(document, str):
            document = json.dumps(document)
        s3_backends[account_id][get_partition(region_name)].put_bucket_policy(
            bucket, document.encode()
        )
        return cls(bucket)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> BucketPolicy:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        if self.physical_resource_id in backend.buckets:
            backend.delete_bucket_policy(self.physical_resource_id)


MODELS = (UserPool, UserPoolClient, UserPoolGroup, UserPoolDomain, EmailIdentity, BucketPolicy)


# -- gap 7: bucket policy conditions --------------------------------------------------------


def _condition_holds(condition: dict[str, Any] | None, context: dict[str, str]) -> bool:
    """IAM's condition operators the stack uses (Bool, String[Not]Equals); a key absent from
    the context makes a positive condition false, as IAM documents."""
    for operator, tests in (condition or {}).items():
        for key, expected in tests.items():
            wanted = [
                str(v).lower() for v in (expected if isinstance(expected, list) else [expected])
            ]
            actual = context.get(key.lower())
            if operator in ("Bool", "StringEquals", "StringEqualsIgnoreCase"):
                if actual is None or actual.lower() not in wanted:
                    return False
            elif (
                operator in ("StringNotEquals", "StringNotEqualsIgnoreCase")
                and actual is not None
                and actual.lower() in wanted
            ):
                return False
            # Other operators: the statement applies, as moto evaluates it.
    return True


def bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    applicable = [
        {k: v for k, v in statement.items() if k != "Condition"}
        for statement in statements
        if _condition_holds(statement.get("Condition"), S3_REQUEST_CONTEXT)
    ]
    if not applicable:
        return PermissionResult.NEUTRAL
    policy = {"Version": document.get("Version", "2012-10-17"), "Statement": applicable}
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


# -- gap 8: Swagger 2.0 import --------------------------------------------------------------

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


# -- gap 9: temporary passwords ------------------------------------------------------------

_real_admin_create_user = CognitoIdpBackend.admin_create_user
_real_admin_create_user_response = CognitoIdpResponse.admin_create_user


def temporary_password(policy: dict[str, Any]) -> str:
    """A password meeting the pool's policy (Cognito generates one when none is given)."""
    length = max(int(policy.get("MinimumLength", 8)), 12)
    alphabet = string.ascii_letters + string.digits
    required = [
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.digits),
        secrets.choice("^$*.[]{}()?!@#%&/,><:;|_~=+-"),
    ]
    rest = [secrets.choice(alphabet) for _ in range(length - len(required))]
    chars = required + rest
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def admin_create_user(
    self: CognitoIdpBackend,
    user_pool_id: str,
    username: str,
    message_action: str,
    temporary_password_: str,
    attributes: list[dict[str, str]],
) -> Any:
    if not temporary_password_:
        pool = self.describe_user_pool(user_pool_id)
        policy = pool.extended_config.get("Policies", {}).get("PasswordPolicy", {})
        temporary_password_ = temporary_password(policy)
    return _real_admin_create_user(
        self, user_pool_id, username, message_action, temporary_password_, attributes
    )


def admin_create_user_response(self: CognitoIdpResponse) -> Any:
    result = _real_admin_create_user_response(self)
    mediums = self._get_param("DesiredDeliveryMediums") or ["SMS"]
    if self._get_param("MessageAction") == "SUPPRESS" or "EMAIL" not in mediums:
        return result
    user = self.backend.admin_get_user(self._get_param("UserPoolId"), self._get_param("Username"))
    address = user.attribute_lookup.get("email")
    if address:
        body = INVITATION_MESSAGE.replace("{username}", self._get_param("Username")).replace(
            "{####}", user.password
        )
        ses = ses_backends[self.current_account][self.region]
        ses.sent_messages.append(
            Message(
                secrets.token_hex(16),
                COGNITO_SENDER,
                INVITATION_SUBJECT,
                body,
                {"ToAddresses": [address]},
            )
        )
    return result


# -- gap 10: moto's state dump with a Lambda function ---------------------------------------


def model_data(self: Any, request: Any, full_url: str, headers: Any) -> Any:
    from moto.core.model_instances import model_data as tracked

    results: dict[str, dict[str, list[Any]]] = {}
    for service in sorted(tracked):
        results[service] = {}
        for name in sorted(tracked[service]):
            instances = []
            for instance in tracked[service][name].instances_tracked:  # type: ignore[attr-defined]
                attributes = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:  # noqa: S112 - skipped, like unserialisable values
                        continue
                    attributes[attr] = value
                instances.append(attributes)
            results[service][name] = instances
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


# -- applying -------------------------------------------------------------------------------


def apply() -> None:
    """Install every filler into moto (idempotent). Call before serving any request."""
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    registered = parsing.get_model_map()
    missing = [
        m.cloudformation_type() for m in MODELS if registered.get(m.cloudformation_type()) is not m
    ]
    if missing:
        raise RuntimeError(f"harness models not registered: {missing}")
    FakeBucket.get_permission = bucket_permission
    APIGatewayBackend.import_rest_api = import_rest_api
    APIGatewayBackend.put_rest_api = put_rest_api
    CognitoIdpBackend.admin_create_user = admin_create_user
    CognitoIdpResponse.admin_create_user = admin_create_user_response
    MotoAPIResponse.model_data = model_data
    from moto.moto_api._internal import urls as moto_api_urls  # binds its handlers on import

    moto_api_urls.url_paths["{0}/moto-api/data.json"] = moto_api_urls.response_instance.model_data
