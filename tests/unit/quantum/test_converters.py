"""Penalty weights: chosen so that the QUBO optimum is a feasible optimum, and no larger."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit_optimization import QiskitOptimizationError, QuadraticProgram
from qiskit_optimization.converters import LinearEqualityToPenalty, QuadraticProgramToQubo

from quantum import InvalidProblem, build_energy, build_traffic, demo_feeder, demo_traffic, to_qubo
from quantum._arrays import ProgramArrays
from quantum.converters import drop_redundant, integer_scaled


def _fractional_choice() -> QuadraticProgram:
    """Pick exactly one of x, y (written with fractions), while the objective rewards both."""
    program = QuadraticProgram("fractional")
    program.binary_var("x")
    program.binary_var("y")
    program.minimize(linear={"x": -3e5, "y": -2e5})
    program.linear_constraint({"x": 0.5, "y": 0.5}, "==", 0.5, "one")
    return program


def _qubo_argmin(qubo: QuadraticProgram) -> np.ndarray:
    arrays = ProgramArrays.from_program(qubo)
    states = np.concatenate(list(arrays.enumerate()))
    return states[int(np.argmin(arrays.objective(states)))]


def test_library_default_penalty_makes_the_qubo_optimum_infeasible():
    program = _fractional_choice()
    with pytest.raises(QiskitOptimizationError, match="float coefficients"):
        QuadraticProgramToQubo().convert(program)
    penalise = LinearEqualityToPenalty()  # the library's penalty step, automatic weight
    best = penalise.interpret(_qubo_argmin(penalise.convert(program)))
    assert penalise.penalty == 1e5
    assert not program.is_feasible(best)


def test_chosen_penalty_makes_the_qubo_optimum_feasible_and_optimal():
    program = _fractional_choice()
    conversion = to_qubo(program)
    best = conversion.interpret(_qubo_argmin(conversion.qubo))
    assert program.is_feasible(best)
    assert best.tolist() == [1.0, 0.0]
    assert conversion.verified


def test_calibrated_penalty_is_smaller_than_the_default_and_verified():
    program = build_traffic(demo_traffic(3, 3, seed=0)).program
    default = QuadraticProgramToQubo()
    default.convert(program)
    conversion = to_qubo(program)
    assert conversion.penalty_source == "calibrated"
    assert conversion.penalty < default.penalty
    assert conversion.verified


def test_given_penalty_is_used_as_is():
    conversion = to_qubo(build_traffic(demo_traffic(2, 2)).program, penalty=123.0)
    assert conversion.penalty == 123.0 and conversion.penalty_source == "given"


def test_constraints_scale_to_integers_without_changing_the_feasible_set():
    scaled = integer_scaled(_fractional_choice())
    row = scaled.linear_constraints[0]
    assert row.rhs == 5 and set(row.linear.to_dict().values()) == {5}
    with pytest.raises(InvalidProblem):
        bad = QuadraticProgram()
        bad.binary_var("x")
        bad.linear_constraint({"x": 1 / 3}, "<=", 1)
        integer_scaled(bad)


def test_redundant_rows_cost_no_slack_qubits():
    program = QuadraticProgram()
    for name in "abc":
        program.binary_var(name)
    program.minimize(linear={"a": 1, "b": 2, "c": 3})
    program.linear_constraint({"a": 1, "b": 1}, "<=", 2, "always")
    program.linear_constraint({"a": 1, "b": 1, "c": 1}, ">=", 1, "cover")
    assert [c.name for c in drop_redundant(program).linear_constraints] == ["cover"]
    assert to_qubo(program).num_qubits == 3 + 2


def test_continuous_models_are_refused():
    program = QuadraticProgram()
    program.continuous_var(0, 1, "x")
    program.minimize(linear={"x": 1})
    with pytest.raises(InvalidProblem, match="Continuous"):
        to_qubo(program)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=14, max_size=14))
def test_vectorised_decoding_matches_the_library(bits):
    conversion = to_qubo(build_energy(demo_feeder(2, seed=0)).program)
    x = np.array(bits[: conversion.num_qubits], dtype=float)
    expected = conversion.converter.interpret(x)
    assert np.allclose(conversion.interpret(x), expected)
    assert np.allclose(conversion.interpret(x[None, :])[0], expected)
