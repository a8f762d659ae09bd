"""The API application: routes, error objects, and the state the endpoints share.

``create_app(host, key=...)`` gives an ASGI application. ``host`` is where generations run: anything
with ``queue`` (a RequestQueue) and ``model()`` (the loaded model's ModelInfo, or None while none is):
the server's own EngineThread, or the app's engine thread (app/api_runner.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.server.chat import chat_completions
from engine.server.errors import ApiError
from engine.server.guard import Guard, RequestRecord
from engine.server.responses import ResponseStore, create_response, get_response


@dataclass
class ServerState:
    host: object
    responses: ResponseStore = field(default_factory=ResponseStore)
    jobs: set = field(default_factory=set)  # jobs queued or running, to abandon when the server stops

    @property
    def queue(self):
        return self.host.queue

    def abandon_all(self) -> None:
        for job in list(self.jobs):
            job.abandon()


async def list_models(request: Request) -> JSONResponse:
    info = request.app.state.server.host.model()
    models = [] if info is None else [_model(info)]
    return JSONResponse({"object": "list", "data": models})


async def get_model(request: Request) -> JSONResponse:
    info = request.app.state.server.host.model()
    if info is None or request.path_params["model"] != info.id:
        raise ApiError(
            404, f"The model {request.path_params['model']!r} does not exist here.", code="model_not_found"
        )
    return JSONResponse(_model(info))


def _model(info) -> dict:
    return {
        "id": info.id,
        "object": "model",
        "created": info.created,
        "owned_by": info.owned_by,
        "context_length": info.context_length,
        "max_model_len": info.context_length,
    }


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return error.response()


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    if error.status_code == 404:
        return ApiError(
            404,
            f"There is no {request.method} {request.url.path} here; the API is under /v1.",
            code="not_found",
        ).response()
    if error.status_code == 405:
        return ApiError(
            405, f"{request.method} is not allowed on {request.url.path}.", code="method_not_allowed"
        ).response()
    return ApiError(error.status_code, str(error.detail)).response()


async def _server_error(request: Request, error: Exception) -> JSONResponse:
    from engine.server.dispatch import api_error

    return api_error(error).response()


def create_app(
    host,
    *,
    key: str,
    bound_host: str = "127.0.0.1",
    allow_origins: tuple[str, ...] = (),
    on_request: Callable[[RequestRecord], None] | None = None,
) -> Guard:
    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/responses", create_response, methods=["POST"]),
        Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.server = ServerState(host)
    guarded = Guard(app, key=key, bound_host=bound_host, allow_origins=allow_origins, on_request=on_request)
    guarded.state = app.state.server
    return guarded
