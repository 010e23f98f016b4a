"""Fixtures of the chain-layer unit tests: one embedded eth-tester chain per session."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from contracts import Chain, QcityContracts, connect


def _load_world() -> ModuleType:
    """Import _world.py by path (test folders are not packages under importlib mode)."""
    name = "qcity_contract_world"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_world.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules[name]


world = _load_world()


@pytest.fixture(scope="session")
def chain() -> Iterator[Chain]:
    """The in-memory embedded chain (snapshots allowed)."""
    c = connect()
    yield c
    c.close()


@pytest.fixture(scope="session")
def actors(chain: Chain) -> world.Actors:
    return world.make_actors(chain)


@pytest.fixture(scope="session")
def _world(chain: Chain, actors: world.Actors) -> QcityContracts:
    return world.build_world(chain, actors)


@pytest.fixture
def qc(chain: Chain, _world: QcityContracts) -> Iterator[QcityContracts]:
    """The deployed contracts; every test's changes are rolled back afterwards."""
    snapshot = chain.snapshot()
    yield _world
    chain.revert(snapshot)
