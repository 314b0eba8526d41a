"""Request and response bodies of the auth API (see API.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class RegisterRequest(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(max_length=1024)]
    display_name: DisplayName


class VerifyEmailRequest(BaseModel):
    token: Secret


class LoginRequest(BaseModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Secret


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


class EmailVerified(BaseModel):
    email_verified: bool = True
