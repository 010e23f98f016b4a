"""Simulated annealing on the QUBO, many chains at once.

Each step flips the same variable in every chain (a random order per sweep) and accepts or
rejects per chain, so one step is a handful of numpy operations over all chains; the local
fields are updated incrementally (``h += Q[:, i]`` on a flip) instead of re-evaluating energies.
"""

from __future__ import annotations

import time

import numpy as np
from qiskit_optimization import QuadraticProgram

from quantum._arrays import ProgramArrays
from quantum.converters import QuboConversion, to_qubo
from quantum.solvers.base import NO_HOOKS, Provenance, SolveHooks, Solver, SolverResult, make_result


class QuboSampler:
    """Annealing over a QUBO's bitstrings; returns each chain's best state and energy."""

    def __init__(self, linear: np.ndarray, quadratic: np.ndarray, constant: float = 0.0) -> None:
        q = np.asarray(quadratic, dtype=float)
        self.coupling = q + q.T
        np.fill_diagonal(self.coupling, 0.0)
        self.field0 = np.asarray(linear, dtype=float) + np.diag(q)
        self.constant = constant

    @classmethod
    def from_qubo(cls, qubo: QuadraticProgram) -> QuboSampler:
        """Build from an unconstrained binary minimisation program."""
        arrays = ProgramArrays.from_program(qubo)
        return cls(arrays.sense * arrays.linear, arrays.sense * arrays.quadratic,
                   arrays.sense * arrays.constant)

    def energy(self, x: np.ndarray) -> np.ndarray:
        """QUBO energy of each row of ``x``."""
        x = np.atleast_2d(x).astype(float)
        return self.constant + x @ self.field0 + 0.5 * ((x @ self.coupling) * x).sum(axis=1)

    def sample(
        self, chains: int, sweeps: int, rng: np.random.Generator, hooks: SolveHooks = NO_HOOKS,
        start: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Anneal ``chains`` chains for ``sweeps`` sweeps; (best states, best energies)."""
        n = len(self.field0)
        x = rng.integers(0, 2, size=(chains, n)).astype(float) if start is None else (
            np.broadcast_to(start, (chains, n)).astype(float).copy())
        field = self.field0 + x @ self.coupling
        energy = self.energy(x)
        best_x, best_e = x.copy(), energy.copy()
        scale = np.abs(self.field0).max() + np.abs(self.coupling).sum(axis=1).max()
        t_hot, t_cold = max(scale, 1e-9), max(scale, 1e-9) * 1e-4
        temps = t_hot * (t_cold / t_hot) ** (np.arange(sweeps) / max(sweeps - 1, 1))
        rows = np.arange(chains)
        for s, temp in enumerate(temps):
            for i in rng.permutation(n):
                sign = 1.0 - 2.0 * x[:, i]
                delta = sign * field[:, i]
                accept = (delta <= 0) | (rng.random(chains) < np.exp(-np.maximum(delta, 0) / temp))
                if not accept.any():
                    continue
                k = rows[accept]
                x[k, i] += sign[k]
                field[k] += sign[k, None] * self.coupling[i]
                energy[k] += delta[k]
                better = energy < best_e
                best_e = np.where(better, energy, best_e)
                best_x[better] = x[better]
            hooks.report("anneal", (s + 1) / sweeps, best_objective=float(best_e.min()))
        return best_x, best_e


class AnnealingSolver(Solver):
    """Simulated annealing on the penalised QUBO; the best feasible chain wins."""

    name = "annealing"

    def __init__(self, chains: int = 64, sweeps: int = 300, seed: int = 7,
                 penalty: float | None = None) -> None:
        self.chains, self.sweeps, self.seed, self.penalty = chains, sweeps, seed, penalty

    def solve(self, program: QuadraticProgram, hooks: SolveHooks | None = None) -> SolverResult:
        """Anneal, decode every chain's best state, keep the best feasible one."""
        hooks = hooks or NO_HOOKS
        started = time.perf_counter()
        conversion = to_qubo(program, self.penalty)
        states = self.sample_original(conversion, hooks)
        x = best_of(program, states)
        return make_result(
            self.name, program, x, started, penalty=conversion.penalty,
            penalty_source=conversion.penalty_source,
            provenance=Provenance(seed=self.seed, parameters={
                "chains": self.chains, "sweeps": self.sweeps}),
        )

    def sample_original(self, conversion: QuboConversion, hooks: SolveHooks = NO_HOOKS
                        ) -> np.ndarray:
        """Each chain's best QUBO state mapped back to the original variables."""
        sampler = QuboSampler.from_qubo(conversion.qubo)
        best_x, _ = sampler.sample(self.chains, self.sweeps, np.random.default_rng(self.seed),
                                   hooks)
        return conversion.interpret(best_x)


def best_of(program: QuadraticProgram, candidates: np.ndarray) -> np.ndarray | None:
    """The best feasible candidate on the original model, else the least violating one."""
    if len(candidates) == 0:
        return None
    arrays = ProgramArrays.from_program(program)
    violation = arrays.violation(candidates)
    values = arrays.sense * arrays.objective(candidates)
    order = np.lexsort((values, violation > 1e-6))
    return candidates[order[0]]
