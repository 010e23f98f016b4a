"""Regenerate contracts/build/*.json from the Solidity sources.

Usage: .venv/bin/python scripts/compile_contracts.py [--check]
--check compiles without writing and exits 1 when the committed artifacts are stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.compile import BUILD_DIR, compile_sources, write_artifacts

_COMPARED = ("abi", "bytecode", "deployedBytecode", "sourceSha256")


def _stale(artifacts: dict[str, dict]) -> list[str]:
    stale = []
    for name, fresh in artifacts.items():
        path = BUILD_DIR / f"{name}.json"
        if not path.exists():
            stale.append(name)
            continue
        committed = json.loads(path.read_text())
        if any(committed.get(key) != fresh[key] for key in _COMPARED):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale artifacts")
    args = parser.parse_args(argv)
    artifacts = compile_sources()
    if args.check:
        stale = _stale(artifacts)
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    for path in write_artifacts(artifacts):
        size = (len(artifacts[path.stem]["deployedBytecode"]) - 2) // 2
        print(f"wrote {path.relative_to(BUILD_DIR.parents[1])} ({size} bytes deployed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
