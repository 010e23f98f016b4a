"""Simulations: each takes twin state and a plan and returns KPIs with provenance.

Per domain, a `build_*_inputs(city, ...)` turns the twin into clean inputs (arrays the
optimiser can also read through each inputs' `optimiser_view` or `emergency_view`), and an
evaluate function re-simulates a plan: `evaluate_signal_plan`, `simulate_pollution`,
`evaluate_response`, `evaluate_dispatch`. SUMO (`SumoScenario`) and pandapower (`GridModel`)
are the reference engines behind the fast models.
"""

from twin_core.sim.energy import (
    DispatchPlan,
    EnergyInputs,
    EnergyKPIs,
    FeederKPIs,
    FeederProfile,
    balance,
    build_energy_inputs,
    evaluate_dispatch,
)
from twin_core.sim.flood import (
    FloodInputs,
    FloodResult,
    FloodSource,
    build_flood_inputs,
    simulate_flood,
)
from twin_core.sim.network import TrafficNetwork, build_network
from twin_core.sim.pollution import (
    Grid,
    PollutionInputs,
    PollutionKPIs,
    PollutionPlan,
    build_pollution_inputs,
    simulate_pollution,
)
from twin_core.sim.powerflow import GridModel, PowerFlowKPIs
from twin_core.sim.provenance import Provenance
from twin_core.sim.response import (
    Demand,
    DisasterKPIs,
    ResponseInputs,
    ResponsePlan,
    assess_demand,
    build_response_inputs,
    emergency_view,
    evaluate_response,
    nearest_first_plan,
)
from twin_core.sim.sumo import SumoKPIs, SumoScenario, simulate_sumo
from twin_core.sim.traffic import (
    SignalPlan,
    TrafficInputs,
    TrafficKPIs,
    build_traffic_inputs,
    evaluate_signal_plan,
    simulate_traffic,
)

__all__ = [
    "Demand",
    "DisasterKPIs",
    "DispatchPlan",
    "EnergyInputs",
    "EnergyKPIs",
    "FeederKPIs",
    "FeederProfile",
    "FloodInputs",
    "FloodResult",
    "FloodSource",
    "Grid",
    "GridModel",
    "PollutionInputs",
    "PollutionKPIs",
    "PollutionPlan",
    "PowerFlowKPIs",
    "Provenance",
    "ResponseInputs",
    "ResponsePlan",
    "SignalPlan",
    "SumoKPIs",
    "SumoScenario",
    "TrafficInputs",
    "TrafficKPIs",
    "TrafficNetwork",
    "assess_demand",
    "balance",
    "build_energy_inputs",
    "build_flood_inputs",
    "build_network",
    "build_pollution_inputs",
    "build_response_inputs",
    "build_traffic_inputs",
    "emergency_view",
    "evaluate_dispatch",
    "evaluate_response",
    "evaluate_signal_plan",
    "nearest_first_plan",
    "simulate_flood",
    "simulate_pollution",
    "simulate_sumo",
    "simulate_traffic",
]
