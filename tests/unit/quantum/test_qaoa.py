"""QAOA on Aer's V2 sampler, through qiskit-optimization's optimisers."""

from __future__ import annotations

import numpy as np
import pytest

from quantum import (
    Cancelled,
    PeerQAOASolver,
    QAOAConfig,
    QAOASolver,
    SolveHooks,
    build_emergency,
    build_traffic,
    demo_emergency,
    demo_traffic,
)
from quantum._arrays import ProgramArrays
from quantum.solvers.lean_qaoa import _interpolate


def _probability_of_optimum(run, program) -> tuple[float, float]:
    """Sampled probability of the optimal plan in the final state, and the uniform baseline."""
    x_opt, _ = ProgramArrays.from_program(program).brute_force()
    record = run.records[-1]
    decoded = run.conversion.interpret(record.lowest(len(record.final_states)))
    order = np.argsort(record.final_energies, kind="stable")
    hit = np.all(np.isclose(decoded, x_opt), axis=1)
    return float(record.final_probs[order][hit].sum()), 2.0 ** -record.num_qubits


@pytest.mark.parametrize(("problem", "threshold"), [
    (build_emergency(demo_emergency(2, 3, seed=0)), 0.5),
    (build_traffic(demo_traffic(2, 4, seed=0)), 0.1),
], ids=["emergency-6-qubits", "traffic-8-qubits"])
def test_qaoa_finds_the_optimum_with_high_probability(problem, threshold):
    run = QAOASolver(QAOAConfig(reps=2, shots=512, seed=11)).run(problem.program)
    best = ProgramArrays.from_program(problem.program).brute_force()[1]
    assert run.result.feasible
    assert run.result.objective == pytest.approx(best)
    p_opt, uniform = _probability_of_optimum(run, problem.program)
    assert p_opt >= threshold > 10 * uniform


def test_result_reports_circuit_and_the_depth_ladder():
    problem = build_traffic(demo_traffic(2, 3, seed=0))
    result = QAOASolver(QAOAConfig(reps=3, maxiter=15)).solve(problem.program)
    assert [lv.reps for lv in result.qaoa_levels] == [1, 2, 3]
    assert [len(lv.parameters) for lv in result.qaoa_levels] == [2, 4, 6]
    assert result.circuit.num_qubits == 6 and result.circuit.shots == 1024
    assert result.circuit.two_qubit_gates > 0 and result.circuit.depth > 0
    assert result.circuit.evaluations == sum(lv.evaluations for lv in result.qaoa_levels)
    assert result.circuit.sampler_calls < result.circuit.evaluations  # batched starts
    assert result.quantum_share == 1.0
    assert any("no hardware" in note for note in result.notes)


def test_interpolation_carries_depth_p_angles_to_p_plus_one():
    start = _interpolate(np.array([0.4, 0.8]), 2)
    assert start.tolist() == pytest.approx([0.4, 0.4, 0.8, 0.8])
    deeper = _interpolate(np.array([0.2, 0.6, 1.0, 1.4]), 3)
    assert deeper[:3].tolist() == pytest.approx([0.2, 0.4, 0.6])


@pytest.mark.parametrize("mode", ["warm_start", "recursive"])
def test_library_meta_optimisers_drive_the_lean_eigensolver(mode):
    problem = build_emergency(demo_emergency(2, 2, seed=3))
    result = QAOASolver(QAOAConfig(mode=mode, reps=1, maxiter=10)).solve(problem.program)
    assert result.x is not None and result.circuit is not None
    assert result.circuit.evaluations > 0
    assert any(mode.split("_")[0] in note for note in result.notes)


def test_cancellation_stops_qaoa_between_evaluations():
    calls = []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        QAOASolver(QAOAConfig(reps=3, maxiter=500)).solve(
            build_traffic(demo_traffic(2, 3)).program, SolveHooks(should_cancel=should_cancel))
    assert len(calls) == 4


def test_peer_is_the_plain_library_path():
    problem = build_traffic(demo_traffic(2, 2, seed=1))
    result = PeerQAOASolver(reps=1, maxiter=10).solve(problem.program)
    assert result.solver == "peer_qaoa" and result.x is not None
    assert result.circuit.evaluations > 0


def test_wide_circuits_switch_to_matrix_product_states():
    problem = build_emergency(demo_emergency(2, 3, seed=0))
    config = QAOAConfig(reps=1, maxiter=10, shots=256, statevector_max_qubits=4)
    result = QAOASolver(config).solve(problem.program)
    assert result.circuit.simulator == "matrix_product_state"
    assert result.objective == pytest.approx(
        ProgramArrays.from_program(problem.program).brute_force()[1])
