"""HTTP routes of the auth service: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Response

from secureconnect.auth.deps import AuthServiceDep, ClientAddress
from secureconnect.auth.schemas import (
    EmailVerified,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
    VerifyEmailRequest,
    token_pair,
    user_out,
)
from secureconnect.common.deps import CurrentClaims
from secureconnect.common.openapi import errors

router = APIRouter(prefix="/api/v1/auth")


@router.post("/register", status_code=201, responses=errors(409))
async def register(
    body: RegisterRequest, service: AuthServiceDep, client: ClientAddress
) -> UserOut:
    return user_out(await service.register(body.email, body.password, body.display_name, client))


@router.post("/verify-email")
async def verify_email(body: VerifyEmailRequest, service: AuthServiceDep) -> EmailVerified:
    await service.verify_email(body.token)
    return EmailVerified()


@router.post("/login", responses=errors(401))
async def login(body: LoginRequest, service: AuthServiceDep, client: ClientAddress) -> TokenPair:
    return token_pair(await service.login(body.email, body.password, client, body.device_token))


@router.post("/refresh", responses=errors(401))
async def refresh(body: RefreshRequest, service: AuthServiceDep) -> TokenPair:
    return token_pair(await service.refresh(body.refresh_token))


@router.post("/logout", status_code=204)
async def logout(claims: CurrentClaims, service: AuthServiceDep) -> Response:
    await service.logout(claims)
    return Response(status_code=204)


@router.get("/me")
async def me(claims: CurrentClaims, service: AuthServiceDep) -> UserOut:
    return user_out(await service.me(claims))
