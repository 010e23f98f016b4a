"""Read the committed compiler artifacts; running qcity never needs a compiler."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_DIR = PACKAGE_DIR / "build"
CONTRACT_NAMES = ("StakeholderRegistry", "ConsentLedger", "AuditTrail")


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what deploying and calling it needs, and where it came from."""

    name: str
    abi: list[dict[str, Any]] = field(repr=False)
    bytecode: str = field(repr=False)
    deployed_bytecode: str = field(repr=False)
    compiler_version: str
    source_sha256: str
    sources: dict[str, str] = field(repr=False)
    immutable_ranges: tuple[tuple[int, int], ...] = field(default=(), repr=False)

    def matches_code(self, code: bytes) -> bool:
        """Whether on-chain runtime `code` is this contract (immutables masked out)."""
        expected = bytearray(bytes.fromhex(self.deployed_bytecode[2:]))
        actual = bytearray(code)
        if len(actual) != len(expected):
            return False
        for start, length in self.immutable_ranges:
            actual[start : start + length] = bytes(length)
            expected[start : start + length] = bytes(length)
        return actual == expected


@functools.cache
def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> Artifact:
    """Load contracts/build/<name>.json (cached: artifacts are immutable at run time)."""
    raw = json.loads((build_dir / f"{name}.json").read_text())
    return Artifact(
        name=raw["contractName"],
        abi=raw["abi"],
        bytecode=raw["bytecode"],
        deployed_bytecode=raw["deployedBytecode"],
        compiler_version=raw["compiler"]["version"],
        source_sha256=raw["sourceSha256"],
        sources=raw["sources"],
        immutable_ranges=tuple((int(a), int(b)) for a, b in raw.get("immutableRanges", [])),
    )


def stale_sources(source_dir: Path = PACKAGE_DIR, build_dir: Path = BUILD_DIR) -> list[str]:
    """Source files whose sha256 differs from the one the artifacts were built from.

    A cheap freshness check that needs no compiler (the full check recompiles).
    """
    recorded: dict[str, str] = {}
    for name in CONTRACT_NAMES:
        recorded.update(load_artifact(name, build_dir).sources)
    stale = []
    for filename, digest in sorted(recorded.items()):
        path = source_dir / filename
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            stale.append(filename)
    current = {p.name for p in source_dir.glob("*.sol")}
    stale.extend(sorted(current - set(recorded)))
    return stale
