"""Toxiproxy 2.x HTTP API over a ``ProxyCollection``.

Routes, status codes and JSON shapes follow Shopify/toxiproxy's api.go, so
toxiproxy-python, toxiproxy-cli and the harness client all drive this server
as they would the real one. Every error answers Toxiproxy's body
``{"error": "...", "status": N}``; nothing a client sends produces a 500.
"""

from __future__ import annotations

import json
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.toxiproxy.server.collection import ProxyCollection, parse_proxy
from harness.toxiproxy.server.errors import ApiError, bad_request

log = logging.getLogger("harness.toxiproxy.server")

VERSION = "2.9.0-embedded"


def _collection(request: Request) -> ProxyCollection:
    collection: ProxyCollection = request.app.state.collection
    return collection


async def _json_body(request: Request) -> object:
    raw = await request.body()
    if not raw.strip():
        raise bad_request("EOF")  # what Go's decoder says about an empty body
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
        raise bad_request(str(exc)) from exc


def _no_content() -> Response:
    return Response(status_code=204)


async def version(request: Request) -> Response:
    return JSONResponse({"version": VERSION})


async def reset(request: Request) -> Response:
    await _collection(request).reset()
    return _no_content()


async def proxy_index(request: Request) -> Response:
    proxies = _collection(request).proxies
    return JSONResponse({name: proxy.to_json() for name, proxy in proxies.items()})


async def proxy_create(request: Request) -> Response:
    spec = parse_proxy(await _json_body(request))
    proxy = await _collection(request).create(spec)
    return JSONResponse(proxy.to_json(), status_code=201)


async def populate(request: Request) -> Response:
    proxies = await _collection(request).populate(await _json_body(request))
    return JSONResponse({"proxies": [proxy.to_json() for proxy in proxies]}, status_code=201)


async def proxy_show(request: Request) -> Response:
    proxy = _collection(request).get(request.path_params["proxy"])
    return JSONResponse(proxy.to_json())


async def proxy_update(request: Request) -> Response:
    body = await _json_body(request)
    proxy = await _collection(request).update(request.path_params["proxy"], body)
    return JSONResponse(proxy.to_json())


async def proxy_delete(request: Request) -> Response:
    await _collection(request).delete(request.path_params["proxy"])
    return _no_content()


async def toxic_index(request: Request) -> Response:
    proxy = _collection(request).get(request.path_params["proxy"])
    return JSONResponse([toxic.to_json() for toxic in proxy.toxic_list()])


async def toxic_create(request: Request) -> Response:
    collection = _collection(request)
    collection.get(request.path_params["proxy"])  # 404 before a body error, as Toxiproxy
    toxic = collection.add_toxic(request.path_params["proxy"], await _json_body(request))
    return JSONResponse(toxic.to_json())


async def toxic_show(request: Request) -> Response:
    params = request.path_params
    toxic = _collection(request).get_toxic(params["proxy"], params["toxic"])
    return JSONResponse(toxic.to_json())


async def toxic_update(request: Request) -> Response:
    params = request.path_params
    collection = _collection(request)
    collection.get_toxic(params["proxy"], params["toxic"])
    toxic = collection.update_toxic(params["proxy"], params["toxic"], await _json_body(request))
    return JSONResponse(toxic.to_json())


async def toxic_delete(request: Request) -> Response:
    params = request.path_params
    _collection(request).remove_toxic(params["proxy"], params["toxic"])
    return _no_content()


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    body = {"error": exc.detail, "status": exc.status_code}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": f"internal error: {exc}", "status": 500}, status_code=500)


_UPDATE = ["POST", "PATCH"]  # Toxiproxy accepts both; POST is the historical one

ROUTES = [
    Route("/version", version, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/populate", populate, methods=["POST"]),
    Route("/proxies", proxy_index, methods=["GET"]),
    Route("/proxies", proxy_create, methods=["POST"]),
    Route("/proxies/{proxy}", proxy_show, methods=["GET"]),
    Route("/proxies/{proxy}", proxy_update, methods=_UPDATE),
    Route("/proxies/{proxy}", proxy_delete, methods=["DELETE"]),
    Route("/proxies/{proxy}/toxics", toxic_index, methods=["GET"]),
    Route("/proxies/{proxy}/toxics", toxic_create, methods=["POST"]),
    Route("/proxies/{proxy}/toxics/{toxic}", toxic_show, methods=["GET"]),
    Route("/proxies/{proxy}/toxics/{toxic}", toxic_update, methods=_UPDATE),
    Route("/proxies/{proxy}/toxics/{toxic}", toxic_delete, methods=["DELETE"]),
]


def create_app(collection: ProxyCollection) -> Starlette:
    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.collection = collection
    return app
