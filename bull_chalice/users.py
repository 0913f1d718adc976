"""Creating the store's admins in its Cognito user pool: the one place users are made, for
`bull admin add`, the local stack's admin and the tests.

An admin is a user signed in by email (verified) in the `admins` group, the group the app's
admin routes require (`chalicelib.admin.auth.ADMIN_GROUP`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.admin.auth import ADMIN_GROUP

__all__ = ["ADMIN_GROUP", "add_to_admins", "add_user", "create_invited"]


def _create(cognito: Any, pool_id: str, email: str, **delivery: Any) -> bool:
    """AdminCreateUser with a verified email; False when the user exists already."""
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            **delivery,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UsernameExistsException":
            raise
        return False
    return True


def add_to_admins(cognito: Any, pool_id: str, email: str) -> None:
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=ADMIN_GROUP)


def create_invited(cognito: Any, pool_id: str, email: str) -> bool:
    """Create a user whom Cognito mails a temporary password (the first sign-in sets a new
    one); False when the user exists already (nothing is mailed)."""
    return _create(cognito, pool_id, email, DesiredDeliveryMediums=["EMAIL"])


def add_user(cognito: Any, pool_id: str, email: str, password: str, *, admin: bool = True) -> None:
    """Create (or update) a confirmed user with a permanent password; add to `admins`."""
    _create(cognito, pool_id, email, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=email, Password=password, Permanent=True
    )
    if admin:
        add_to_admins(cognito, pool_id, email)
