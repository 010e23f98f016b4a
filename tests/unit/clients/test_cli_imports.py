"""The CLI's client commands start without loading what only the server needs: the gateway
app (py-evm, numba, qiskit through the job service: ~5 s) or qiskit (~3 s)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("module", "absent"), [
    ("clients.sdk_cli", ("gateway.app", "gateway.runtime", "qiskit")),
    ("clients.job_cli", ("gateway.app", "qiskit")),
    ("clients.auditor", ("gateway.app", "qiskit")),
    ("gateway.policy", ("gateway.app", "gateway.jobs", "qiskit")),
])
def test_client_modules_do_not_import_the_server(module: str, absent: tuple[str, ...]) -> None:
    probe = (f"import sys, {module}; "
             f"print(','.join(m for m in {absent!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=120).stdout.strip()
    assert loaded == "", f"importing {module} loaded {loaded}"


def test_the_gateway_package_still_exports_everything_it_names() -> None:
    import gateway

    missing = [name for name in gateway.__all__ if getattr(gateway, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError):
        gateway.no_such_name  # noqa: B018
