"""Dense numpy views of a QuadraticProgram, so that solvers evaluate many points at once.

qiskit-optimization evaluates one point at a time in Python; brute force, annealing, repair and
the benchmark need thousands of evaluations per call, so the program is flattened once into
arrays and every evaluation is a matrix product over a batch of points.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from qiskit_optimization import QuadraticProgram
from qiskit_optimization.problems import Constraint, Variable

from quantum.errors import InvalidProblem, ProblemTooLarge

FEAS_TOL = 1e-6
"""Absolute tolerance on constraint residuals, as qiskit-optimization's is_feasible uses."""

_SENSE = {Constraint.Sense.LE: -1, Constraint.Sense.EQ: 0, Constraint.Sense.GE: 1}


@dataclass(frozen=True)
class QuadraticRow:
    """One quadratic constraint: x^T q x + a.x (sense) rhs."""

    quadratic: np.ndarray
    linear: np.ndarray
    sense: int
    rhs: float


@dataclass(frozen=True)
class ProgramArrays:
    """A QuadraticProgram as arrays: objective, linear and quadratic constraints, bounds.

    ``sense`` is +1 for minimisation and -1 for maximisation, so ``sense * objective`` is always
    the quantity to minimise.
    """

    names: tuple[str, ...]
    vartype: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sense: int
    constant: float
    linear: np.ndarray
    quadratic: np.ndarray
    a_matrix: np.ndarray
    senses: np.ndarray
    rhs: np.ndarray
    quadratic_rows: tuple[QuadraticRow, ...] = ()

    @classmethod
    def from_program(cls, program: QuadraticProgram) -> ProgramArrays:
        """Flatten ``program``; all bounds must be finite for the integer variables."""
        n = program.get_num_vars()
        vartype = np.array(
            [{Variable.Type.BINARY: 0, Variable.Type.INTEGER: 1}.get(v.vartype, 2)
             for v in program.variables],
            dtype=np.int8,
        )
        lower = np.array([v.lowerbound for v in program.variables], dtype=float)
        upper = np.array([v.upperbound for v in program.variables], dtype=float)
        obj = program.objective
        linear, quadratic = np.zeros(n), np.zeros((n, n))
        given = np.asarray(obj.linear.to_array(), dtype=float).ravel()
        linear[: len(given)] = given
        given_q = np.asarray(obj.quadratic.to_array(), dtype=float)
        quadratic[: given_q.shape[0], : given_q.shape[1]] = given_q
        rows = program.linear_constraints
        a_matrix = np.array([c.linear.to_array() for c in rows]).reshape(len(rows), n)
        senses = np.array([_SENSE[c.sense] for c in rows], dtype=np.int8)
        rhs = np.array([c.rhs for c in rows], dtype=float)
        qrows = tuple(
            QuadraticRow(
                quadratic=c.quadratic.to_array(),
                linear=c.linear.to_array(),
                sense=_SENSE[c.sense],
                rhs=float(c.rhs),
            )
            for c in program.quadratic_constraints
        )
        return cls(
            names=tuple(v.name for v in program.variables),
            vartype=vartype,
            lower=lower,
            upper=upper,
            sense=int(obj.sense.value),
            constant=float(obj.constant),
            linear=np.asarray(linear, dtype=float),
            quadratic=np.asarray(quadratic, dtype=float),
            a_matrix=a_matrix.astype(float),
            senses=senses,
            rhs=rhs,
            quadratic_rows=qrows,
        )

    @property
    def num_vars(self) -> int:
        """Number of variables."""
        return len(self.names)

    @property
    def is_discrete(self) -> bool:
        """True when no variable is continuous (brute force and QUBO are possible)."""
        return bool(np.all(self.vartype < 2))

    def objective(self, x: np.ndarray) -> np.ndarray:
        """Objective values (in the program's own sense) for a batch ``x`` of shape (m, n)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return self.constant + x @ self.linear + ((x @ self.quadratic) * x).sum(axis=1)

    def violation(self, x: np.ndarray) -> np.ndarray:
        """Total constraint and bound violation per point (0 means feasible)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        total = np.maximum(self.lower - x, 0).sum(axis=1) + np.maximum(x - self.upper, 0).sum(1)
        if len(self.rhs):
            total = total + _row_violation(x @ self.a_matrix.T - self.rhs, self.senses).sum(1)
        for row in self.quadratic_rows:
            lhs = x @ row.linear + ((x @ row.quadratic) * x).sum(axis=1)
            total = total + _row_violation((lhs - row.rhs)[:, None], np.array([row.sense]))[:, 0]
        return total

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """Boolean feasibility per point."""
        return self.violation(x) <= FEAS_TOL

    def domain_size(self) -> float:
        """Number of integer points in the variables' box (inf if any variable is continuous)."""
        if not self.is_discrete:
            return float("inf")
        return float(np.prod(self.upper - self.lower + 1))

    def enumerate(self, chunk: int = 1 << 16, limit: float = float(1 << 22)
                  ) -> Iterator[np.ndarray]:
        """Yield every integer point of the box in chunks, vectorised with unravel_index."""
        size = self.domain_size()
        if size > limit:
            raise ProblemTooLarge(f"{size:.3g} points to enumerate, the limit is {limit:.3g}")
        dims = (self.upper - self.lower + 1).astype(np.int64)
        total = int(size)
        for start in range(0, total, chunk):
            flat = np.arange(start, min(start + chunk, total), dtype=np.int64)
            idx = (np.stack(np.unravel_index(flat, tuple(dims)), axis=1) if len(dims)
                   else flat[:, None])
            yield idx + self.lower

    def brute_force(self, limit: float = float(1 << 22)) -> tuple[np.ndarray | None, float | None]:
        """Exact optimum by enumeration: (x, objective), or (None, None) when infeasible."""
        best_x: np.ndarray | None = None
        best_v = np.inf
        for x in self.enumerate(limit=limit):
            ok = self.feasible(x)
            if not ok.any():
                continue
            values = self.sense * self.objective(x[ok])
            i = int(np.argmin(values))
            if values[i] < best_v - 1e-12:
                best_v, best_x = float(values[i]), x[ok][i].copy()
        if best_x is None:
            return None, None
        return best_x, float(self.sense * best_v)


def _row_violation(residual: np.ndarray, senses: np.ndarray) -> np.ndarray:
    """Per-row violation of ``lhs - rhs`` for senses -1 (<=), 0 (==) and +1 (>=)."""
    return np.where(
        senses < 0, np.maximum(residual, 0), np.where(senses > 0, np.maximum(-residual, 0),
                                                      np.abs(residual))
    )


def require_discrete(arrays: ProgramArrays, what: str) -> None:
    """Raise InvalidProblem when ``arrays`` has continuous variables that ``what`` cannot take."""
    if not arrays.is_discrete:
        raise InvalidProblem(f"{what} needs binary or integer variables only")
