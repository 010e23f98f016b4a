"""The core contract suite (tests/unit/contracts/test_core_*.py) against a Hardhat node.

The same test functions run here with this folder's fixtures (conftest.py): a real JSON-RPC
node instead of the embedded eth-tester chain.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.node

UNIT_DIR = Path(__file__).resolve().parents[2] / "unit" / "contracts"


def _load(path: Path) -> dict[str, object]:
    name = f"qcity_core_suite_{path.stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return vars(sys.modules[name])


for _path in sorted(UNIT_DIR.glob("test_core_*.py")):
    for _name, _value in _load(_path).items():
        if _name.startswith("test_") and callable(_value):
            globals()[_name] = _value
