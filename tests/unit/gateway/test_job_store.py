"""The job table: guarded writes, listing, and what start-up does with unfinished jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gateway.db import make_engine
from gateway.jobs import JobRow, JobStore, plan_recovery, view_of
from gateway.jobs.models import ConsentUse
from gateway.jobs.store import MAX_RECOVERIES, dumps
from gateway.settings import GatewaySettings

OWNER = "0x" + "ab" * 20


def row(job_id: str, state: str = "queued", *, submitted_at: float | None = None,
        recovered: int = 0, owner: str = OWNER) -> JobRow:
    return JobRow(job_id=job_id, owner=owner, kind="lp", purpose="dpv:PublicBenefit",
                  state=state, backend="local", spec="{}", recovered=recovered,
                  submitted_at=submitted_at if submitted_at is not None else time.time())


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(make_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}"))


def test_an_ended_job_is_never_written_again(store: JobStore) -> None:
    store.insert(row("a"))
    assert store.update("a", state="running", starts=1)
    assert store.update("a", state="cancelled", cancel_reason="requested")
    assert not store.update("a", state="succeeded", result="{}")  # a late event
    kept = store.get("a")
    assert kept is not None and kept.state == "cancelled" and kept.result is None


def test_listing_is_per_owner_newest_first_and_unfinished_oldest_first(store: JobStore) -> None:
    store.insert(row("old", "running", submitted_at=1.0))
    store.insert(row("new", "queued", submitted_at=2.0))
    store.insert(row("done", "succeeded", submitted_at=3.0))
    store.insert(row("theirs", "queued", submitted_at=4.0, owner="0x" + "cd" * 20))
    assert [r.job_id for r in store.owned_by(OWNER)] == ["done", "new", "old"]
    assert [r.job_id for r in store.unfinished()] == ["old", "new", "theirs"]
    assert store.get("missing") is None


def test_a_queued_job_is_resubmitted_as_it_is() -> None:
    plan = plan_recovery(row("q", "queued"))
    assert plan.action == "resubmit" and plan.updates == {}


def test_a_running_job_is_requeued_once_then_fails_as_interrupted() -> None:
    first = plan_recovery(row("r", "running"))
    assert first.action == "requeue"
    assert first.updates == {"state": "queued", "progress": None, "recovered": 1}
    again = plan_recovery(row("r", "running", recovered=MAX_RECOVERIES))
    assert again.action == "fail" and again.updates["state"] == "failed"
    assert again.updates["error_code"] == "job_interrupted"


def test_recovery_updates_apply_through_the_guard(store: JobStore) -> None:
    store.insert(row("r", "running", recovered=MAX_RECOVERIES))
    plan = plan_recovery(store.get("r"))  # type: ignore[arg-type]
    assert store.update("r", **plan.updates)
    view = view_of(store.get("r"))  # type: ignore[arg-type]
    assert view.state == "failed" and view.error is not None
    assert view.error.code == "job_interrupted" and view.finished_at is not None
    assert store.unfinished() == []


def test_a_view_round_trips_consents_and_decisions(store: JobStore) -> None:
    use = ConsentUse(subject=OWNER, category="energy.household_meter",
                     purpose="dpv:ServiceProvision", block=7, decision=3)
    stored = row("c")
    stored.consents, stored.decisions = dumps([use]), json.dumps([3, 4])
    store.insert(stored)
    assert store.update("c", state="cancelled", cancel_reason="consent_revoked",
                        revoked=use.model_dump_json())
    view = view_of(store.get("c"))  # type: ignore[arg-type]
    assert view.consents == [use] and view.revoked == use and view.decisions == [3, 4]


def test_job_settings_name_the_engine() -> None:
    assert GatewaySettings().job_workers == 2 and GatewaySettings().dask_scheduler is None
    assert GatewaySettings(dask_scheduler="local").dask_scheduler == "local"
    assert GatewaySettings(dask_scheduler="tcp://10.0.0.5:8786").dask_scheduler
    with pytest.raises(ValueError, match="dask_scheduler"):
        GatewaySettings(dask_scheduler="somewhere")
