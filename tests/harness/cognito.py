"""Gap 9: Cognito's temporary password and invitation for AdminCreateUser (see gaps.py)."""

from __future__ import annotations

import secrets
import string
from typing import Any

from moto.cognitoidp.models import CognitoIdpBackend
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.ses.models import Message, ses_backends

COGNITO_SENDER = "no-reply@verificationemail.com"
INVITATION_SUBJECT = "Your temporary password"
INVITATION_MESSAGE = "Your username is {username} and temporary password is {####}."


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
