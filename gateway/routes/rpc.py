"""POST /rpc: the JSON-RPC door to the chain (see gateway.rpc for what it answers)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway.deps import RuntimeDep
from gateway.rpc import PARSE_ERROR

router = APIRouter(tags=["chain"])


@router.post("/rpc", response_model=None)
async def rpc(request: Request, runtime: RuntimeDep) -> Response:
    """Standard Ethereum JSON-RPC 2.0, single or batch; errors follow JSON-RPC, not HTTP."""
    limit = runtime.settings.rpc_max_body_bytes
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return JSONResponse({"code": "payload_too_large",
                                 "message": f"JSON-RPC bodies are limited to {limit} bytes."},
                                status_code=413)
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return JSONResponse({"jsonrpc": "2.0", "id": None,
                             "error": {"code": PARSE_ERROR, "message": "parse error"}})
    answer = await runtime.rpc.handle(payload)
    if answer is None:
        return Response(status_code=204)
    return JSONResponse(answer)
