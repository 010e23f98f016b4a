"""`qcity job`: bad input exits 2 with one line; reports render as tables of real solves."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import TypeAdapter
from rich.console import Console

from clients.cli import cli
from clients.job_cli import Kind, SolverName, as_report, follow, job_request, render_result
from clients.sdk import KeyFile
from gateway.jobs.models import JobRequest, JobView
from quantum import (
    HybridConfig,
    HybridSolver,
    MilpSolver,
    Progress,
    QAOAConfig,
    build_traffic,
    compare,
    demo_traffic,
)

TINY = HybridConfig(max_qubits=6, qaoa=QAOAConfig(reps=1, shots=128, maxiter=5, grid=0),
                    candidates=2)


@pytest.fixture(scope="module")
def traffic_report():  # type: ignore[no-untyped-def]
    """A real hybrid solve (QAOA on Aer, classical repair) against HiGHS, on 2 junctions."""
    built = build_traffic(demo_traffic(n_intersections=2, n_plans=2, seed=1))
    return compare(built.program, HybridSolver(TINY), MilpSolver(), problem=built)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "agency.keys.json"
    KeyFile.generate("agency").save(path)
    return path


def _job(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["job", *args])


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output
    return lines[-1]


@pytest.mark.parametrize(("args", "says"), [
    (["submit", "energy"], "an energy job needs --feeder ID"),
    (["submit", "lp"], "an lp job needs --lp FILE"),
    (["submit", "traffic", "--feeder", "urn:x:f1"], "--feeder applies to energy jobs only"),
    (["submit", "emergency", "--sumo"], "--sumo applies to traffic jobs only"),
    (["submit", "lp", "--lp", "/no/such/model.lp"],
     "cannot read /no/such/model.lp: No such file or directory"),
])
def test_inconsistent_submit_options_exit_2_with_one_line(
    args: list[str], says: str, key_file: Path
) -> None:
    result = _job(*args, "--gateway", "http://127.0.0.1:9", "--keys", str(key_file))
    assert result.exit_code == 2
    assert _one_line_error(result.output) == f"error: {says}"


@pytest.mark.parametrize("args", [
    ["submit", "teleport"],
    ["submit", "traffic", "--solver", "oracle"],
    ["submit", "traffic", "--max-qubits", "99"],
])
def test_unknown_choices_are_usage_errors(args: list[str], key_file: Path) -> None:
    result = _job(*args, "--gateway", "http://127.0.0.1:9", "--keys", str(key_file))
    assert result.exit_code == 2
    assert _one_line_error(result.output).startswith("Error: Invalid value")


def test_a_gateway_that_is_not_a_url_or_a_missing_key_file_exit_2(
    key_file: Path, tmp_path: Path
) -> None:
    not_url = _job("status", "abc", "--gateway", "ftp://gw", "--keys", str(key_file))
    assert not_url.exit_code == 2
    assert _one_line_error(not_url.output) == "error: --gateway must be an http(s) URL, not 'ftp://gw'"
    no_keys = _job("list", "--gateway", "http://127.0.0.1:9", "--keys", str(tmp_path / "none"))
    assert no_keys.exit_code == 2
    assert _one_line_error(no_keys.output).startswith("error: ")


def test_an_unreachable_gateway_is_a_failure_not_a_refusal(key_file: Path) -> None:
    result = _job("status", "abc", "--gateway", "http://127.0.0.1:9", "--keys", str(key_file))
    assert result.exit_code == 1
    assert _one_line_error(result.output).startswith("failed: transport_error")


def test_submit_bodies_are_what_the_gateway_accepts(tmp_path: Path) -> None:
    model = tmp_path / "tiny.lp"
    model.write_text("Minimize\n obj: x + y\nSubject To\n c: x + y >= 1\nBinary\n x y\nEnd\n")
    adapter = TypeAdapter(JobRequest)
    traffic = adapter.validate_python(job_request(
        Kind.TRAFFIC, purpose="dpv:PublicBenefit", solver=SolverName.HYBRID, max_qubits=10,
        reps=1, shots=256))
    assert traffic.solver.hybrid.max_qubits == 10 and traffic.solver.hybrid.qaoa.shots == 256
    energy = adapter.validate_python(job_request(
        Kind.ENERGY, purpose="dpv:ServiceProvision", solver=SolverName.MILP, feeder="urn:f:1",
        baseline=False))
    assert energy.feeder_id == "urn:f:1" and energy.solver.baseline == "none"
    lp = adapter.validate_python(job_request(
        Kind.LP, purpose="dpv:AcademicResearch", solver=SolverName.QAOA, lp=model))
    assert lp.name == "tiny" and "Minimize" in lp.lp and lp.solver.name == "qaoa"


def test_result_table_puts_the_solver_beside_the_classical_baseline(traffic_report) -> None:  # type: ignore[no-untyped-def]
    recorder = Console(record=True, width=160)
    render_result(as_report(traffic_report.model_dump(mode="json")), recorder, title="job t1")
    text = " ".join(recorder.export_text().split())
    r, b = traffic_report.result, traffic_report.baseline
    assert "hybrid" in text and "milp (classical baseline)" in text
    for label in ("objective", "gap to best known", "feasible", "share of plan from QAOA",
                  "circuit width (qubits)", "circuit depth", "shots", "circuit evaluations",
                  "wall time s"):
        assert label in text
    assert f"{r.objective:.6g}" in text and f"{b.objective:.6g}" in text
    assert str(r.circuit.num_qubits) in text and str(r.circuit.shots) in text
    assert f"{100 * r.quantum_share:.0f}%" in text
    assert "delay, vehicle-minutes (model)" in text and "→" in text
    assert traffic_report.verdict in text
    assert "advantage" not in text and "no quantum speed-up is claimed" in text


def _view(state: str, fraction: float | None) -> JobView:
    progress = None if fraction is None else Progress(stage="hybrid", fraction=fraction)
    return JobView(job_id="j1", kind="traffic", state=state, owner="0x1", purpose="p",
                   backend="local", submitted_at=datetime.now(UTC), progress=progress)


def test_follow_stops_at_the_first_terminal_view() -> None:
    views = [_view("queued", None), _view("running", 0.5), _view("succeeded", 1.0),
             _view("running", 0.9)]
    last = follow(iter(views), Console(record=True, width=120))
    assert str(last.state) == "succeeded"
