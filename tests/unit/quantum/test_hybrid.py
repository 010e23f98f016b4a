"""The hybrid solver: decomposition under a circuit budget, repair, polish, attribution."""

from __future__ import annotations

import numpy as np
import pytest

from quantum import (
    HybridConfig,
    HybridSolver,
    MilpSolver,
    QAOAConfig,
    build_emergency,
    build_energy,
    build_traffic,
    demo_emergency,
    demo_feeder,
    demo_traffic,
    to_qubo,
)
from quantum._arrays import ProgramArrays
from quantum._local_search import LocalSearch
from quantum.hybrid import partition

FAST = QAOAConfig(reps=1, maxiter=15, shots=512)


@pytest.mark.parametrize("problem", [build_traffic(demo_traffic(5, 3, seed=1)),
                                     build_emergency(demo_emergency(3, 3, seed=2)),
                                     build_energy(demo_feeder(2, seed=4))],
                         ids=lambda p: p.program.name)
def test_hybrid_splits_over_budget_problems_and_stays_within_two_percent(problem):
    budget = 9
    assert to_qubo(problem.program, calibrate=False).num_qubits > budget
    result = HybridSolver(HybridConfig(max_qubits=budget, qaoa=FAST)).solve(problem.program)
    optimum = MilpSolver().solve(problem.program).objective
    assert result.feasible
    assert result.objective <= optimum * 1.02 + 1e-9
    assert result.circuit.num_qubits <= budget
    assert len({lv.run for lv in result.qaoa_levels}) >= 2
    assert set(result.quantum_variables) <= set(result.variables)
    assert result.quantum_share == pytest.approx(len(result.quantum_variables)
                                                 / len(result.variables))


def test_partition_keeps_each_intersection_whole_and_fits_the_budget():
    program = build_traffic(demo_traffic(6, 3, seed=0)).program
    arrays = ProgramArrays.from_program(program)
    incumbent = LocalSearch(arrays).repair(arrays.lower.copy())
    blocks = partition(program, arrays, incumbent, max_qubits=9)
    covered = np.sort(np.concatenate(blocks))
    assert covered.tolist() == list(range(arrays.num_vars))
    for block in blocks:
        assert len(block) <= 9
        assert {int(j) // 3 for j in block} == {int(j) // 3 for j in block if j % 3 == 0}


def test_repair_reaches_feasibility_and_polish_never_worsens():
    problem = build_emergency(demo_emergency(3, 4, seed=0, vehicles_per_depot=2))
    arrays = ProgramArrays.from_program(problem.program)
    search = LocalSearch(arrays)
    rng = np.random.default_rng(0)
    for _ in range(5):
        start = rng.integers(0, 2, arrays.num_vars).astype(float)
        fixed = search.repair(start)
        assert arrays.feasible(fixed)[0]
        polished = search.polish(fixed)
        assert arrays.objective(polished)[0] <= arrays.objective(fixed)[0] + 1e-9


def test_progress_and_cancellation_reach_the_sub_solves():
    seen = []
    from quantum import Cancelled, SolveHooks

    hooks = SolveHooks(on_progress=seen.append, min_interval_s=0.0,
                       should_cancel=lambda: len(seen) > 5)
    with pytest.raises(Cancelled):
        HybridSolver(HybridConfig(max_qubits=9, qaoa=FAST)).solve(
            build_traffic(demo_traffic(5, 3)).program, hooks)
    assert any("sub-problem 1/" in p.message for p in seen)
    assert all(0.0 <= p.fraction <= 1.0 for p in seen)
