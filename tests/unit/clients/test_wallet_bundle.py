"""The committed wallet bundle is what its sources build to, and the gateway can serve it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clients.wallet import STATIC_DIR, mount_wallet, read_manifest, source_digest
from clients.wallet._build import BUNDLE_NAME, ROOT_NODE_MODULES, bundle
from contracts.artifacts import load_artifact


def test_manifest_names_the_current_sources() -> None:
    manifest = read_manifest()
    assert manifest.source_sha256 == source_digest(), (
        "clients/wallet/src changed: run `python -m clients.wallet` and commit static/"
    )
    bundle_bytes = (STATIC_DIR / BUNDLE_NAME).read_bytes()
    assert hashlib.sha256(bundle_bytes).hexdigest() == manifest.bundle_sha256


def test_rebuilding_with_esbuild_gives_the_committed_bytes(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (ROOT_NODE_MODULES / ".bin" / "esbuild").exists():
        if os.environ.get("QCITY_REQUIRE_SERVICES") == "1":
            pytest.fail("node and esbuild are required (npm ci)")
        pytest.skip("node or esbuild not installed")
    out = tmp_path / BUNDLE_NAME
    bundle(out)
    assert out.read_bytes() == (STATIC_DIR / BUNDLE_NAME).read_bytes()


def test_gateway_serves_the_page_and_a_javascript_module() -> None:
    app = FastAPI()
    mount_wallet(app)
    client = TestClient(app)
    page = client.get("/wallet/")
    assert page.status_code == 200 and 'src="wallet.bundle.js"' in page.text
    js = client.get("/wallet/wallet.bundle.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def _signature(item: dict) -> str:
    return f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"


def test_wallet_abi_fragments_match_the_compiled_contracts() -> None:
    source = (STATIC_DIR.parent / "src" / "abi.js").read_text()
    fragments = re.findall(r'"((?:event|function) [^"]+)"', source)
    declared = set()
    for fragment in fragments:
        kind, rest = fragment.split(" ", 1)
        name, params = rest.split("(", 1)
        types = [p.strip().split(" ")[0] for p in params.split(")")[0].split(",") if p.strip()]
        declared.add((kind, f"{name}({','.join(types)})"))
    compiled = {(item["type"], _signature(item))
                for name in ("ConsentLedger", "AuditTrail")
                for item in load_artifact(name).abi if item.get("type") in {"event", "function"}}
    assert declared and declared <= compiled, declared - compiled
