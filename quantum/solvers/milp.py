"""HiGHS MILP (``scipy.optimize.milp``) on the constrained model, products linearised.

qiskit-optimization's ScipyMilpOptimizer refuses quadratic objectives, so products are
linearised here, exactly:

* ``x_i**2`` of a binary is ``x_i``;
* ``x_i * x_j`` of binaries becomes ``y`` with ``y <= x_i``, ``y <= x_j``, ``y >= x_i + x_j - 1``;
* ``b * z`` of a binary and a bounded variable ``z in [l, u]`` becomes ``y`` with
  ``l b <= y <= u b`` and ``z - u (1 - b) <= y <= z - l (1 - b)``;
* products of two integers (squares included) are first expanded to binaries with
  qiskit-optimization's IntegerToBinary, then linearised as above.

Products of two continuous variables are not linearisable exactly and are refused.
"""

from __future__ import annotations

import time

import numpy as np
from qiskit_optimization import QuadraticProgram
from qiskit_optimization.converters import IntegerToBinary
from scipy.optimize import Bounds, LinearConstraint, milp

from quantum._arrays import ProgramArrays
from quantum.errors import InvalidProblem
from quantum.solvers.base import NO_HOOKS, Provenance, SolveHooks, Solver, SolverResult, make_result


class MilpSolver(Solver):
    """Branch and bound with HiGHS; reports HiGHS's dual bound as the proven bound."""

    name = "milp"

    def __init__(self, time_limit_s: float | None = None, mip_rel_gap: float = 1e-9) -> None:
        self.time_limit_s = time_limit_s
        self.mip_rel_gap = mip_rel_gap

    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """Solve to optimality (or to the time limit) and map the answer back."""
        hooks = hooks or NO_HOOKS
        started = time.perf_counter()
        hooks.report("milp", 0.0, force=True)
        work, back = _expand_integer_products(program)
        arrays = ProgramArrays.from_program(work)
        c, integrality, lower, upper, rows, const = _linearise(arrays)
        options: dict[str, object] = {"mip_rel_gap": self.mip_rel_gap, "disp": False}
        if self.time_limit_s is not None:
            options["time_limit"] = self.time_limit_s
        constraints = [LinearConstraint(*rows)] if rows[0].shape[0] else []
        res = milp(c * arrays.sense, integrality=integrality, bounds=Bounds(lower, upper),
                   constraints=constraints, options=options)
        hooks.report("milp", 1.0, force=True)
        x = None
        if res.x is not None:
            x = np.round(res.x[: arrays.num_vars]) * (arrays.vartype < 2) + res.x[
                : arrays.num_vars] * (arrays.vartype == 2)
            x = back(x)
        bound = None
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            bound = float(arrays.sense * dual + const)
        if bound is None and res.status == 0:
            bound = float(arrays.sense * res.fun + const)
        return make_result(
            self.name, program, x, started, optimal=res.status == 0, bound=bound,
            notes=[f"highs: {res.message}"],
            provenance=Provenance(parameters={"time_limit_s": self.time_limit_s,
                                              "mip_rel_gap": self.mip_rel_gap}),
        )


def _expand_integer_products(program: QuadraticProgram):
    """Binary-expand integers that appear in products with other non-binaries."""
    arrays = ProgramArrays.from_program(program)
    q = arrays.quadratic + arrays.quadratic.T
    for row in arrays.quadratic_rows:
        q = q + np.abs(row.quadratic) + np.abs(row.quadratic.T)
    nonbinary = arrays.vartype > 0
    touched = (q != 0) & nonbinary[:, None] & nonbinary[None, :]
    if np.any(touched & (arrays.vartype == 2)[:, None]) or np.any(
            touched & (arrays.vartype == 2)[None, :]):
        raise InvalidProblem("products of two continuous variables cannot be linearised exactly")
    if not touched.any():
        return program, lambda x: x
    converter = IntegerToBinary()
    expanded = converter.convert(program)
    return expanded, lambda x: np.asarray(converter.interpret(x), dtype=float)


def _linearise(arrays: ProgramArrays):
    """Objective vector, integrality, bounds and rows (A, lo, hi) of the linearised MILP."""
    n = arrays.num_vars
    binary = arrays.vartype == 0
    lin = arrays.linear.copy()
    products: dict[tuple[int, int], int] = {}
    extra_lo: list[float] = []
    extra_hi: list[float] = []
    row_entries: list[tuple[dict[int, float], float, float]] = []

    def product(i: int, j: int) -> int:
        """Index of the auxiliary variable for x_i * x_j (i binary), created on first use."""
        key = (min(i, j), max(i, j)) if binary[i] and binary[j] else (i, j)
        if key in products:
            return products[key]
        k = n + len(products)
        products[key] = k
        b, z = key if binary[key[0]] else (key[1], key[0])
        lo, hi = arrays.lower[z], arrays.upper[z]
        if binary[z]:
            extra_lo.append(0.0)
            extra_hi.append(1.0)
            row_entries.extend([({k: 1, b: -1}, -np.inf, 0), ({k: 1, z: -1}, -np.inf, 0),
                                ({k: 1, b: -1, z: -1}, -1, np.inf)])
        else:
            extra_lo.append(min(lo, 0.0))
            extra_hi.append(max(hi, 0.0))
            row_entries.extend([({k: 1, b: -lo}, 0, np.inf), ({k: 1, b: -hi}, -np.inf, 0),
                                ({k: 1, z: -1, b: -hi}, -hi, np.inf),
                                ({k: 1, z: -1, b: -lo}, -np.inf, -lo)])
        return k

    def linearise_quadratic(quad: np.ndarray, target: dict[int, float]) -> None:
        rows_i, cols_j = np.nonzero(quad)
        for i, j in zip(rows_i.tolist(), cols_j.tolist(), strict=True):
            coef = float(quad[i, j])
            if i == j and binary[i]:
                target[i] = target.get(i, 0.0) + coef
            else:
                b = i if binary[i] else j
                other = j if b == i else i
                k = product(b, other)
                target[k] = target.get(k, 0.0) + coef

    objective_terms: dict[int, float] = {}
    linearise_quadratic(arrays.quadratic, objective_terms)
    constraint_rows: list[tuple[dict[int, float], float, float]] = []
    for r in range(len(arrays.rhs)):
        entries = {j: float(v) for j, v in enumerate(arrays.a_matrix[r]) if v != 0}
        constraint_rows.append((entries, *_sides(int(arrays.senses[r]), float(arrays.rhs[r]))))
    for row in arrays.quadratic_rows:
        entries = {j: float(v) for j, v in enumerate(row.linear) if v != 0}
        linearise_quadratic(row.quadratic, entries)
        constraint_rows.append((entries, *_sides(row.sense, row.rhs)))

    total = n + len(products)
    c = np.zeros(total)
    c[:n] = lin
    for k, v in objective_terms.items():
        c[k] += v
    integrality = np.concatenate([(arrays.vartype < 2).astype(int), np.zeros(len(products))])
    lower = np.concatenate([arrays.lower, extra_lo])
    upper = np.concatenate([arrays.upper, extra_hi])
    all_rows = constraint_rows + row_entries
    a = np.zeros((len(all_rows), total))
    lo_side = np.empty(len(all_rows))
    hi_side = np.empty(len(all_rows))
    for r, (entries, lo, hi) in enumerate(all_rows):
        for j, v in entries.items():
            a[r, j] += v
        lo_side[r], hi_side[r] = lo, hi
    return c, integrality, lower, upper, (a, lo_side, hi_side), arrays.constant


def _sides(sense: int, rhs: float) -> tuple[float, float]:
    if sense < 0:
        return -np.inf, rhs
    if sense > 0:
        return rhs, np.inf
    return rhs, rhs
