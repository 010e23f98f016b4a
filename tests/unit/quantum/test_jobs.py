"""Job specs and statuses: the JSON the gateway stores and streams."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from quantum import (
    JobSpec,
    JobState,
    JobStatus,
    LpJob,
    SolverSpec,
    TrafficJob,
    build_traffic,
    demo_traffic,
    to_lp_string,
)
from quantum.runner._worker import build_problem, execute_job
from quantum.runner.jobs import now


class _Flag:
    def __init__(self, value: bool = False) -> None:
        self.value = value

    def is_set(self) -> bool:
        return self.value


class _Sink(list):
    def put(self, item) -> None:
        self.append(item)


def test_specs_round_trip_and_dispatch_on_kind():
    spec = JobSpec(problem=TrafficJob(data=demo_traffic(2, 2)), labels={"purpose": "x"})
    again = JobSpec.model_validate_json(spec.model_dump_json())
    assert again == spec and again.problem.kind == "traffic"
    lp = JobSpec.model_validate({"problem": {"kind": "lp", "lp": "Minimize\n obj: x\nEnd\n"}})
    assert isinstance(lp.problem, LpJob)
    with pytest.raises(ValidationError):
        JobSpec.model_validate({"job_id": "../etc", "problem": {"kind": "lp", "lp": "x"}})


def test_states_know_which_are_terminal():
    assert [s for s in JobState if s.terminal] == [
        JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]
    status = JobStatus(job_id="a", state=JobState.QUEUED, backend="local", submitted_at=now())
    assert JobStatus.model_validate_json(status.model_dump_json()) == status


def test_worker_solves_an_lp_job_and_reports_progress():
    program = build_traffic(demo_traffic(2, 2)).program
    spec = JobSpec(problem=LpJob(lp=to_lp_string(program)), solver=SolverSpec(name="milp"))
    sink = _Sink()
    outcome = execute_job(spec.model_dump(mode="json"), _Flag(), sink)
    assert outcome["state"] == "succeeded"
    assert outcome["report"]["result"]["feasible"]
    assert sink[0]["type"] == "started"
    assert build_problem(spec)[1] is None


def test_worker_honours_a_raised_flag_and_maps_errors_to_codes():
    spec = JobSpec(problem=TrafficJob(data=demo_traffic(2, 2)))
    assert execute_job(spec.model_dump(mode="json"), _Flag(True), _Sink()) == {
        "state": "cancelled"}
    bad = JobSpec(problem=LpJob(lp="this is not an LP file"))
    outcome = execute_job(bad.model_dump(mode="json"), _Flag(), _Sink())
    assert outcome["state"] == "failed" and outcome["error"]["code"] == "invalid_problem"
