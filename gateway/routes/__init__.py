"""One router module per resource; `ROUTERS` is what create_app mounts by default.

Twin reads come first: FastAPI tries the routers in order on every request, and no path of
one router is a path of another (each has its own prefix), so the order only decides how
many failed matches the busiest routes pay.
"""

from gateway.routes import audit, auth, consents, jobs, rpc, twin, wellknown

ROUTERS = (twin.router, wellknown.router, auth.router, audit.router, rpc.router,
           consents.router, jobs.router)

__all__ = ["ROUTERS"]
