"""Solvers behind one interface: any QuadraticProgram in, a typed SolverResult out."""

from quantum.solvers.annealing import AnnealingSolver
from quantum.solvers.base import (
    CircuitStats,
    Progress,
    Provenance,
    QAOALevel,
    SolveHooks,
    Solver,
    SolverResult,
    SolveStatus,
)
from quantum.solvers.exact import ExactSolver
from quantum.solvers.milp import MilpSolver
from quantum.solvers.qaoa import PeerQAOASolver, QAOAConfig, QAOASolver

__all__ = [
    "AnnealingSolver",
    "CircuitStats",
    "ExactSolver",
    "MilpSolver",
    "PeerQAOASolver",
    "Progress",
    "Provenance",
    "QAOAConfig",
    "QAOALevel",
    "QAOASolver",
    "SolveHooks",
    "SolveStatus",
    "Solver",
    "SolverResult",
]
