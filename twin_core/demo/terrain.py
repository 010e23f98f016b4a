"""Synthetic terrain: a gentle slope, a few hills and a river valley across the city.

Elevation is a closed-form function of position and the city's seed, so any grid at any
resolution samples the same landscape and the store needs to keep only the seed.
"""

from __future__ import annotations

import numpy as np

from twin_core.model import CityMeta


def river_y(seed: int, width: float, height: float, x: np.ndarray) -> np.ndarray:
    """North coordinate of the river's centre line at each x (metres)."""
    phase = np.random.default_rng(seed + 101).uniform(0, 2 * np.pi)
    return 0.38 * height + 0.08 * height * np.sin(2 * np.pi * 1.2 * x / width + phase)


def elevation(meta: CityMeta, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ground elevation in metres above datum at points (x, y) in the city frame."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(meta.seed + 202)
    z = 30.0 + 0.002 * x + 0.004 * np.abs(y - 0.38 * meta.height_m)
    for _ in range(4):
        hx, hy = rng.uniform(0, meta.width_m), rng.uniform(0, meta.height_m)
        amp, sigma = rng.uniform(3.0, 8.0), rng.uniform(250.0, 600.0)
        z = z + amp * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * sigma**2))
    dist = np.abs(y - river_y(meta.seed, meta.width_m, meta.height_m, x))
    return z - 5.0 * np.exp(-((dist / 180.0) ** 2))
