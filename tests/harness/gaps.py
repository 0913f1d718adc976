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
11. `CreateDeployment` to an existing stage replaces the stage with a new one, losing its
   settings (method settings such as throttling, set by `bull` with UpdateStage); API Gateway
   points the existing stage at the new deployment and keeps them. Filled by
   `create_deployment` (tests/harness/apigateway.py).
"""

from __future__ import annotations

from moto.apigateway.models import APIGatewayBackend, RestAPI
from moto.cloudformation import parsing
from moto.cognitoidp.models import CognitoIdpBackend
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.s3.models import FakeBucket

from tests.harness.apigateway import create_deployment, import_rest_api, put_rest_api
from tests.harness.cloudformation import MODELS
from tests.harness.cognito import admin_create_user, admin_create_user_response
from tests.harness.moto_api import model_data
from tests.harness.s3_policy import bucket_permission


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
    RestAPI.create_deployment = create_deployment
    CognitoIdpBackend.admin_create_user = admin_create_user
    CognitoIdpResponse.admin_create_user = admin_create_user_response
    MotoAPIResponse.model_data = model_data
    from moto.moto_api._internal import urls as moto_api_urls  # binds its handlers on import

    moto_api_urls.url_paths["{0}/moto-api/data.json"] = moto_api_urls.response_instance.model_data
