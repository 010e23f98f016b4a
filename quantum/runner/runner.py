"""The job runner: submit, observe, cancel; one monitor thread, any backend.

The gateway builds one ``JobRunner`` and wires, on top of it, permission checks, audit,
persistence and server-sent events:

* ``on_event`` (or ``subscribe``) receives a ``JobStatus`` after every change: store it, audit
  it, push it to SSE clients. It is called on the runner's monitor thread.
* ``submit(spec, should_cancel=...)`` takes an optional parent-side hook, polled by the monitor
  thread, e.g. "has any consent this job relied on been revoked?". When it answers True the
  job is cancelled with reason ``hook`` and its partial results are discarded.
* ``cancel(job_id, reason)`` cancels a queued job at once and asks a running one to stop at its
  next iteration; either way the job ends ``cancelled`` with no result.

State lives in memory. Durability is the gateway's: it stores every ``JobStatus`` it is sent
(they round-trip through JSON), and after a restart it decides, from its store, which jobs to
re-submit to a fresh runner under their old ``job_id``. A job id is accepted once per runner,
so one runner never runs a job twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quantum.errors import JobConflict, JobNotFound
from quantum.report import SolveReport
from quantum.runner.backends import DaskBackend, JobBackend, LocalProcessBackend
from quantum.runner.jobs import JobError, JobSpec, JobState, JobStatus, now
from quantum.solvers.base import Progress

Listener = Callable[[JobStatus], None]

log = logging.getLogger("qcity.quantum.runner")


class RunnerConfig(BaseModel):
    """How to execute jobs; the gateway fills it from its settings (``QCITY_`` env prefix)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_workers: int = Field(default=2, ge=1)
    dask_scheduler_address: str | None = None
    poll_interval_s: float = Field(default=0.05, gt=0)


@dataclass
class _Job:
    spec: JobSpec
    status: JobStatus
    future: Any = None
    should_cancel: Callable[[], bool] | None = None
    cancel_reason: str | None = None


class JobRunner:
    """Runs solve jobs on a backend and tracks their lifecycle (see the module docstring)."""

    def __init__(self, backend: JobBackend | None = None, *, on_event: Listener | None = None,
                 poll_interval_s: float = 0.05) -> None:
        self.backend = backend or LocalProcessBackend()
        self._jobs: dict[str, _Job] = {}
        self._listeners: list[Listener] = [on_event] if on_event else []
        self._lock = threading.RLock()
        self._outbox: list[JobStatus] = []
        self._pending: list[_Job] = []
        self._changed = threading.Condition(self._lock)
        self._poll = poll_interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._monitor, name="qcity-job-monitor",
                                        daemon=True)
        self._thread.start()

    @classmethod
    def from_config(cls, config: RunnerConfig, on_event: Listener | None = None) -> JobRunner:
        """A Dask-backed runner when a scheduler address is configured, else a process pool."""
        backend: JobBackend
        if config.dask_scheduler_address:
            backend = DaskBackend(config.dask_scheduler_address)
        else:
            backend = LocalProcessBackend(config.max_workers)
        return cls(backend, on_event=on_event, poll_interval_s=config.poll_interval_s)

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every status change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def submit(self, spec: JobSpec, *, should_cancel: Callable[[], bool] | None = None
               ) -> JobStatus:
        """Queue ``spec``; a job id may be submitted once per runner."""
        with self._lock:
            if spec.job_id in self._jobs:
                raise JobConflict(f"job {spec.job_id} already exists")
            status = JobStatus(job_id=spec.job_id, state=JobState.QUEUED,
                               backend=self.backend.name, submitted_at=now(),
                               labels=spec.labels)
            job = _Job(spec=spec, status=status, should_cancel=should_cancel)
            self._jobs[spec.job_id] = job
            self._pending.append(job)
        self._emit(status)
        self._dispatch()
        return status

    def status(self, job_id: str) -> JobStatus:
        """The job's current status."""
        with self._lock:
            return self._get(job_id).status

    def jobs(self) -> list[JobStatus]:
        """All jobs this runner knows, oldest first."""
        with self._lock:
            return [job.status for job in self._jobs.values()]

    def cancel(self, job_id: str, reason: str = "requested") -> JobStatus:
        """Cancel: at once if still queued, else at the worker's next poll. Idempotent."""
        with self._lock:
            job = self._get(job_id)
            if job.status.state.terminal:
                return job.status
            job.cancel_reason = job.cancel_reason or reason
            if job.future is None:  # still in the runner's own queue: it never starts
                self._pending.remove(job)
                self._finish(job, JobState.CANCELLED)
            else:
                self.backend.request_cancel(job_id)
            status = job.status
        self._flush()
        return status

    def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Block until the job ends (or ``timeout``); returns its status either way."""
        with self._changed:
            self._changed.wait_for(lambda: self._get(job_id).status.state.terminal, timeout)
            return self._get(job_id).status

    def close(self) -> None:
        """Cancel what is still running, stop the monitor and the backend."""
        with self._lock:
            active = [j for j, job in self._jobs.items() if not job.status.state.terminal]
        for job_id in active:
            self.cancel(job_id, reason="runner_closed")
        for job_id in active:
            self.wait(job_id, timeout=30)
        self._stop.set()
        self._thread.join(timeout=5)
        self.backend.close()

    def _get(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id}")
        return job

    def _monitor(self) -> None:
        """Apply worker messages, poll cancel hooks, collect finished futures."""
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # keep watching the other jobs; the cause is logged
                log.exception("event=monitor_error backend=%s", self.backend.name)
                self._stop.wait(self._poll)

    def _tick(self) -> None:
        """One round of the monitor."""
        self._dispatch()
        for message in self.backend.messages(timeout=self._poll):
            self._apply(message)
        with self._lock:
            active = [job for job in self._jobs.values() if not job.status.state.terminal]
        for job in active:
            if job.should_cancel is not None and job.cancel_reason is None:
                try:
                    wanted = bool(job.should_cancel())
                except Exception:  # noqa: BLE001 - a broken hook must stop the job, safely
                    wanted = True
                if wanted:
                    self.cancel(job.spec.job_id, reason="hook")
            if job.future is not None and job.future.done():
                for message in self.backend.messages(timeout=0):
                    self._apply(message)
                self._collect(job)
        self._flush()

    def _dispatch(self) -> None:
        """Hand queued jobs to the backend while it has free workers.

        The runner keeps its own queue instead of relying on the engine's: a job that is
        ``queued`` here has certainly not started, so cancelling it is immediate and final.
        """
        with self._lock:
            started = sum(1 for job in self._jobs.values()
                          if job.future is not None and not job.status.state.terminal)
            while self._pending and started < self.backend.capacity:
                job = self._pending.pop(0)
                job.future = self.backend.start(job.spec.job_id,
                                                job.spec.model_dump(mode="json"))
                started += 1

    def _apply(self, message: dict[str, Any]) -> None:
        with self._lock:
            job = self._jobs.get(str(message.get("job_id")))
            if job is None or job.status.state.terminal:
                return
            update: dict[str, Any] = {}
            if job.status.state == JobState.QUEUED:
                started = message.get("at")
                update = {"state": JobState.RUNNING,
                          "started_at": datetime.fromisoformat(started) if started else now()}
            if message.get("type") == "progress":
                update["progress"] = Progress.model_validate(message["progress"])
            job.status = job.status.model_copy(update=update)
            status = job.status
        self._emit(status)

    def _collect(self, job: _Job) -> None:
        """Turn a finished future into the job's end state."""
        try:
            outcome = job.future.result()
        except Exception as exc:  # noqa: BLE001 - a crash in a worker fails that job only
            with self._lock:
                if job.cancel_reason is not None:  # a cancelled Dask future raises here
                    self._finish(job, JobState.CANCELLED)
                else:
                    self._finish(job, JobState.FAILED, error=JobError(
                        code="internal_error", message=f"{type(exc).__name__}: {exc}"))
            return
        with self._lock:
            if outcome.get("state") == "succeeded" and job.cancel_reason is None:
                report = SolveReport.model_validate(outcome["report"])
                self._finish(job, JobState.SUCCEEDED, result=report)
            elif outcome.get("state") == "failed":
                self._finish(job, JobState.FAILED, error=JobError(**outcome["error"]))
            else:
                self._finish(job, JobState.CANCELLED)

    def _finish(self, job: _Job, state: JobState, *, result: SolveReport | None = None,
                error: JobError | None = None) -> None:
        """Set an end state (lock held); a cancelled job keeps no result."""
        if job.status.state.terminal:
            return
        job.status = job.status.model_copy(update={
            "state": state, "finished_at": now(), "result": result, "error": error,
            "cancel_reason": job.cancel_reason if state == JobState.CANCELLED else None,
        })
        self.backend.forget(job.spec.job_id)
        self._changed.notify_all()
        self._outbox.append(job.status)

    def _flush(self) -> None:
        """Deliver queued end-state events outside the lock (listeners may call back in)."""
        while True:
            with self._lock:
                if not self._outbox:
                    return
                status = self._outbox.pop(0)
            self._emit(status)

    def _emit(self, status: JobStatus) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(status)
            except Exception:  # one broken subscriber must not stall every job
                log.exception("event=listener_failed job_id=%s state=%s", status.job_id,
                              status.state.value)
