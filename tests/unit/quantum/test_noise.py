"""A run on a noisy fake IBM device: transpiled cost and the quality lost to noise."""

from __future__ import annotations

from quantum import QAOAConfig, build_emergency, demo_emergency, run_noisy


def test_noisy_fake_device_costs_quality():
    problem = build_emergency(demo_emergency(2, 3, seed=0))
    report = run_noisy(problem.program, "FakeSherbrooke",
                       QAOAConfig(reps=1, maxiter=15, shots=512))
    assert report.backend_qubits == 127
    assert report.transpiled_width >= report.logical_qubits == 6
    assert report.two_qubit_gates > 0
    assert report.transpiled_depth > 10
    assert report.ideal.p_feasible > report.noisy.p_feasible
    assert report.p_optimal_lost == report.ideal.p_optimal - report.noisy.p_optimal
    assert report.p_optimal_lost > 0
    assert 0.0 <= report.noisy.expected_ratio <= 1.0
