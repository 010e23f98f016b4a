"""The hybrid solver: QAOA on sub-problems that fit the circuit, classical repair and polish.

1. A classical start: the variables' lower bounds, repaired to feasibility.
2. If the QUBO is wider than the circuit budget, the variables are split into blocks: groups
   that an equality constraint ties together (one plan per intersection) stay whole, and
   groups are added to a block in order of coupling while its sub-QUBO still fits.
3. For each block, the variables outside it are fixed at the incumbent
   (``QuadraticProgram.substitute_variables``) and QAOA solves the rest. Its best distinct
   samples are each placed into the incumbent, repaired and polished classically; the best
   feasible one becomes the incumbent if it improves it.
4. The result says which variables still carry the value a QAOA sample gave them.
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from qiskit_optimization import QuadraticProgram

from quantum._arrays import ProgramArrays, require_discrete
from quantum._local_search import LocalSearch
from quantum.converters import to_qubo
from quantum.errors import InvalidProblem
from quantum.solvers.base import (
    NO_HOOKS,
    CircuitStats,
    Progress,
    Provenance,
    SolveHooks,
    Solver,
    SolverResult,
    make_result,
    versions,
)
from quantum.solvers.qaoa import QAOAConfig, QAOASolver


class HybridConfig(BaseModel):
    """Settings of the hybrid solver (part of a job spec)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_qubits: int = Field(default=12, ge=2, le=32)
    qaoa: QAOAConfig = Field(default_factory=QAOAConfig)
    candidates: int = Field(default=8, ge=1, le=64)
    sweeps: int = Field(default=1, ge=1, le=10)


class HybridSolver(Solver):
    """Decompose, QAOA per block, repair, polish; the best feasible plan wins."""

    name = "hybrid"

    def __init__(self, config: HybridConfig | None = None) -> None:
        self.config = config or HybridConfig()

    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """Solve ``program``; see the module docstring for the steps."""
        cfg, hooks = self.config, hooks or NO_HOOKS
        started = time.perf_counter()
        arrays = ProgramArrays.from_program(program)
        require_discrete(arrays, "the hybrid solver")
        search = LocalSearch(arrays)
        incumbent = search.repair(arrays.lower.copy())
        start_value = float(arrays.objective(incumbent)[0])
        quantum = np.zeros(arrays.num_vars, dtype=bool)
        width = to_qubo(program, calibrate=False).num_qubits
        blocks = (
            [np.arange(arrays.num_vars)] if width <= cfg.max_qubits
            else partition(program, arrays, incumbent, cfg.max_qubits)
        )
        qaoa = QAOASolver(cfg.qaoa.model_copy(update={"max_qubits": cfg.max_qubits}))
        stats: list[SolverResult] = []
        steps = cfg.sweeps * len(blocks)
        for sweep in range(cfg.sweeps):
            changed = False
            for b, block in enumerate(blocks):
                step = sweep * len(blocks) + b
                sub = _subproblem(program, arrays, block, incumbent)
                run = qaoa.run(sub, _scaled(hooks, step, steps), top_k=cfg.candidates)
                stats.append(run.result)
                x, from_qaoa = self._best_completion(arrays, search, incumbent, block,
                                                     run.candidates)
                if x is not None and _better(arrays, x, incumbent):
                    moved = x != incumbent
                    quantum[moved] = False
                    quantum[block] = from_qaoa
                    incumbent, changed = x, True
                hooks.report("hybrid", (step + 1) / steps, f"block {b + 1}/{len(blocks)}",
                             float(arrays.objective(incumbent)[0]), force=True)
            if not changed:
                break
        names = np.array(arrays.names)
        return make_result(
            self.name, program, incumbent, started,
            circuit=_merge_stats(stats),
            qaoa_levels=[lv.model_copy(update={"run": k}) for k, r in enumerate(stats)
                         for lv in r.qaoa_levels],
            quantum_share=float(quantum.mean()) if len(quantum) else 0.0,
            quantum_variables=names[quantum].tolist(),
            penalty=stats[-1].penalty if stats else None,
            penalty_source=stats[-1].penalty_source if stats else None,
            notes=[
                f"{len(blocks)} sub-problem(s) of at most {cfg.max_qubits} qubits, "
                f"{len(stats)} QAOA run(s) simulated on Aer",
                f"classical start (repaired lower bounds): objective {start_value:.6g}",
                "quantum_variables keep the value a QAOA sample gave them after classical "
                "repair and polish",
            ],
            provenance=Provenance(seed=cfg.qaoa.seed, parameters=cfg.model_dump(),
                                  versions=versions()),
        )

    def _best_completion(self, arrays: ProgramArrays, search: LocalSearch,
                         incumbent: np.ndarray, block: np.ndarray, candidates: np.ndarray
                         ) -> tuple[np.ndarray | None, np.ndarray]:
        """Each sampled block assignment placed into the incumbent, repaired and polished."""
        best: np.ndarray | None = None
        best_mask = np.zeros(len(block), dtype=bool)
        for cand in candidates:
            seeded = incumbent.copy()
            seeded[block] = cand
            x = search.polish(search.repair(seeded))
            if not arrays.feasible(x)[0]:
                continue
            if best is None or _better(arrays, x, best):
                best, best_mask = x, np.isclose(x[block], cand)
        return best, best_mask


def partition(program: QuadraticProgram, arrays: ProgramArrays, incumbent: np.ndarray,
              max_qubits: int) -> list[np.ndarray]:
    """Blocks of variables whose sub-QUBOs fit ``max_qubits``, equality groups kept whole."""
    groups = _equality_groups(arrays)
    coupling = np.abs(arrays.quadratic) + np.abs(arrays.quadratic.T)
    if len(arrays.rhs):
        support = (arrays.a_matrix != 0).astype(float)
        coupling = coupling + support.T @ support
    group_of = np.empty(arrays.num_vars, dtype=int)
    for g, members in enumerate(groups):
        group_of[members] = g
    weight = np.zeros((len(groups), len(groups)))
    np.add.at(weight, (group_of[:, None], group_of[None, :]), coupling)
    unassigned = set(range(len(groups)))
    blocks: list[np.ndarray] = []
    while unassigned:
        seed = min(unassigned)
        block = [seed]
        unassigned.discard(seed)
        while unassigned:
            pool = sorted(unassigned)
            pull = weight[np.ix_(pool, block)].sum(axis=1)
            nxt = pool[int(np.argmax(pull))]
            trial = np.concatenate([groups[g] for g in [*block, nxt]])
            if _width(program, arrays, trial, incumbent) > max_qubits:
                break
            block.append(nxt)
            unassigned.discard(nxt)
        members = np.sort(np.concatenate([groups[g] for g in block]))
        if _width(program, arrays, members, incumbent) > max_qubits:
            raise InvalidProblem(
                f"a group of {len(members)} tied variables needs more than {max_qubits} qubits")
        blocks.append(members)
    return blocks


def _equality_groups(arrays: ProgramArrays) -> list[np.ndarray]:
    """Connected components of variables joined by equality constraints (union-find)."""
    parent = np.arange(arrays.num_vars)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for r in np.flatnonzero(arrays.senses == 0):
        members = np.flatnonzero(arrays.a_matrix[r])
        for m in members[1:]:
            parent[find(int(m))] = find(int(members[0]))
    roots = np.array([find(i) for i in range(arrays.num_vars)])
    return [np.flatnonzero(roots == r) for r in np.unique(roots)]


def _subproblem(program: QuadraticProgram, arrays: ProgramArrays, block: np.ndarray,
                incumbent: np.ndarray) -> QuadraticProgram:
    """``program`` with every variable outside ``block`` fixed at the incumbent's value."""
    if len(block) == arrays.num_vars:
        return program
    inside = np.zeros(arrays.num_vars, dtype=bool)
    inside[block] = True
    constants = {arrays.names[j]: float(incumbent[j]) for j in np.flatnonzero(~inside)}
    return program.substitute_variables(constants=constants)


def _width(program: QuadraticProgram, arrays: ProgramArrays, block: np.ndarray,
           incumbent: np.ndarray) -> int:
    sub = _subproblem(program, arrays, block, incumbent)
    return to_qubo(sub, calibrate=False).num_qubits


def _better(arrays: ProgramArrays, x: np.ndarray, than: np.ndarray) -> bool:
    """Feasible beats infeasible; then a strictly lower (sense-adjusted) objective."""
    fx, ft = arrays.feasible(x)[0], arrays.feasible(than)[0]
    if fx != ft:
        return bool(fx)
    vx, vt = arrays.sense * arrays.objective(x)[0], arrays.sense * arrays.objective(than)[0]
    return bool(vx < vt - 1e-9 * max(1.0, abs(vt)))


def _scaled(hooks: SolveHooks, step: int, steps: int) -> SolveHooks:
    """Hooks for one sub-solve whose fractions map into this step's share of the whole."""
    if hooks.on_progress is None:
        return SolveHooks(should_cancel=hooks.should_cancel)
    outer = hooks.on_progress

    def forward(progress: Progress) -> None:
        outer(progress.model_copy(update={
            "fraction": (step + progress.fraction) / steps,
            "message": f"sub-problem {step + 1}/{steps}: {progress.message}"}))

    return SolveHooks(should_cancel=hooks.should_cancel, on_progress=forward,
                      min_interval_s=hooks.min_interval_s)


def _merge_stats(results: list[SolverResult]) -> CircuitStats | None:
    circuits = [r.circuit for r in results if r.circuit is not None]
    if not circuits:
        return None
    widest = max(circuits, key=lambda c: (c.num_qubits, c.depth))
    return widest.model_copy(update={
        "evaluations": sum(c.evaluations for c in circuits),
        "sampler_calls": sum(c.sampler_calls for c in circuits),
    })
