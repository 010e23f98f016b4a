"""Problem builders: twin-like inputs in, constrained QuadraticPrograms out."""

from quantum.problems._base import BuiltProblem, InputModel
from quantum.problems.demo import demo_emergency, demo_feeder, demo_traffic
from quantum.problems.emergency import (
    Depot,
    DispatchPlan,
    EmergencyInput,
    EmergencyProblem,
    Incident,
    build_emergency,
)
from quantum.problems.energy import (
    DispatchSchedule,
    EnergyProblem,
    FeederInput,
    FlexibleUnit,
    Storage,
    build_energy,
)
from quantum.problems.traffic import (
    Intersection,
    Link,
    PhasePlan,
    TrafficInput,
    TrafficPlan,
    TrafficProblem,
    build_traffic,
)

__all__ = [
    "BuiltProblem",
    "Depot",
    "DispatchPlan",
    "DispatchSchedule",
    "EmergencyInput",
    "EmergencyProblem",
    "EnergyProblem",
    "FeederInput",
    "FlexibleUnit",
    "Incident",
    "InputModel",
    "Intersection",
    "Link",
    "PhasePlan",
    "Storage",
    "TrafficInput",
    "TrafficPlan",
    "TrafficProblem",
    "build_emergency",
    "build_energy",
    "build_traffic",
    "demo_emergency",
    "demo_feeder",
    "demo_traffic",
]
