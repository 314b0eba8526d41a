"""Request and response bodies of the auth API (see API.md), and the shaping of responses
from what the service returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr

from secureconnect.auth.service import Tokens
from secureconnect.auth.store import User
from secureconnect.common.text import opaque, single_line

DisplayName = single_line(64)
Secret = opaque(1024)
#: Its strength is judged by the service (422 weak_password), not by the schema.
Password = opaque(1024, min_length=0)
LoginEmail = single_line(254)


class RegisterRequest(BaseModel):
    email: EmailStr
    password: Password
    display_name: DisplayName


class VerifyEmailRequest(BaseModel):
    token: Secret


class LoginRequest(BaseModel):
    email: LoginEmail
    password: Secret
    #: The device token an earlier login on this device returned: its owner is not
    #: throttled by strangers' failed logins to the account (auth/throttle.py).
    device_token: Secret | None = None


class RefreshRequest(BaseModel):
    refresh_token: Secret


class UserOut(BaseModel):
    user_id: str
    email: str
    display_name: str
    email_verified: bool


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    #: On login: keep it and send it with the next login from this device.
    device_token: str | None = None


class EmailVerified(BaseModel):
    email_verified: bool = True


def user_out(user: User) -> UserOut:
    return UserOut(
        user_id=str(user.id),
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified,
    )


def token_pair(tokens: Tokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        device_token=tokens.device_token,
    )
