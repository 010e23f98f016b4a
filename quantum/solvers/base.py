"""The one solver interface, its typed result, and the hooks for progress and cancellation.

Every solver takes any QuadraticProgram and returns a ``SolverResult``: a frozen pydantic model
that serialises to JSON, so the job runner and the gateway store and ship it unchanged.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import metadata
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from qiskit_optimization import QuadraticProgram

from quantum._arrays import ProgramArrays
from quantum.errors import Cancelled


class SolveStatus(StrEnum):
    """How a solver ended."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"


class Progress(BaseModel):
    """A progress report: where a solve is and the best objective it holds so far."""

    model_config = ConfigDict(frozen=True)

    stage: str
    fraction: float = Field(ge=0.0, le=1.0)
    message: str = ""
    best_objective: float | None = None


class CircuitStats(BaseModel):
    """What ran on the (simulated) quantum device, as the honest report needs it."""

    model_config = ConfigDict(frozen=True)

    num_qubits: int
    depth: int
    two_qubit_gates: int
    reps: int
    shots: int
    evaluations: int
    sampler_calls: int
    simulator: str


class QAOALevel(BaseModel):
    """One depth p of the QAOA ladder (parameters carried from p to p+1)."""

    model_config = ConfigDict(frozen=True)

    run: int = 0
    reps: int
    energy: float
    objective: float | None = None
    evaluations: int
    wall_s: float
    parameters: list[float]
    depth: int
    two_qubit_gates: int


class Provenance(BaseModel):
    """Enough to reproduce a result: seed, parameters, library versions."""

    model_config = ConfigDict(frozen=True)

    seed: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)


class SolverResult(BaseModel):
    """A solver's answer on the original (constrained) model.

    ``objective`` is in the program's own sense; ``bound`` is a proven bound on the optimum
    when the solver has one (exact search, MILP); ``quantum_share`` is the fraction of variables
    whose final value was set by a quantum sample (1.0 for plain QAOA, 0 for classical solvers).
    """

    model_config = ConfigDict(frozen=True)

    solver: str
    status: SolveStatus
    x: list[float] | None
    objective: float | None
    feasible: bool
    variables: list[str]
    wall_s: float
    bound: float | None = None
    circuit: CircuitStats | None = None
    qaoa_levels: list[QAOALevel] = Field(default_factory=list)
    quantum_share: float = 0.0
    quantum_variables: list[str] = Field(default_factory=list)
    penalty: float | None = None
    penalty_source: str | None = None
    notes: list[str] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)


@dataclass
class SolveHooks:
    """Progress and cancellation, polled between iterations (QAOA evaluations, sub-problems).

    ``should_cancel`` is any cheap callable: in a worker process it reads the job's shared
    cancel flag. ``min_interval_s`` throttles progress so a fast loop does not flood a queue.
    """

    should_cancel: Callable[[], bool] | None = None
    on_progress: Callable[[Progress], None] | None = None
    min_interval_s: float = 0.1
    _last: float = field(default=0.0, repr=False)

    def check(self) -> None:
        """Raise ``Cancelled`` when cancellation was requested."""
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled("cancelled on request")

    def report(self, stage: str, fraction: float, message: str = "",
               best_objective: float | None = None, *, force: bool = False) -> None:
        """Send progress (throttled unless ``force``), then check for cancellation."""
        now = time.monotonic()
        if self.on_progress is not None and (force or now - self._last >= self.min_interval_s):
            self._last = now
            self.on_progress(Progress(stage=stage, fraction=min(max(fraction, 0.0), 1.0),
                                      message=message, best_objective=best_objective))
        self.check()


NO_HOOKS = SolveHooks()


class Solver(ABC):
    """Solves any QuadraticProgram; subclasses hold their configuration, never results."""

    name: str = "solver"

    @abstractmethod
    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """Solve ``program`` and report on the original model."""


def versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour a result depends on."""
    out = {}
    for dist in ("qiskit", "qiskit-aer", "qiskit-optimization", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            continue
    return out


def assess(program: QuadraticProgram, x: np.ndarray | None) -> tuple[float | None, bool]:
    """Objective and feasibility of ``x`` on the original model."""
    if x is None:
        return None, False
    arrays = ProgramArrays.from_program(program)
    x = np.asarray(x, dtype=float)[None, :]
    return float(arrays.objective(x)[0]), bool(arrays.feasible(x)[0])


def make_result(
    solver: str, program: QuadraticProgram, x: np.ndarray | None, started: float, *,
    optimal: bool = False, **extra: Any,
) -> SolverResult:
    """Assemble a SolverResult, judging feasibility on the original model itself."""
    objective, feasible = assess(program, x)
    if x is None:
        status = SolveStatus.NO_SOLUTION
    elif not feasible:
        status = SolveStatus.INFEASIBLE
    else:
        status = SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE
    return SolverResult(
        solver=solver, status=status,
        x=None if x is None else [float(v) for v in np.asarray(x).ravel()],
        objective=objective, feasible=feasible,
        variables=[v.name for v in program.variables],
        wall_s=time.perf_counter() - started, **extra,
    )
