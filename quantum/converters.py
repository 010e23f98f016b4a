"""From constrained models to QUBOs, with penalty weights that keep the QUBO optimum feasible.

The conversion itself is qiskit-optimization's ``QuadraticProgramToQubo`` (slack variables,
integer-to-binary expansion, quadratic penalties). This module only decides the penalty weight:

* qiskit-optimization's automatic weight (``1 + range of the objective``) is provably safe when
  every constraint coefficient is an integer, but it is often far larger than needed, which
  flattens the energy landscape that QAOA has to explore;
* when a constraint has fractional coefficients the automatic weight falls back to a fixed
  ``1e5``, which can be too small (the QUBO optimum is then infeasible) and the inequality
  slack conversion refuses the problem outright.

So constraints are first scaled to integer coefficients where a power of ten suffices, and the
weight is then calibrated: the smallest of ``m/2, m, 2m, ...`` (``m`` the largest change in the
objective that one variable can cause) whose QUBO optimum is verified, by brute force, to be a
feasible optimum of the constrained model. Problems too large to verify keep the provably safe
automatic weight.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from qiskit_optimization import QuadraticProgram
from qiskit_optimization.converters import QuadraticProgramToQubo

from quantum._arrays import FEAS_TOL, ProgramArrays
from quantum.errors import InvalidProblem

PenaltySource = Literal["none", "given", "calibrated", "default"]

VERIFY_MAX_QUBITS = 18
"""Widest QUBO whose optimum is checked by enumeration (2^18 points, a few milliseconds)."""


@dataclass(frozen=True)
class QuboConversion:
    """A QUBO together with the converter that maps its solutions back to the original model."""

    original: QuadraticProgram
    scaled: QuadraticProgram
    qubo: QuadraticProgram
    converter: QuadraticProgramToQubo
    penalty: float | None
    penalty_source: PenaltySource
    verified: bool

    @property
    def num_qubits(self) -> int:
        """Width of the QUBO (one qubit per binary variable, slack bits included)."""
        return self.qubo.get_num_vars()

    @cached_property
    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        """The decoding as ``x = M q + b``: every step of the conversion is affine (slack bits
        dropped, integers rebuilt from their binary expansion), so probing the converter once
        with the zero vector and the unit vectors gives the whole map."""
        n = self.num_qubits
        base = np.asarray(self.converter.interpret(np.zeros(n)), dtype=float)
        cols = [np.asarray(self.converter.interpret(row), dtype=float) - base
                for row in np.eye(n)]
        matrix = np.array(cols).T if cols else np.zeros((len(base), 0))
        return matrix, base

    def interpret(self, x: np.ndarray) -> np.ndarray:
        """Map a QUBO bitstring (or a batch of them, one per row) back to the original model."""
        matrix, base = self._affine
        x = np.asarray(x, dtype=float)
        return x @ matrix.T + base


def integer_scaled(program: QuadraticProgram, max_decimals: int = 6) -> QuadraticProgram:
    """Copy of ``program`` whose linear constraints are scaled by powers of ten to integers.

    Scaling a constraint does not change its feasible set, but it makes the violation of any
    infeasible integer point at least 1, which is what the penalty bounds rely on.
    """
    scaled = copy.deepcopy(program)
    for row in list(scaled.linear_constraints):
        coeffs = [*row.linear.to_dict().values(), row.rhs]
        factor = _decimal_factor(coeffs, max_decimals)
        if factor is None:
            raise InvalidProblem(
                f"constraint {row.name!r} has coefficients that no power of ten up to "
                f"1e{max_decimals} makes integer; scale it in the model"
            )
        if factor != 1:
            name, sense = row.name, row.sense
            linear = {k: round(v * factor) for k, v in row.linear.to_dict(use_name=True).items()}
            rhs = round(row.rhs * factor)
            scaled.remove_linear_constraint(name)
            scaled.linear_constraint(linear, sense, rhs, name)
    return scaled


def drop_redundant(program: QuadraticProgram) -> QuadraticProgram:
    """Remove linear inequalities that every point of the variables' box satisfies.

    Fixing variables (the hybrid's sub-problems) often leaves such rows behind, and each one
    would still cost slack qubits in the QUBO.
    """
    arrays = ProgramArrays.from_program(program)
    if not len(arrays.rhs):
        return program
    a = arrays.a_matrix
    low = np.where(a > 0, a * arrays.lower, a * arrays.upper).sum(axis=1)
    high = np.where(a > 0, a * arrays.upper, a * arrays.lower).sum(axis=1)
    always = ((arrays.senses < 0) & (high <= arrays.rhs + 1e-9)) | (
        (arrays.senses > 0) & (low >= arrays.rhs - 1e-9))
    if not always.any():
        return program
    reduced = copy.deepcopy(program)
    for r in np.flatnonzero(always)[::-1]:
        reduced.remove_linear_constraint(int(r))
    return reduced


def _decimal_factor(values: list[float], max_decimals: int) -> int | None:
    for decimals in range(max_decimals + 1):
        factor = 10**decimals
        if all(abs(v * factor - round(v * factor)) < 1e-9 * max(1.0, abs(v * factor))
               for v in values):
            return factor
    return None


def objective_swing(program: QuadraticProgram) -> float:
    """Largest change of the objective that changing one variable alone can cause."""
    arrays = ProgramArrays.from_program(program)
    span = np.where(np.isfinite(arrays.upper - arrays.lower), arrays.upper - arrays.lower, 1.0)
    q = np.abs(arrays.quadratic)
    reach = np.maximum(np.abs(arrays.lower), np.abs(arrays.upper))
    coupling = (q + q.T) @ np.where(np.isfinite(reach), reach, 1.0)
    diagonal = np.abs(np.diag(arrays.quadratic))
    per_var = span * (np.abs(arrays.linear) + coupling) + span**2 * diagonal
    return float(per_var.max()) if per_var.size else 0.0


def to_qubo(
    program: QuadraticProgram,
    penalty: float | None = None,
    *,
    calibrate: bool = True,
    verify_max_qubits: int = VERIFY_MAX_QUBITS,
) -> QuboConversion:
    """Convert ``program`` to a minimisation QUBO with a penalty chosen as the module explains.

    Args:
        program: binary/integer program with linear constraints.
        penalty: force this weight (no calibration); ``None`` chooses one.
        calibrate: try weights smaller than the automatic one, keeping only a verified one.
        verify_max_qubits: the widest QUBO whose optimum is checked by enumeration.
    """
    scaled = drop_redundant(integer_scaled(program))
    msg = QuadraticProgramToQubo.get_compatibility_msg(scaled)
    if msg:
        raise InvalidProblem(f"cannot convert to a QUBO: {msg.strip()}")
    has_constraints = scaled.get_num_linear_constraints() > 0
    if penalty is not None or not has_constraints:
        conv = QuadraticProgramToQubo(penalty=penalty)
        qubo = conv.convert(scaled)
        source: PenaltySource = "given" if penalty is not None and has_constraints else "none"
        return QuboConversion(program, scaled, qubo, conv, penalty, source, not has_constraints)

    default_conv = QuadraticProgramToQubo()
    default_qubo = default_conv.convert(scaled)
    default_penalty = float(default_conv.penalty or 0.0)
    if calibrate and default_qubo.get_num_vars() <= verify_max_qubits:
        target = ProgramArrays.from_program(scaled).brute_force()[1]
        if target is None:
            raise InvalidProblem("the constrained model has no feasible point")
        swing = max(objective_swing(scaled), 1e-9)
        steps = max(0, math.ceil(math.log2(max(default_penalty / swing, 1.0))) + 1)
        for k in range(steps + 1):
            weight = swing * 2.0 ** (k - 1)
            if weight >= default_penalty:
                break
            conv = QuadraticProgramToQubo(penalty=weight)
            qubo = conv.convert(scaled)
            if _qubo_optimum_is_feasible_optimum(scaled, qubo, conv, target):
                return QuboConversion(program, scaled, qubo, conv, weight, "calibrated", True)
        verified = _qubo_optimum_is_feasible_optimum(scaled, default_qubo, default_conv, target)
        return QuboConversion(
            program, scaled, default_qubo, default_conv, default_penalty, "default", verified
        )
    return QuboConversion(
        program, scaled, default_qubo, default_conv, default_penalty, "default", False
    )


def _qubo_optimum_is_feasible_optimum(
    scaled: QuadraticProgram,
    qubo: QuadraticProgram,
    conv: QuadraticProgramToQubo,
    target: float,
) -> bool:
    """True when every QUBO minimiser decodes to a feasible point with the optimal objective."""
    q_arrays = ProgramArrays.from_program(qubo)
    best_v = np.inf
    minimisers: list[np.ndarray] = []
    for x in q_arrays.enumerate():
        values = q_arrays.objective(x)
        v = values.min()
        tol = 1e-9 * max(1.0, abs(v))
        if v < best_v - tol:
            best_v, minimisers = v, [x[values <= v + tol]]
        elif v <= best_v + tol:
            minimisers.append(x[values <= best_v + tol])
    points = np.concatenate(minimisers)[:64]
    original = ProgramArrays.from_program(scaled)
    decoded = np.array([conv.interpret(p) for p in points], dtype=float)
    if np.any(original.violation(decoded) > FEAS_TOL):
        return False
    objective = original.objective(decoded)
    return bool(np.all(np.abs(objective - target) <= 1e-7 * max(1.0, abs(target))))
