"""The citizen wallet: a static page and its committed JavaScript bundle, served at /wallet.

`mount_wallet(app)` serves clients/wallet/static (index.html, wallet.bundle.js, wallet.css,
manifest.json). The bundle is built from clients/wallet/src by esbuild
(`python -m clients.wallet`) and committed, so serving it needs no Node; tests prove
it matches its sources. The page talks only to the gateway that serves it: /health for the
chain id and contract addresses, /auth for the ML-DSA login, /rpc for chain reads, and the
consent and audit routes.
"""

from __future__ import annotations

from typing import Any

from clients.wallet._build import STATIC_DIR, Manifest, read_manifest, source_digest

MOUNT_PATH = "/wallet"


def mount_wallet(app: Any, path: str = MOUNT_PATH) -> None:
    """Serve the wallet page and bundle under `path` of a FastAPI/Starlette app."""
    from fastapi.staticfiles import StaticFiles

    app.mount(path, StaticFiles(directory=STATIC_DIR, html=True), name="wallet")


__all__ = ["MOUNT_PATH", "STATIC_DIR", "Manifest", "mount_wallet", "read_manifest", "source_digest"]
