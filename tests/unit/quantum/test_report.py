"""Honest reports: baseline, bound, gap, KPI change, and a verdict built from the figures."""

from __future__ import annotations

import pytest

from quantum import (
    AnnealingSolver,
    ExactSolver,
    HybridConfig,
    HybridSolver,
    QAOAConfig,
    SolveReport,
    build_traffic,
    compare,
    demo_traffic,
)
from quantum.report import relative_gap

BANNED = ("advantage", "outperform", "speed-up over", "faster than classical", "supremacy")


def test_report_puts_the_hybrid_next_to_the_milp_baseline():
    problem = build_traffic(demo_traffic(3, 3, seed=2))
    solver = HybridSolver(HybridConfig(qaoa=QAOAConfig(reps=1, maxiter=10)))
    report = compare(problem.program, solver, problem=problem)
    assert report.baseline.solver == "milp" and report.baseline.feasible
    assert report.bound == pytest.approx(report.baseline.objective, rel=1e-6)
    assert report.gap == pytest.approx(relative_gap(report.result.objective,
                                                    report.best_known, 1))
    assert report.plan["plans"].keys() == {"tl0", "tl1", "tl2"}
    kpi = report.kpis[0]
    assert kpi.unit == "vehicle-minutes" and kpi.after <= kpi.before
    assert "no quantum speed-up is claimed" in report.verdict
    assert not any(word in report.verdict.lower() for word in BANNED)
    assert SolveReport.model_validate_json(report.model_dump_json()) == report


def test_verdict_states_a_worse_plan_as_worse():
    problem = build_traffic(demo_traffic(4, 3, seed=0))
    weak = AnnealingSolver(chains=1, sweeps=1, seed=0)
    report = compare(problem.program, weak, baseline=ExactSolver())
    if report.result.feasible and report.gap and report.gap > 0:
        assert "worse than the classical exact baseline" in report.verdict
    else:
        assert "no feasible plan" in report.verdict or "matches" in report.verdict
    assert report.result.quantum_share == 0.0


def test_gap_is_relative_to_the_reference_and_sense_aware():
    assert relative_gap(102.0, 100.0, 1) == pytest.approx(0.02)
    assert relative_gap(98.0, 100.0, -1) == pytest.approx(0.02)
    assert relative_gap(None, 100.0, 1) is None
