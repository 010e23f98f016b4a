"""The one exception handler: any exception with `code` and `http_status` becomes JSON.

It is registered for the known bases (the gateway's, the chain layer's, the twin's) and for
`Exception`, so a refusal from any package reaches the client as `{code, message, ...}`
and an unexpected bug becomes a 500 with code `internal_error` and no details.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.logs import log_event

_log = logging.getLogger("qcity.gateway.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def _plain(value: Any) -> Any:
    """Facts made JSON-safe: bytes as 0x-hex, unknown objects as strings."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the offending input (it may hold personal data)."""
    return [
        {"loc": _plain(list(err.get("loc", ()))), "msg": str(err.get("msg", "")),
         "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body for any exception."""
    if isinstance(exc, RequestValidationError):
        return 422, {
            "code": "validation_error",
            "message": "The request does not match the expected shape.",
            "errors": _validation_errors(exc),
        }
    if isinstance(exc, StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return exc.status_code, {"code": code, "message": str(exc.detail)}
    code = getattr(exc, "code", None)
    status = getattr(exc, "http_status", None)
    if isinstance(code, str) and isinstance(status, int) and 400 <= status <= 599:
        body: dict[str, Any] = {"code": code, "message": str(getattr(exc, "message", exc))}
        facts = getattr(exc, "facts", None)
        if isinstance(facts, Mapping):
            body.update({k: _plain(v) for k, v in facts.items() if k not in body})
        return status, body
    return 500, {"code": "internal_error", "message": "Internal error; it has been logged."}


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler registered on the app for every base it may see."""
    status, body = error_body(exc)
    if status >= 500 and body["code"] == "internal_error":
        _log.exception("unhandled", exc_info=exc)
    else:  # the route's template, not the path: entity ids can point at a household
        route = request.scope.get("route")
        log_event(_log, "refused", status=status, code=body["code"],
                  route=getattr(route, "path", "unmatched"))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI, bases: tuple[type[BaseException], ...]) -> None:
    """Register `handle_error` for the given bases, validation, HTTP errors and Exception."""
    for base in (*bases, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(base, handle_error)  # type: ignore[arg-type]
