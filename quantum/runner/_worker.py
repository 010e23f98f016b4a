"""What runs inside a worker process (pool or Dask): build the model, solve, report.

The function takes and returns plain JSON-like data, so that neither pickling nor Dask's
serialisation depends on the runner's classes; cancellation and progress go through two tiny
handles that each backend provides (``is_set()`` and ``put(message)``).
"""

from __future__ import annotations

from typing import Any, Protocol

from qiskit_optimization import QuadraticProgram

from quantum.errors import Cancelled, QuantumError
from quantum.hybrid import HybridSolver
from quantum.lp import read_lp_string
from quantum.problems import build_emergency, build_energy, build_traffic
from quantum.problems._base import BuiltProblem
from quantum.report import compare
from quantum.runner.jobs import JobSpec, SolverSpec, now
from quantum.solvers.annealing import AnnealingSolver
from quantum.solvers.base import Progress, SolveHooks, Solver
from quantum.solvers.exact import ExactSolver
from quantum.solvers.milp import MilpSolver
from quantum.solvers.qaoa import QAOASolver


class CancelFlag(Protocol):
    """Shared cancel flag: a Manager Event or a Dask Event wrapper."""

    def is_set(self) -> bool:
        """True once cancellation was requested."""
        ...


class MessageSink(Protocol):
    """Where progress messages go: a Manager Queue or a Dask Queue wrapper."""

    def put(self, item: Any) -> None:
        """Send one message to the runner."""
        ...


def build_problem(spec: JobSpec) -> tuple[QuadraticProgram, BuiltProblem[Any] | None]:
    """The job's model, and the built problem when it came from twin inputs."""
    problem = spec.problem
    if problem.kind == "lp":
        return read_lp_string(problem.lp, problem.name), None
    builders = {"traffic": build_traffic, "emergency": build_emergency, "energy": build_energy}
    built = builders[problem.kind](problem.data)  # type: ignore[arg-type]
    return built.program, built


def make_solver(spec: SolverSpec) -> Solver:
    """The solver a spec names, configured."""
    if spec.name == "hybrid":
        return HybridSolver(spec.hybrid)
    if spec.name == "qaoa":
        return QAOASolver(spec.qaoa)
    if spec.name == "milp":
        return MilpSolver(time_limit_s=spec.milp_time_limit_s)
    if spec.name == "annealing":
        return AnnealingSolver()
    return ExactSolver()


def execute_job(spec_json: dict[str, Any], cancel: CancelFlag, sink: MessageSink
                ) -> dict[str, Any]:
    """Run one job to its end state; unexpected exceptions propagate to the runner."""
    spec = JobSpec.model_validate(spec_json)
    sink.put({"job_id": spec.job_id, "type": "started", "at": now().isoformat()})

    def forward(progress: Progress) -> None:
        sink.put({"job_id": spec.job_id, "type": "progress",
                  "progress": progress.model_dump(mode="json")})

    hooks = SolveHooks(should_cancel=cancel.is_set, on_progress=forward, min_interval_s=0.1)
    try:
        hooks.check()
        program, built = build_problem(spec)
        solver = make_solver(spec.solver)
        baseline = MilpSolver(time_limit_s=spec.solver.milp_time_limit_s)
        report = compare(program, solver, baseline, hooks=hooks, problem=built,
                         with_baseline=spec.solver.baseline == "milp")
        hooks.check()
    except Cancelled:
        return {"state": "cancelled"}
    except QuantumError as exc:
        return {"state": "failed", "error": {"code": exc.code, "message": str(exc)}}
    return {"state": "succeeded", "report": report.model_dump(mode="json")}
