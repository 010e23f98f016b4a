"""One router module per resource; `ROUTERS` is what create_app mounts by default."""

from gateway.routes import audit, auth, consents, jobs, rpc, twin, wellknown

ROUTERS = (wellknown.router, auth.router, twin.router, audit.router, rpc.router,
           consents.router, jobs.router)

__all__ = ["ROUTERS"]
