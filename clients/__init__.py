"""qcity clients: the `qcity` command line (and, as they land, the SDK, wallet and auditor)."""

from clients.cli import main

__all__ = ["main"]
