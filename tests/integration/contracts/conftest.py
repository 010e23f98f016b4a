"""Fixtures of the chain-layer integration tests: a real Hardhat JSON-RPC node.

The node is started here (`npx hardhat node` in the repository root, on a free port),
awaited until it answers, and always stopped. Without node_modules/hardhat the tests skip,
unless QCITY_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from contracts import Chain, ChainUnavailable, QcityContracts, connect, wait_until_reachable

REPO_ROOT = Path(__file__).resolve().parents[3]
UNIT_DIR = REPO_ROOT / "tests" / "unit" / "contracts"


def _load(name: str, path: Path) -> ModuleType:
    """Import a helper by path (test folders are not packages under importlib mode)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


world = _load("qcity_contract_world", UNIT_DIR / "_world.py")


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("QCITY_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (QCITY_REQUIRE_SERVICES is set, so this is mandatory)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop npx and the node it spawned (their own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def node_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Hardhat node started for this session."""
    if not (REPO_ROOT / "node_modules" / ".bin" / "hardhat").exists():
        _skip_or_fail("npm hardhat is not installed (run `npm ci` in the repository root)")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("hardhat") / "node.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                "npx",
                "--no-install",
                "hardhat",
                "node",
                "--hostname",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_reachable(url, timeout=90)
        except ChainUnavailable as exc:
            tail = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(f"hardhat node did not start: {exc}\n{tail}")
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def chain(node_url: str) -> Chain:
    """The node, funded through its first unlocked account."""
    return connect(node_url)


@pytest.fixture(scope="session")
def actors(chain: Chain) -> world.Actors:
    return world.make_actors(chain)


@pytest.fixture(scope="session")
def _world(chain: Chain, actors: world.Actors) -> QcityContracts:
    return world.build_world(chain, actors)


@pytest.fixture
def qc(chain: Chain, _world: QcityContracts) -> Iterator[QcityContracts]:
    """The deployed contracts; evm_snapshot / evm_revert around every test."""
    snapshot = chain.snapshot()
    yield _world
    chain.revert(snapshot)
