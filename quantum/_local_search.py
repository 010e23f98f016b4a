"""Classical repair and polish for the hybrid solver: steepest descent over small moves.

Moves change one variable by +-1 or two related variables (sharing a constraint or a product
term) by +-1 each, which covers flips, swaps inside one-hot groups and moving a vehicle between
depots. All moves of a step are evaluated at once as one batch of points.
"""

from __future__ import annotations

import numpy as np

from quantum._arrays import FEAS_TOL, ProgramArrays


class LocalSearch:
    """Repair (reach feasibility) and polish (improve while feasible) on one program."""

    def __init__(self, arrays: ProgramArrays, max_steps: int = 500) -> None:
        self.arrays = arrays
        self.max_steps = max_steps
        n = arrays.num_vars
        related = np.abs(arrays.quadratic) + np.abs(arrays.quadratic.T)
        if len(arrays.rhs):
            support = (arrays.a_matrix != 0).astype(float)
            related = related + support.T @ support
        i, j = np.nonzero(np.triu(related, k=1))
        signs = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=float)
        singles = np.concatenate([np.eye(n), -np.eye(n)])
        pairs = np.zeros((len(i) * 4, n))
        rows = np.arange(len(i) * 4)
        pairs[rows, np.repeat(i, 4)] = np.tile(signs[:, 0], len(i))
        pairs[rows, np.repeat(j, 4)] = np.tile(signs[:, 1], len(i))
        self.moves = np.concatenate([singles, pairs]) if n else np.zeros((0, 0))

    def _neighbours(self, x: np.ndarray) -> np.ndarray:
        points = x + self.moves
        inside = np.all((points >= self.arrays.lower) & (points <= self.arrays.upper), axis=1)
        return points[inside]

    def repair(self, x: np.ndarray) -> np.ndarray:
        """Descend on total violation (objective breaks ties) until feasible or stuck."""
        a = self.arrays
        x = np.clip(np.round(x), a.lower, a.upper).astype(float)
        violation = a.violation(x)[0]
        for _ in range(self.max_steps):
            if violation <= FEAS_TOL:
                break
            points = self._neighbours(x)
            if not len(points):
                break
            v = a.violation(points)
            score = v + 1e-9 * np.tanh(a.sense * a.objective(points))
            k = int(np.argmin(score))
            if v[k] >= violation - 1e-12:
                break
            x, violation = points[k], v[k]
        return x

    def polish(self, x: np.ndarray) -> np.ndarray:
        """Best-improvement descent on the objective among feasible neighbours."""
        a = self.arrays
        if a.violation(x)[0] > FEAS_TOL:
            return x
        value = a.sense * a.objective(x)[0]
        for _ in range(self.max_steps):
            points = self._neighbours(x)
            if not len(points):
                break
            points = points[a.feasible(points)]
            if not len(points):
                break
            values = a.sense * a.objective(points)
            k = int(np.argmin(values))
            if values[k] >= value - 1e-9 * max(1.0, abs(value)):
                break
            x, value = points[k], values[k]
        return x
