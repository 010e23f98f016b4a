"""Where jobs execute: a local process pool (default) or a Dask distributed cluster.

A backend starts ``execute_job`` somewhere, gives it a cancel flag and a message sink that
cross the process boundary, and hands back a ``concurrent.futures``-style future. The runner
(``runner.py``) owns everything else, so both engines behave identically.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from abc import ABC, abstractmethod
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from quantum.runner._worker import execute_job


class JobBackend(ABC):
    """An execution engine for jobs."""

    name: str = "backend"
    capacity: int = 1
    """How many jobs may run at once (the runner queues the rest itself)."""

    @abstractmethod
    def start(self, job_id: str, spec_json: dict[str, Any]) -> Any:
        """Launch the job; return a future with ``done()``, ``result()``, ``cancel()``."""

    @abstractmethod
    def request_cancel(self, job_id: str) -> None:
        """Raise the job's cancel flag (the worker polls it between iterations)."""

    @abstractmethod
    def messages(self, timeout: float) -> list[dict[str, Any]]:
        """Progress messages sent by workers since the last call (waits up to ``timeout``)."""

    @abstractmethod
    def forget(self, job_id: str) -> None:
        """Release per-job resources once the job has ended."""

    @abstractmethod
    def close(self) -> None:
        """Stop the engine's workers (or the client connection)."""


class LocalProcessBackend(JobBackend):
    """A spawn-context process pool; flags and messages through a multiprocessing Manager.

    Spawn, not fork: the runner has threads (and Aer has OpenMP pools), which fork would copy
    in an undefined state.
    """

    name = "local"

    def __init__(self, max_workers: int = 2) -> None:
        context = multiprocessing.get_context("spawn")
        self._manager = context.Manager()
        self._queue = self._manager.Queue()
        self._flags: dict[str, Any] = {}
        self.capacity = max_workers
        self._pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=context)

    def start(self, job_id: str, spec_json: dict[str, Any]) -> Future[dict[str, Any]]:
        """Submit to the pool with a fresh cancel Event."""
        flag = self._manager.Event()
        self._flags[job_id] = flag
        return self._pool.submit(execute_job, spec_json, flag, self._queue)

    def request_cancel(self, job_id: str) -> None:
        """Set the job's Event."""
        flag = self._flags.get(job_id)
        if flag is not None:
            flag.set()

    def messages(self, timeout: float) -> list[dict[str, Any]]:
        """Drain the shared queue."""
        out: list[dict[str, Any]] = []
        try:
            out.append(self._queue.get(timeout=timeout))
            while True:
                out.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return out

    def forget(self, job_id: str) -> None:
        """Drop the job's Event."""
        self._flags.pop(job_id, None)

    def close(self) -> None:
        """Shut the pool down, then the manager."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._manager.shutdown()


class DaskCancelFlag:
    """A Dask ``Event`` by name, read at most every ``interval_s`` (each read is a round trip
    to the scheduler, and the solver polls at every QAOA evaluation)."""

    def __init__(self, name: str, interval_s: float = 0.2) -> None:
        self.name, self.interval_s = name, interval_s
        self._event: Any = None
        self._last = 0.0
        self._value = False

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "interval_s": self.interval_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"], state["interval_s"])  # type: ignore[misc]

    def is_set(self) -> bool:
        """The Event's state, cached for ``interval_s``; once set it stays set."""
        if self._value:
            return True
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            from distributed import Event

            if self._event is None:
                self._event = Event(self.name)
            self._value = bool(self._event.is_set())
            self._last = now
        return self._value


class DaskSink:
    """A Dask ``Queue`` by name, for progress messages from workers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"])  # type: ignore[misc]

    def put(self, item: Any) -> None:
        """Append to the queue (through the worker's own client)."""
        from distributed import Queue

        if self._queue is None:
            self._queue = Queue(self.name)
        self._queue.put(item)


class DaskBackend(JobBackend):
    """Jobs as tasks on a Dask cluster: ``address`` of a scheduler, or an existing client."""

    name = "dask"

    def __init__(self, address: str | None = None, client: Any = None,
                 capacity: int | None = None) -> None:
        from distributed import Client, Queue

        self._own_client = client is None
        self._client = client if client is not None else Client(address)
        self.capacity = capacity or max(1, sum(self._client.nthreads().values()))
        prefix = f"qcity-{id(self):x}-{time.time_ns():x}"
        self._queue_name = f"{prefix}-progress"
        self._queue = Queue(self._queue_name, client=self._client)
        self._prefix = prefix
        self._events: dict[str, Any] = {}

    def start(self, job_id: str, spec_json: dict[str, Any]) -> Any:
        """Submit one task per job (``pure=False``: two jobs never share a result)."""
        from distributed import Event

        name = f"{self._prefix}-cancel-{job_id}"
        self._events[job_id] = Event(name, client=self._client)
        return self._client.submit(execute_job, spec_json, DaskCancelFlag(name),
                                   DaskSink(self._queue_name), key=f"qcity-job-{job_id}",
                                   pure=False)

    def request_cancel(self, job_id: str) -> None:
        """Set the job's Dask Event."""
        event = self._events.get(job_id)
        if event is not None:
            event.set()

    def messages(self, timeout: float) -> list[dict[str, Any]]:
        """Everything waiting in the progress queue, or what arrives within ``timeout``."""
        from distributed import TimeoutError as DaskTimeout

        try:
            first = self._queue.get(timeout=timeout)
        except (DaskTimeout, TimeoutError):
            return []
        rest = self._queue.get(batch=True) if self._queue.qsize() else []
        return [first, *rest]

    def forget(self, job_id: str) -> None:
        """Drop the job's Event."""
        self._events.pop(job_id, None)

    def close(self) -> None:
        """Close the client if this backend opened it."""
        if self._own_client:
            self._client.close()
