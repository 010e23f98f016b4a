"""Where the gateway's jobs execute: quantum's local process pool, or a Dask cluster.

`QCITY_DASK_SCHEDULER` unset: a spawn-context process pool of `QCITY_JOB_WORKERS` processes.
Set to a scheduler address (`tcp://host:8786`): tasks on that cluster. Set to `local`: a
`distributed.LocalCluster` of `QCITY_JOB_WORKERS` single-threaded worker processes, started
with the gateway and closed with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quantum import DaskBackend, JobBackend, LocalProcessBackend


@dataclass
class Engine:
    """A backend for a JobRunner, and how to release what was started for it."""

    backend: JobBackend
    release: Callable[[], None] = lambda: None


def open_engine(dask_scheduler: str | None, workers: int) -> Engine:
    """The backend the settings name (blocking: starts processes or connects)."""
    if not dask_scheduler:
        return Engine(LocalProcessBackend(max_workers=workers))
    if dask_scheduler != "local":
        return Engine(DaskBackend(dask_scheduler))
    from distributed import Client, LocalCluster

    cluster = LocalCluster(processes=True, n_workers=workers, threads_per_worker=1,
                           dashboard_address=None)
    client = Client(cluster)

    def release() -> None:
        with contextlib.suppress(Exception):  # best effort: the workers die with us anyway
            client.close()
        cluster.close()

    return Engine(DaskBackend(client=client), release)


class BorrowedBackend(JobBackend):
    """A backend someone else owns (an embedder's, a test's): used, never closed.

    A JobRunner closes its backend when it closes; a gateway restarted in the same process
    (tests, an embedding application) can keep one warm pool of workers across runners this
    way. Only one runner may use it at a time (they would share its message queue).
    """

    def __init__(self, inner: JobBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.capacity = inner.capacity

    def start(self, job_id: str, spec_json: dict[str, Any]) -> Any:
        return self.inner.start(job_id, spec_json)

    def request_cancel(self, job_id: str) -> None:
        self.inner.request_cancel(job_id)

    def messages(self, timeout: float) -> list[dict[str, Any]]:
        return self.inner.messages(timeout)

    def forget(self, job_id: str) -> None:
        self.inner.forget(job_id)

    def close(self) -> None:
        """Leave the backend running for its owner."""
