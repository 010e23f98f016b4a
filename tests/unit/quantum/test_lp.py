"""LP files: what qcity writes, HiGHS reads back to the same model."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit_optimization import QuadraticProgram

from quantum import (
    InvalidProblem,
    build_emergency,
    build_energy,
    build_traffic,
    demo_emergency,
    demo_feeder,
    demo_traffic,
    read_lp,
    read_lp_string,
    to_lp_string,
    write_lp,
)
from quantum._arrays import ProgramArrays


def _same_model(a: QuadraticProgram, b: QuadraticProgram, points: np.ndarray) -> None:
    left, right = ProgramArrays.from_program(a), ProgramArrays.from_program(b)
    assert left.names == right.names
    assert (left.vartype == right.vartype).all()
    assert np.allclose(left.objective(points), right.objective(points))
    assert (left.feasible(points) == right.feasible(points)).all()
    assert left.sense == right.sense


@pytest.mark.parametrize("problem", [build_traffic(demo_traffic(3, 2)),
                                     build_emergency(demo_emergency(2, 3)),
                                     build_energy(demo_feeder(2))],
                         ids=lambda p: p.program.name)
def test_lp_file_round_trip_keeps_the_model(problem, tmp_path):
    path = write_lp(problem.program, tmp_path / "model.lp")
    again = read_lp(path)
    assert again.name == problem.program.name
    points = np.concatenate(list(ProgramArrays.from_program(problem.program).enumerate()))
    _same_model(problem.program, again, points)


def test_maximisation_integers_continuous_and_products_survive():
    program = QuadraticProgram("mixed")
    program.binary_var("a")
    program.integer_var(-2, 3, "z")
    program.continuous_var(0, 2.5, "c")
    program.maximize(constant=1.5, linear={"a": 1, "z": 2, "c": -0.5},
                     quadratic={("a", "z"): -2, ("z", "z"): -0.5, ("a", "c"): 0.25})
    program.linear_constraint({"a": 1, "z": 1}, "<=", 2, "cap")
    program.linear_constraint({"z": 1, "c": 1}, ">=", -1, "floor")
    again = read_lp_string(to_lp_string(program))
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.integers(0, 2, 50), rng.integers(-2, 4, 50),
                              rng.uniform(0, 2.5, 50)])
    _same_model(program, again, points)


def test_unreadable_or_missing_files_are_invalid_problems(tmp_path):
    with pytest.raises(InvalidProblem):
        read_lp(tmp_path / "absent.lp")
    broken = tmp_path / "broken.lp"
    broken.write_text("Minimize\n obj: x +\nSubject To\n c: x >= \nEnd\n")
    with pytest.raises(InvalidProblem):
        read_lp(broken)
