"""Compile the Solidity sources into the committed artifacts under contracts/build/.

Only developers need this module: running qcity reads the committed artifacts and needs no
compiler. The compiler is a native ``solc`` of the pinned version when one is on PATH, else
npm's solc-js (``node_modules/.bin/solcjs``), both driven through py-solc-x's standard-JSON
interface. solc-js prints ``>>> ...`` banner lines before its JSON, so it runs behind a tiny
shell wrapper that drops them.
"""



from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import solcx

SOLC_VERSION = "0.8.28"
PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_DIR = PACKAGE_DIR / "build"
REPO_ROOT = PACKAGE_DIR.parent
# Every source of the compilation, in a fixed order (the order feeds the combined hash).
SOURCE_FILES = (
    "Roles.sol",
    "IStakeholderRegistry.sol",
    "StakeholderRegistry.sol",
    "ConsentLedger.sol",
    "AuditTrail.sol",
)
CONTRACT_NAMES = ("StakeholderRegistry", "ConsentLedger", "AuditTrail")
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1000},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
}
_OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    "evm.methodIdentifiers",
]


class CompilerUnavailable(RuntimeError):
    """Neither a native solc of the pinned version nor npm's solc-js could be found."""


class CompilationFailed(RuntimeError):
    """The compiler reported errors."""


def source_hashes(source_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """sha256 of each source file, the facts an artifact's freshness is judged by."""
    return {
        name: hashlib.sha256((source_dir / name).read_bytes()).hexdigest() for name in SOURCE_FILES
    }


def combined_source_hash(hashes: dict[str, str]) -> str:
    """One sha256 over all per-file hashes, in SOURCE_FILES order."""
    joined = "\n".join(f"{name}:{hashes[name]}" for name in SOURCE_FILES)
    return hashlib.sha256(joined.encode()).hexdigest()


def _native_solc() -> Path | None:
    found = shutil.which("solc")
    if found is None:
        return None
    try:
        version = solcx.wrapper.get_solc_version(found)
    except (solcx.exceptions.SolcError, OSError, subprocess.SubprocessError):
        return None
    return Path(found) if str(version) == SOLC_VERSION else None


def _solcjs(repo_root: Path) -> Path | None:
    candidate = repo_root / "node_modules" / ".bin" / "solcjs"
    return candidate if candidate.exists() else None


def compiler_available(repo_root: Path = REPO_ROOT) -> bool:
    """Whether compile_sources can run here."""
    return _native_solc() is not None or _solcjs(repo_root) is not None


@contextmanager
def _compiler(repo_root: Path) -> Iterator[Path]:
    """Yield a solc executable for py-solc-x: native solc, or a wrapper around solc-js."""
    native = _native_solc()
    if native is not None:
        yield native
        return
    solcjs = _solcjs(repo_root)
    if solcjs is None:
        raise CompilerUnavailable(
            f"no solc {SOLC_VERSION} on PATH and no {repo_root}/node_modules/.bin/solcjs "
            "(run `npm ci` in the repository root)"
        )
    with tempfile.TemporaryDirectory(prefix="qcity-solc-") as tmp:
        wrapper = Path(tmp) / "solc"
        # Output goes to a file, not a pipe: solc-js exits before a pipe drains and would
        # cut its JSON at 64 KiB.
        wrapper.write_text(
            "#!/bin/sh\n"
            f'out="{tmp}/out.json"\n'
            f'"{solcjs}" "$@" > "$out"\n'
            "status=$?\n"
            "sed '/^>>> /d' \"$out\"\n"
            "exit $status\n"
        )
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        yield wrapper


def compile_sources(
    source_dir: Path = PACKAGE_DIR, repo_root: Path = REPO_ROOT
) -> dict[str, dict[str, Any]]:
    """Compile the sources and return one artifact dict per contract (nothing is written)."""
    sources = {name: {"content": (source_dir / name).read_text()} for name in SOURCE_FILES}
    settings = {**SETTINGS, "outputSelection": {"*": {"*": _OUTPUTS}}}
    hashes = source_hashes(source_dir)
    with _compiler(repo_root) as solc:
        version = solcx.wrapper.get_version_str_from_solc_binary(solc)
        try:
            output = solcx.compile_standard(
                {"language": "Solidity", "sources": sources, "settings": settings},
                solc_binary=solc,
            )
        except solcx.exceptions.SolcError as exc:
            raise CompilationFailed(str(exc)) from exc
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in output["contracts"].items():
        for name, out in contracts.items():
            if name not in CONTRACT_NAMES:
                continue
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": out["abi"],
                "bytecode": "0x" + out["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
                # Byte ranges of immutables (filled at deploy time), for verifying code on chain.
                "immutableRanges": sorted(
                    [ref["start"], ref["length"]]
                    for refs in out["evm"]["deployedBytecode"]["immutableReferences"].values()
                    for ref in refs
                ),
                "methodIdentifiers": out["evm"]["methodIdentifiers"],
                "compiler": {"name": "solc", "version": version},
                "settings": SETTINGS,
                "sources": hashes,
                "sourceSha256": combined_source_hash(hashes),
            }
    missing = set(CONTRACT_NAMES) - set(artifacts)
    if missing:
        raise CompilationFailed(f"compiler output lacks {sorted(missing)}")
    return artifacts


def write_artifacts(
    artifacts: dict[str, dict[str, Any]], build_dir: Path = BUILD_DIR
) -> list[Path]:
    """Write one pretty, key-sorted JSON file per contract (stable diffs for review)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = build_dir / f"{name}.json"
        path.write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
