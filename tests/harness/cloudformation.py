"""Gaps 1-6: CloudFormation models for the resources moto 5.2.5 has none for (see gaps.py)."""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cognitoidp.models import CognitoIdpBackend, cognitoidp_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends
from moto.utilities.utils import get_partition


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
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties", {})
        return cls.create(resource_name, properties, account_id, region_name)

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        raise NotImplementedError

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
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> UserPool:
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
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> UserPoolClient:
        properties = dict(properties)
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
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> UserPoolGroup:
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
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> UserPoolDomain:
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
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> EmailIdentity:
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
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicy:
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
