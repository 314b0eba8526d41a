"""What routes reach, the same way in every service: its state and the caller.

A service's lifespan builds its state once, a frozen dataclass of what its
routes use (services, token verifier, ...), and hands it to `install_state`
with the dependencies /ready checks. Routes get the state through the
dependency `state_dependency(TheState)` makes (each service's deps.py names it
`State`); plain ASGI code (the gateway's proxy) through `state_of`.

A state that checks bearer tokens has a `verifier` (`VerifiesTokens`), where
`CurrentClaims` and `CurrentUser` find it, for HTTP routes (the Authorization
header) and, with `socket_claims`, for WebSockets (the `token` query parameter
or the header). They take an `HTTPConnection` and are `async def`: FastAPI
runs plain functions on a thread pool, a thread hop per dependency.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Header
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from secureconnect.common.errors import DomainError
from secureconnect.common.health import Dependency
from secureconnect.common.tokens import AccessClaims, TokenVerifier, bearer_token

S = TypeVar("S")


class VerifiesTokens(Protocol):
    """A service state that checks bearer tokens."""

    @property
    def verifier(self) -> TokenVerifier: ...


def install_state(app: Starlette, state: object, dependencies: Iterable[Dependency]) -> None:
    """What the lifespan built: the state for the routes, the dependencies for /ready."""
    app.state.service = state
    app.state.dependencies += list(dependencies)


def state_of(app: Starlette, kind: type[S]) -> S:
    """The service's state, a `kind` (see install_state)."""
    state: S = app.state.service
    return state


def state_dependency(kind: type[S]) -> Callable[[HTTPConnection], Awaitable[S]]:
    """The dependency that hands routes the service's state, a `kind`."""

    async def service_state(connection: HTTPConnection) -> S:
        return state_of(connection.app, kind)

    return service_state


def _verifier(connection: HTTPConnection) -> TokenVerifier:
    state: VerifiesTokens = connection.app.state.service
    return state.verifier


def user_of(claims: AccessClaims) -> uuid.UUID:
    try:
        return uuid.UUID(claims.sub)
    except ValueError as exc:
        raise DomainError(401, "invalid_token", "the token's subject is not a user id") from exc


async def current_claims(
    connection: HTTPConnection, authorization: Annotated[str | None, Header()] = None
) -> AccessClaims:
    """The verified claims of the request's bearer token; 401 otherwise."""
    return await _verifier(connection).verify(bearer_token(authorization))


CurrentClaims = Annotated[AccessClaims, Depends(current_claims)]


async def current_user(claims: CurrentClaims) -> uuid.UUID:
    return user_of(claims)


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]


async def socket_claims(connection: HTTPConnection) -> AccessClaims:
    """The verified claims of a WebSocket's token: the `token` query parameter, else
    the Authorization header's bearer token; 401 (a DomainError) otherwise."""
    token = connection.query_params.get("token")
    if not token:
        token = bearer_token(connection.headers.get("authorization"))
    return await _verifier(connection).verify(token)
