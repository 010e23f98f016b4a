"""Daily shapes shared by the demo series and the simulations' default inputs.

Kept apart from the generators so that a simulation can fall back on the same demand the
demo observations were drawn from, without importing the generators.
"""

from __future__ import annotations

import numpy as np

from twin_core.model import City


def _bump(h: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (h - centre + 12.0) % 24.0 - 12.0  # wrap around midnight
    return np.exp(-0.5 * (d / width) ** 2)


def traffic_profile(hours: np.ndarray) -> np.ndarray:
    """Share of the peak-hour flow at each hour of day (peaks 08:00 and 17:30, ~1.0)."""
    h = np.asarray(hours, dtype=float)
    shape = 0.12 + _bump(h, 8.0, 1.2) + 0.9 * _bump(h, 17.5, 1.5) + 0.45 * _bump(h, 13.0, 3.0)
    return shape / 1.3


def household_profile(hours: np.ndarray) -> np.ndarray:
    """Household load relative to its base load (morning and evening peaks)."""
    h = np.asarray(hours, dtype=float)
    return 0.55 + 0.9 * _bump(h, 7.5, 1.2) + 1.8 * _bump(h, 19.5, 2.0) + 0.3 * _bump(h, 13, 2.5)


def solar_profile(hours: np.ndarray) -> np.ndarray:
    """Clear-sky PV output per kW installed (0 at night, ~0.75 at solar noon)."""
    h = np.asarray(hours, dtype=float) % 24.0
    return 0.75 * np.clip(np.sin(np.pi * (h - 6.0) / 14.0), 0.0, None) ** 1.5


def entry_peak_vph(city: City) -> dict[str, float]:
    """Peak-hour demand (veh/h) on every link that enters the city from its boundary.

    Arterials carry more, and north-south streets more than east-west ones (commuters head
    for the centre); each link gets a seeded variation so corridors differ, which is what
    makes some signal plans better than others.
    """
    signal = {j.id for j in city.junctions if j.signalised}
    rng = np.random.default_rng(city.meta.seed + 303)
    out = {}
    for seg in city.road_segments:
        if seg.start_id in signal or seg.end_id not in signal:
            continue
        base = (560.0 if seg.arterial else 200.0) * (1.2 if seg.heading in "NS" else 0.8)
        out[seg.id] = round(base * float(rng.uniform(0.75, 1.25)), 1)
    return out
