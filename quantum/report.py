"""Honest reports: a solver's answer next to a classical baseline, the bound and the gap.

The verdict is generated from the figures alone. It states how the candidate compares with
the classical baseline and that the circuits were simulated; it never claims an advantage the
numbers do not show.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from qiskit_optimization import QiskitOptimizationError, QuadraticProgram

from quantum.converters import to_qubo
from quantum.errors import QuantumError
from quantum.problems._base import BuiltProblem
from quantum.solvers.base import SolveHooks, Solver, SolverResult
from quantum.solvers.milp import MilpSolver


class Kpi(BaseModel):
    """A key figure before (status quo) and after (the plan), from the model or the twin."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    before: float
    after: float
    source: str = "model"

    @property
    def change(self) -> float:
        """after - before (negative is a saving for costs and delays)."""
        return self.after - self.before


class SolveReport(BaseModel):
    """Everything item 3 of the issue asks a result to state, JSON-serialisable."""

    model_config = ConfigDict(frozen=True)

    problem: str
    kind: str
    num_vars: int
    num_qubits: int
    sense: str
    result: SolverResult
    baseline: SolverResult | None = None
    best_known: float | None = None
    bound: float | None = None
    gap: float | None = None
    baseline_gap: float | None = None
    plan: dict[str, Any] | None = None
    kpis: list[Kpi] = Field(default_factory=list)
    verdict: str = ""


def relative_gap(value: float | None, reference: float | None, sense: int) -> float | None:
    """How much worse ``value`` is than ``reference``, as a fraction of |reference|."""
    if value is None or reference is None:
        return None
    return float(sense * (value - reference) / max(abs(reference), 1e-12))


def compare(
    program: QuadraticProgram,
    solver: Solver,
    baseline: Solver | None = None,
    hooks: SolveHooks | None = None,
    problem: BuiltProblem[Any] | None = None,
    kind: str = "lp",
    with_baseline: bool = True,
) -> SolveReport:
    """Solve with ``solver`` and with a classical ``baseline`` (HiGHS MILP by default)."""
    result = solver.solve(program, hooks)
    base = None
    if with_baseline:
        base = (baseline or MilpSolver()).solve(program, hooks)
    sense = int(program.objective.sense.value)
    feasible_values = [r.objective for r in (result, base)
                       if r is not None and r.feasible and r.objective is not None]
    best_known = (min(feasible_values, key=lambda v: sense * v) if feasible_values else None)
    bound = base.bound if base is not None else None
    plan, kpis = None, []
    if problem is not None and result.x is not None:
        x = np.asarray(result.x)
        plan = problem.decode(x).model_dump(mode="json")
        kpis = [model_kpi(problem, x)]
    report = SolveReport(
        problem=program.name or "lp", kind=problem.kind if problem is not None else kind,
        num_vars=program.get_num_vars(),
        num_qubits=_qubo_width(program),
        sense="minimize" if sense > 0 else "maximize",
        result=result, baseline=base, best_known=best_known, bound=bound,
        gap=relative_gap(result.objective if result.feasible else None, best_known, sense),
        baseline_gap=relative_gap(base.objective if base is not None and base.feasible
                                  else None, best_known, sense),
        plan=plan, kpis=kpis,
    )
    return report.model_copy(update={"verdict": verdict(report)})


def model_kpi(problem: BuiltProblem[Any], x: np.ndarray) -> Kpi:
    """The objective under today's plan and under the proposed one (the model's own units)."""
    units = {"traffic": ("delay", "vehicle-minutes"),
             "emergency": ("severity-weighted response", "severity x minutes"),
             "energy": ("dispatch cost", "currency units")}
    name, unit = units.get(problem.kind, ("objective", ""))
    before = float(problem.program.objective.evaluate(problem.status_quo()))
    after = float(problem.program.objective.evaluate(x))
    return Kpi(name=name, unit=unit, before=before, after=after)


def verdict(report: SolveReport) -> str:
    """A sober sentence built only from the figures in ``report``."""
    r, b = report.result, report.baseline
    parts: list[str] = []
    if not r.feasible:
        parts.append(f"The {r.solver} solver found no feasible plan.")
    elif b is None or not b.feasible or b.objective is None or r.objective is None:
        parts.append(f"The {r.solver} plan is feasible; no classical baseline was available.")
    else:
        sense = 1 if report.sense == "minimize" else -1
        diff = relative_gap(r.objective, b.objective, sense) or 0.0
        if abs(diff) <= 1e-9:
            parts.append(f"The {r.solver} plan matches the classical {b.solver} baseline.")
        elif diff > 0:
            parts.append(f"The {r.solver} plan is {100 * diff:.2f}% worse than the classical "
                         f"{b.solver} baseline.")
        else:
            parts.append(f"The {r.solver} plan is {100 * -diff:.2f}% better than the classical "
                         f"{b.solver} baseline, which stopped before proving optimality.")
        parts.append(f"Wall time {r.wall_s:.2f} s against {b.wall_s:.2f} s classically.")
    if r.circuit is not None:
        parts.append(f"{100 * r.quantum_share:.0f}% of the plan's variables come from QAOA "
                     f"samples on {r.circuit.num_qubits} simulated qubits; the circuits ran "
                     "on a classical simulator, so no quantum speed-up is claimed.")
    return " ".join(parts)


def _qubo_width(program: QuadraticProgram) -> int:
    try:
        return to_qubo(program, calibrate=False).num_qubits
    except (QuantumError, QiskitOptimizationError):  # continuous models have no QUBO
        return 0
