"""Bundle the wallet's ES modules (src/) into static/wallet.bundle.js with esbuild.

The bundle is committed, like the contract artifacts, so that serving the wallet needs no
Node: `qcity serve` only reads static/. `manifest.json` beside it records the digest of the
sources and the exact npm versions bundled; a unit test checks the digest against src/
without Node, and a second test rebuilds with esbuild and compares bytes (esbuild output is
deterministic for one version and one input). Run `python -m clients.wallet` after
editing src/.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

WALLET_DIR = Path(__file__).resolve().parent
SRC_DIR = WALLET_DIR / "src"
STATIC_DIR = WALLET_DIR / "static"
BUNDLE_NAME = "wallet.bundle.js"
MANIFEST_NAME = "manifest.json"
ENTRY = "main.js"
BUNDLED_PACKAGES = ("ethers", "@noble/post-quantum")
"""npm packages that end up inside the bundle (their versions are recorded)."""
ESBUILD_FLAGS = (
    "--bundle",
    "--format=esm",
    "--platform=browser",
    "--target=es2022",
    "--minify",
    "--legal-comments=eof",
    "--charset=utf8",
    "--log-level=warning",
)


class BuildError(RuntimeError):
    """esbuild or the npm packages it needs are missing, or the build failed."""


@dataclass(frozen=True)
class Manifest:
    """What a committed bundle was built from."""

    source_sha256: str
    bundle_sha256: str
    esbuild: str
    packages: dict[str, str]


def source_digest(src_dir: Path = SRC_DIR) -> str:
    """SHA-256 over the wallet's source files (names and contents, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in src_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(src_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _repo_root() -> Path:
    return WALLET_DIR.parents[1]


ROOT_NODE_MODULES = WALLET_DIR.parents[1] / "node_modules"


def _esbuild() -> Path:
    exe = ROOT_NODE_MODULES / ".bin" / "esbuild"
    if not exe.exists():
        raise BuildError("esbuild is not installed: run `npm ci` at the repository root")
    return exe


def _package_version(name: str) -> str:
    pkg = ROOT_NODE_MODULES / name / "package.json"
    if not pkg.exists():
        raise BuildError(f"npm package {name} is not installed: run `npm ci`")
    return str(json.loads(pkg.read_text())["version"])


def bundle(out_file: Path) -> None:
    """Run esbuild on src/wallet.js, writing one ES module to `out_file`."""
    cmd = [str(_esbuild()), str(SRC_DIR / ENTRY), *ESBUILD_FLAGS, f"--outfile={out_file}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=_repo_root(), check=False)
    if proc.returncode != 0:
        raise BuildError(proc.stderr.strip() or "esbuild failed")


def build(static_dir: Path = STATIC_DIR) -> Manifest:
    """Rebuild the bundle into `static_dir` and write its manifest."""
    static_dir.mkdir(parents=True, exist_ok=True)
    out = static_dir / BUNDLE_NAME
    bundle(out)
    manifest = Manifest(
        source_sha256=source_digest(),
        bundle_sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
        esbuild=_package_version("esbuild"),
        packages={name: _package_version(name) for name in BUNDLED_PACKAGES},
    )
    (static_dir / MANIFEST_NAME).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def read_manifest(static_dir: Path = STATIC_DIR) -> Manifest:
    """The manifest of the committed bundle."""
    return Manifest(**json.loads((static_dir / MANIFEST_NAME).read_text()))


def main() -> int:
    """`python -m clients.wallet`: rebuild the committed bundle."""
    if shutil.which("node") is None:
        print("node is not installed", file=sys.stderr)
        return 2
    try:
        manifest = build()
    except BuildError as exc:
        print(f"wallet build failed: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {STATIC_DIR / BUNDLE_NAME} (sha256 {manifest.bundle_sha256[:16]}...)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
