"""The committed artifacts match the sources, and every custom error has its Python class."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from contracts import errors as errs
from contracts import load_artifact, stale_sources
from contracts.artifacts import BUILD_DIR, CONTRACT_NAMES, PACKAGE_DIR
from contracts.compile import SOLC_VERSION, compile_sources, compiler_available


def test_artifacts_were_built_from_the_current_sources() -> None:
    assert stale_sources() == [], "run: .venv/bin/python scripts/compile_contracts.py"


def test_an_edited_or_added_source_is_reported_stale(tmp_path: Path) -> None:
    for source in PACKAGE_DIR.glob("*.sol"):
        shutil.copy(source, tmp_path / source.name)
    assert stale_sources(source_dir=tmp_path) == []
    with (tmp_path / "ConsentLedger.sol").open("a") as fh:
        fh.write("\n// an edit\n")
    (tmp_path / "NewThing.sol").write_text("// new\n")
    assert stale_sources(source_dir=tmp_path) == ["ConsentLedger.sol", "NewThing.sol"]


def test_recompiling_gives_the_committed_artifacts() -> None:
    if not compiler_available():
        reason = "no solc 0.8.28 and no node_modules/.bin/solcjs (npm ci)"
        if os.environ.get("QCITY_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
            pytest.fail(f"{reason} (QCITY_REQUIRE_SERVICES is set, so this is mandatory)")
        pytest.skip(reason)
    fresh = compile_sources()
    for name in CONTRACT_NAMES:
        committed = json.loads((BUILD_DIR / f"{name}.json").read_text())
        for key in ("abi", "bytecode", "deployedBytecode", "sourceSha256", "immutableRanges"):
            assert committed[key] == fresh[name][key], f"{name}.{key} is stale: recompile"
        assert committed["compiler"]["version"].startswith(SOLC_VERSION)


def test_every_custom_error_has_a_python_class_with_a_stable_code() -> None:
    names = {
        item["name"]
        for contract in CONTRACT_NAMES
        for item in load_artifact(contract).abi
        if item["type"] == "error"
    }
    assert names == set(errs.REVERT_CLASSES)
    codes = [cls.code for cls in errs.REVERT_CLASSES.values()]
    assert len(codes) == len(set(codes))
    for cls in errs.REVERT_CLASSES.values():
        assert issubclass(cls, errs.ChainError)
        assert 400 <= cls.http_status < 500
        assert cls.code == cls.code.lower() and " " not in cls.code


def test_every_external_function_has_a_binding_method() -> None:
    import inspect
    import re

    from contracts.bindings import AuditTrail, ConsentLedger, StakeholderRegistry

    for binding in (StakeholderRegistry, ConsentLedger, AuditTrail):
        source = inspect.getsource(binding)
        called = set(re.findall(r'_(?:view|send|send_steps)\(\s*(?:\w+,\s*)?"(\w+)"', source))
        functions = {i["name"] for i in load_artifact(binding.NAME).abi if i["type"] == "function"}
        role_constants = {n for n in functions if n.isupper() and n != "PROPOSAL_LIFETIME"}
        # role constants go through role_constant(name), NAME/VERSION through domain()
        missing = functions - called - role_constants - {"NAME", "VERSION"}
        assert not missing, f"{binding.NAME}: no binding for {sorted(missing)}"
