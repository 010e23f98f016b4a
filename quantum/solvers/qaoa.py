"""QAOA solvers on Aer's V2 sampler, through qiskit-optimization's optimisers.

``QAOASolver`` drives the lean eigensolver (``lean_qaoa``) with MinimumEigenOptimizer,
WarmStartQAOAOptimizer or RecursiveMinimumEigenOptimizer; ``PeerQAOASolver`` is the plain
library path (``MinimumEigenOptimizer(QAOA(...))`` with the default penalty) that the benchmark
compares against. Both pick the simulator by width: statevector up to
``statevector_max_qubits``, matrix product states beyond.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2
from qiskit_optimization import QuadraticProgram
from qiskit_optimization.algorithms import (
    MinimumEigenOptimizer,
    OptimizationAlgorithm,
    OptimizationResult,
    OptimizationResultStatus,
    RecursiveMinimumEigenOptimizer,
    SolutionSample,
    WarmStartQAOAOptimizer,
)
from qiskit_optimization.minimum_eigensolvers import QAOA, NumPyMinimumEigensolver
from qiskit_optimization.optimizers import COBYLA
from qiskit_optimization.utils import algorithm_globals

from quantum._arrays import ProgramArrays
from quantum.converters import QuboConversion, to_qubo
from quantum.errors import ProblemTooLarge
from quantum.solvers.annealing import QuboSampler
from quantum.solvers.base import (
    NO_HOOKS,
    CircuitStats,
    Provenance,
    QAOALevel,
    SolveHooks,
    Solver,
    SolverResult,
    make_result,
    versions,
)
from quantum.solvers.lean_qaoa import LeanQAOA, RunRecord
from quantum.solvers.mixers import one_hot_groups, xy_mixer

QAOAMode = Literal["plain", "warm_start", "recursive"]


class QAOAConfig(BaseModel):
    """Settings of a QAOA solve; part of a job spec, so it is JSON-serialisable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reps: int = Field(default=2, ge=1, le=8)
    shots: int = Field(default=1024, ge=16, le=1 << 20)
    maxiter: int = Field(default=40, ge=1, le=10_000)
    grid: int = Field(default=6, ge=0, le=16)
    cvar_alpha: float = Field(default=1.0, gt=0.0, le=1.0)
    mode: QAOAMode = "plain"
    seed: int = 7
    statevector_max_qubits: int = Field(default=20, ge=1)
    max_qubits: int = Field(default=40, ge=1)
    penalty: float | None = Field(default=None, gt=0.0)
    warm_start_epsilon: float = Field(default=0.25, ge=0.0, le=0.5)
    recursive_min_vars: int = Field(default=3, ge=1)
    mixer: Literal["x", "xy"] = "xy"


def make_sampler(num_qubits: int, shots: int, seed: int, statevector_max_qubits: int = 20
                 ) -> tuple[SamplerV2, object, str]:
    """A seeded Aer SamplerV2, its pass manager and the simulation method, chosen by width."""
    method = "statevector" if num_qubits <= statevector_max_qubits else "matrix_product_state"
    # one OpenMP thread: measured on 2 cores, Aer's thread pool costs more than it saves up to
    # 18 qubits (0.13 s against 0.33 s per call), and jobs already run one per core
    backend, pass_manager = _backend(method, 1)
    sampler = SamplerV2.from_backend(backend, default_shots=shots, seed=seed)
    return sampler, pass_manager, method


@lru_cache(maxsize=8)
def _backend(method: str, threads: int) -> tuple[AerSimulator, object]:
    """Simulator and pass manager per configuration, built once per process (about 1 s)."""
    backend = AerSimulator(method=method, max_parallel_threads=threads)
    return backend, generate_preset_pass_manager(optimization_level=1, backend=backend)


@dataclass(frozen=True)
class QAOARun:
    """A QAOA result plus the distinct candidates it sampled, best QUBO energy first."""

    result: SolverResult
    candidates: np.ndarray
    conversion: QuboConversion
    records: tuple[RunRecord, ...] = ()


class QAOASolver(Solver):
    """QAOA through qiskit-optimization's optimisers on the lean eigensolver."""

    name = "qaoa"

    def __init__(self, config: QAOAConfig | None = None) -> None:
        self.config = config or QAOAConfig()

    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """Solve and report circuit width, depth, shots and evaluations per depth."""
        return self.run(program, hooks).result

    def run(self, program: QuadraticProgram, hooks: SolveHooks | None = None,
            conversion: QuboConversion | None = None, top_k: int = 16) -> QAOARun:
        """Solve, keeping up to ``top_k`` distinct sampled candidates for classical polish."""
        cfg, hooks = self.config, hooks or NO_HOOKS
        started = time.perf_counter()
        conversion = conversion or to_qubo(program, cfg.penalty)
        width = conversion.num_qubits
        if width > cfg.max_qubits:
            raise ProblemTooLarge(f"{width} qubits exceed the circuit budget of {cfg.max_qubits}")
        sampler, pass_manager, method = make_sampler(width, cfg.shots, cfg.seed,
                                                     cfg.statevector_max_qubits)
        lean = LeanQAOA(sampler, pass_manager, reps=cfg.reps, maxiter=cfg.maxiter,
                        grid=cfg.grid, cvar_alpha=cfg.cvar_alpha, hooks=hooks)
        groups = one_hot_groups(conversion.scaled) if cfg.mixer == "xy" else []
        if groups and cfg.mode == "plain":
            lean.initial_state, lean.mixer = xy_mixer(conversion.qubo, groups)
        optimizer = self._optimizer(lean, conversion)
        raw = optimizer.solve(conversion.scaled)
        x = None if raw.x is None else np.asarray(raw.x, dtype=float)
        candidates = _candidates(lean.runs[-1] if lean.runs else None, conversion, x, top_k)
        notes = list(self._notes(width))
        share = 1.0
        if cfg.mode == "recursive" and width:
            share = max(0.0, 1.0 - cfg.recursive_min_vars / width)
        result = make_result(
            self.name, program, x, started,
            circuit=_circuit_stats(lean.runs, cfg.shots, method),
            qaoa_levels=_levels(lean.runs, conversion),
            quantum_share=share if x is not None else 0.0,
            quantum_variables=[v.name for v in program.variables] if share == 1.0 else [],
            penalty=conversion.penalty, penalty_source=conversion.penalty_source,
            notes=notes,
            provenance=Provenance(seed=cfg.seed, parameters=cfg.model_dump(),
                                  versions=versions()),
        )
        return QAOARun(result, candidates, conversion, tuple(lean.runs))

    def _optimizer(self, lean: LeanQAOA, conversion: QuboConversion) -> OptimizationAlgorithm:
        cfg = self.config
        if cfg.mode == "warm_start":
            return WarmStartQAOAOptimizer(
                pre_solver=AnnealingPreSolver(cfg.seed), relax_for_pre_solver=False, qaoa=lean,
                epsilon=cfg.warm_start_epsilon, converters=conversion.converter)
        if cfg.mode == "recursive":
            return RecursiveMinimumEigenOptimizer(
                MinimumEigenOptimizer(lean), min_num_vars=cfg.recursive_min_vars,
                min_num_vars_optimizer=MinimumEigenOptimizer(NumPyMinimumEigensolver()),
                converters=conversion.converter)
        return MinimumEigenOptimizer(lean, converters=conversion.converter)

    def _notes(self, width: int) -> list[str]:
        cfg = self.config
        notes = [f"{width} qubits simulated classically (Aer); no hardware was used"]
        if cfg.mode == "warm_start":
            notes.append("warm start: the initial state comes from a classical annealing run")
        if cfg.mode == "recursive":
            notes.append(f"recursive: the last {cfg.recursive_min_vars} variables were solved "
                         "exactly by a classical eigensolver")
        return notes


class AnnealingPreSolver(OptimizationAlgorithm):
    """Classical pre-solver for WarmStartQAOAOptimizer: annealing on the (unrelaxed) QUBO.

    The relaxed QUBO is not convex in general, so instead of a continuous relaxation the warm
    start uses a good binary solution, regularised by epsilon as Egger et al. describe.
    """

    def __init__(self, seed: int = 7, chains: int = 16, sweeps: int = 100) -> None:
        self.seed, self.chains, self.sweeps = seed, chains, sweeps

    def get_compatibility_msg(self, problem: QuadraticProgram) -> str:
        """Any QUBO is accepted."""
        return ""

    def solve(self, problem: QuadraticProgram) -> OptimizationResult:
        """Anneal and return the best chain as the single warm-start sample."""
        sampler = QuboSampler.from_qubo(problem)
        states, energies = sampler.sample(self.chains, self.sweeps,
                                          np.random.default_rng(self.seed))
        x = states[int(np.argmin(energies))]
        fval = float(problem.objective.evaluate(x))
        status = OptimizationResultStatus.SUCCESS
        return OptimizationResult(x=x, fval=fval, variables=problem.variables, status=status,
                                  samples=[SolutionSample(x, fval, 1.0, status)])


class PeerQAOASolver(Solver):
    """The plain library path: MinimumEigenOptimizer(QAOA(Aer SamplerV2, COBYLA)).

    Default penalty, default random initial point (seeded), library evaluation loop. It is the
    peer that the benchmark holds the hybrid solver to.
    """

    name = "peer_qaoa"

    def __init__(self, reps: int = 1, shots: int = 1024, maxiter: int = 60, seed: int = 7,
                 statevector_max_qubits: int = 20) -> None:
        self.reps, self.shots, self.maxiter, self.seed = reps, shots, maxiter, seed
        self.statevector_max_qubits = statevector_max_qubits

    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """Solve exactly as the library's tutorials do."""
        hooks = hooks or NO_HOOKS
        started = time.perf_counter()
        width = to_qubo(program, calibrate=False).num_qubits
        sampler, pass_manager, method = make_sampler(width, self.shots, self.seed,
                                                     self.statevector_max_qubits)
        algorithm_globals.random_seed = self.seed
        evaluations = 0

        def callback(count: int, *_: object) -> None:
            nonlocal evaluations
            evaluations = count
            hooks.report("peer_qaoa", min(count / max(self.maxiter, 1), 1.0))

        qaoa = QAOA(sampler, COBYLA(maxiter=self.maxiter), reps=self.reps,
                    pass_manager=pass_manager, callback=callback)
        raw = MinimumEigenOptimizer(qaoa).solve(program)
        x = None if raw.x is None else np.asarray(raw.x, dtype=float)
        stats = CircuitStats(num_qubits=width, depth=0, two_qubit_gates=0, reps=self.reps,
                             shots=self.shots, evaluations=evaluations,
                             sampler_calls=evaluations + 1, simulator=method)
        return make_result(self.name, program, x, started, circuit=stats, quantum_share=1.0,
                           provenance=Provenance(seed=self.seed, parameters={
                               "reps": self.reps, "shots": self.shots, "maxiter": self.maxiter}))


def _candidates(run: RunRecord | None, conversion: QuboConversion, x: np.ndarray | None,
                top_k: int) -> np.ndarray:
    """The answer, then distinct decoded final samples, lowest QUBO energy first."""
    rows = [x[None, :]] if x is not None else []
    if run is not None and run.num_qubits == conversion.num_qubits:
        rows.append(conversion.interpret(run.lowest(top_k * 4)))
    if not rows:
        return np.empty((0, conversion.original.get_num_vars()))
    stacked = np.vstack(rows)
    _, first = np.unique(stacked, axis=0, return_index=True)
    return stacked[np.sort(first)][: top_k + 1]


def _levels(runs: list[RunRecord], conversion: QuboConversion) -> list[QAOALevel]:
    """Per depth: energy, cost, and the best feasible objective among its final samples."""
    original = ProgramArrays.from_program(conversion.original)
    out = []
    for k, run in enumerate(runs):
        for lv in run.levels:
            objective = None
            if run.num_qubits == conversion.num_qubits and lv.states is not None:
                decoded = conversion.interpret(lv.bits())
                ok = original.feasible(decoded)
                if ok.any():
                    values = original.objective(decoded[ok])
                    objective = float(values[np.argmin(original.sense * values)])
            out.append(QAOALevel(run=k, reps=lv.reps, energy=lv.energy, objective=objective,
                                 evaluations=lv.evaluations, wall_s=lv.wall_s,
                                 parameters=lv.parameters, depth=lv.depth,
                                 two_qubit_gates=lv.two_qubit_gates))
    return out


def _circuit_stats(runs: list[RunRecord], shots: int, method: str) -> CircuitStats | None:
    if not runs:
        return None
    widest = max(runs, key=lambda r: r.num_qubits)
    last = widest.chosen or (widest.levels[-1] if widest.levels else None)
    return CircuitStats(
        num_qubits=widest.num_qubits,
        depth=last.depth if last else 0,
        two_qubit_gates=last.two_qubit_gates if last else 0,
        reps=last.reps if last else 0,
        shots=shots,
        evaluations=sum(r.evaluations for r in runs),
        sampler_calls=sum(r.sampler_calls for r in runs),
        simulator=method,
    )
