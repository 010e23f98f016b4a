"""Classical solvers: exact, HiGHS MILP with linearised products, simulated annealing."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit_optimization import QuadraticProgram

from quantum import (
    AnnealingSolver,
    Cancelled,
    ExactSolver,
    InvalidProblem,
    MilpSolver,
    SolveHooks,
    SolverResult,
    SolveStatus,
    build_emergency,
    build_energy,
    build_traffic,
    demo_emergency,
    demo_feeder,
    demo_traffic,
)

INSTANCES = [build_traffic(demo_traffic(3, 3)), build_emergency(demo_emergency(2, 4)),
             build_energy(demo_feeder(2))]


@pytest.mark.parametrize("problem", INSTANCES, ids=lambda p: p.program.name)
def test_milp_and_exact_agree_and_milp_proves_its_bound(problem):
    exact = ExactSolver().solve(problem.program)
    milp = MilpSolver().solve(problem.program)
    assert exact.status == milp.status == SolveStatus.OPTIMAL
    assert milp.objective == pytest.approx(exact.objective, rel=1e-9)
    assert milp.bound == pytest.approx(milp.objective, rel=1e-6)


def test_milp_linearises_integer_and_binary_products_exactly():
    program = QuadraticProgram("mixed")
    program.binary_var("a")
    program.integer_var(-2, 3, "z")
    program.binary_var("b")
    program.integer_var(0, 4, "w")
    program.maximize(linear={"a": 1, "z": 1, "w": 0.3},
                     quadratic={("a", "z"): -2, ("a", "b"): 3, ("z", "z"): -0.5,
                                ("z", "w"): 0.7, ("b", "w"): -1})
    program.linear_constraint({"a": 1, "b": 1, "z": 1, "w": 1}, "<=", 5)
    exact = ExactSolver().solve(program)
    milp = MilpSolver().solve(program)
    assert milp.objective == pytest.approx(exact.objective)
    assert program.is_feasible(milp.x)


def test_milp_refuses_products_of_continuous_variables():
    program = QuadraticProgram()
    program.continuous_var(0, 1, "x")
    program.continuous_var(0, 1, "y")
    program.minimize(quadratic={("x", "y"): 1})
    with pytest.raises(InvalidProblem, match="continuous"):
        MilpSolver().solve(program)


def test_infeasible_models_report_no_solution():
    program = QuadraticProgram()
    program.binary_var("x")
    program.linear_constraint({"x": 1}, ">=", 2)
    assert MilpSolver().solve(program).status == SolveStatus.NO_SOLUTION
    assert ExactSolver().solve(program).x is None


@pytest.mark.parametrize("problem", INSTANCES, ids=lambda p: p.program.name)
def test_annealing_finds_the_optimum_of_small_instances(problem):
    best = ExactSolver().solve(problem.program).objective
    result = AnnealingSolver(chains=32, sweeps=200, seed=3).solve(problem.program)
    assert result.feasible
    assert result.objective == pytest.approx(best, rel=1e-9)


def test_cancellation_is_cooperative():
    hooks = SolveHooks(should_cancel=lambda: True)
    with pytest.raises(Cancelled):
        AnnealingSolver(sweeps=50).solve(INSTANCES[0].program, hooks)


def test_progress_is_reported_and_results_round_trip_json():
    seen = []
    hooks = SolveHooks(on_progress=seen.append, min_interval_s=0.0)
    result = ExactSolver().solve(INSTANCES[1].program, hooks)
    assert seen and seen[-1].fraction == pytest.approx(1.0)
    again = SolverResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert np.isclose(again.objective, result.objective)
