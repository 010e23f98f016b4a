"""The app factory: `create_app(settings)` builds the runtime and mounts the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig

from contracts import Chain, ChainError, Deployment
from gateway.errors import GatewayError
from gateway.handlers import install_error_handlers
from gateway.routes import ROUTERS
from gateway.runtime import Runtime, build_runtime
from gateway.sealing import install_sealing
from gateway.settings import GatewaySettings
from gateway.twin import TwinPort
from quantum import JobBackend
from quantum.errors import QuantumError

try:  # the twin's errors map through the same handler
    from twin_core.errors import TwinError

    _ERROR_BASES: tuple[type[Exception], ...] = (GatewayError, ChainError, QuantumError,
                                                 TwinError)
except ImportError:  # pragma: no cover
    _ERROR_BASES = (GatewayError, ChainError, QuantumError)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    chain: Chain | None = None,
    deployment: Deployment | None = None,
    recorder: LocalAccount | None = None,
    twin: TwinPort | None = None,
    routers: Iterable[APIRouter] = (),
    job_backend: JobBackend | None = None,
) -> FastAPI:
    """Build the gateway.

    With only `settings` it opens everything itself (embedded chain and SQLite in
    `settings.data_dir`, contracts deployed on first start). Tests and the benchmark may hand
    in a chain and deployment (with the recorder account that holds AUDIT_RECORDER) and a
    twin store. `routers` adds more routers, which use the same dependencies from
    gateway.deps for sessions and permission checks. `job_backend` lends the job service a
    backend the caller owns and closes (see `build_runtime`).
    """
    settings = settings or GatewaySettings()
    runtime = build_runtime(settings, chain=chain, deployment=deployment, recorder=recorder,
                            twin=twin, job_backend=job_backend)
    return app_for(runtime, routers=routers)


def _telemetry(on: bool) -> TelemetryConfig:
    """FastAPI's native telemetry, on or off as the settings say.

    FastAPI checks on every request whether OpenTelemetry providers are configured, which
    reads the environment three times (~10 µs a request); the settings decide once instead.
    """
    return {"tracing": on, "metrics": on, "logs": on}


def app_for(runtime: Runtime, *, routers: Iterable[APIRouter] = ()) -> FastAPI:
    """Mount the routers on a FastAPI app around an existing runtime."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="qcity gateway",
        summary="Post-quantum sessions, on-chain permission checks, audited twin access.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=_telemetry(runtime.settings.telemetry),
    )
    app.state.runtime = runtime
    install_error_handlers(app, _ERROR_BASES)
    install_sealing(app)
    for router in (*ROUTERS, *routers):
        app.include_router(router)
    return app
