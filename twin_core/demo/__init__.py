"""The seeded demo city and its day of observations."""

from twin_core.demo.city import DemoCityConfig, generate_city, placeholder_subject
from twin_core.demo.series import generate_observations
from twin_core.demo.terrain import elevation, river_y

__all__ = [
    "DemoCityConfig",
    "elevation",
    "generate_city",
    "generate_observations",
    "placeholder_subject",
    "river_y",
]
