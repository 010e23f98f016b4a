"""Exact solution by vectorised enumeration, the reference for small problems and tests."""

from __future__ import annotations

import time

import numpy as np
from qiskit_optimization import QuadraticProgram

from quantum._arrays import ProgramArrays, require_discrete
from quantum.solvers.base import NO_HOOKS, Provenance, SolveHooks, Solver, SolverResult, make_result


class ExactSolver(Solver):
    """Enumerates every integer point of the box (up to ``limit`` points) and keeps the best."""

    name = "exact"

    def __init__(self, limit: float = float(1 << 22)) -> None:
        self.limit = limit

    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """The optimum, proven by enumeration (its objective is also the bound)."""
        hooks = hooks or NO_HOOKS
        started = time.perf_counter()
        arrays = ProgramArrays.from_program(program)
        require_discrete(arrays, "exact enumeration")
        best_x: np.ndarray | None = None
        best_v = np.inf
        total = max(arrays.domain_size(), 1.0)
        done = 0
        for chunk in arrays.enumerate(limit=self.limit):
            ok = arrays.feasible(chunk)
            if ok.any():
                values = arrays.sense * arrays.objective(chunk[ok])
                i = int(np.argmin(values))
                if values[i] < best_v:
                    best_v, best_x = float(values[i]), chunk[ok][i].copy()
            done += len(chunk)
            hooks.report("enumerate", done / total)
        result = make_result(self.name, program, best_x, started, optimal=best_x is not None,
                             provenance=Provenance(parameters={"limit": self.limit}))
        return result.model_copy(update={"bound": result.objective})
