"""pandapower feeder power flow: does a dispatch plan keep voltages and loadings in limits?

The twin's LV grid becomes one pandapower network: an MV slack bus, one 20/0.4 kV
transformer per substation, each feeder a radial cable cut into its sections with the
section's share of the feeder's net load. One AC power flow per checked period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twin_core.errors import SimulationFailed
from twin_core.sim.energy import EnergyInputs

_TAN_PHI = float(np.tan(np.arccos(0.95)))  # household loads at power factor 0.95


@dataclass(frozen=True, eq=False)
class PowerFlowKPIs:
    """Extremes over the checked periods, and which limits they break."""

    periods: tuple[int, ...]
    min_vm_pu: float
    max_vm_pu: float
    max_line_loading_pct: float
    max_trafo_loading_pct: float
    voltage_violations: int  # bus-periods outside the band
    overloads: int  # line- or transformer-periods above the loading limit
    vm_pu_by_period: np.ndarray  # (periods, LV buses)
    line_loading_by_period: np.ndarray  # (periods, lines)

    @property
    def within_limits(self) -> bool:
        return self.voltage_violations == 0 and self.overloads == 0


def build_net(inputs: EnergyInputs) -> tuple[Any, np.ndarray, np.ndarray]:
    """The pandapower network; returns it with the load index and its feeder/section shares."""
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=1.0)
    mv = pp.create_bus(net, vn_kv=20.0, name="mv")
    pp.create_ext_grid(net, mv, vm_pu=1.0)
    lv_of: dict[str, int] = {}
    for sid, kva in inputs.substation_kva.items():
        lv = pp.create_bus(net, vn_kv=0.4, name=f"{sid}:lv")
        std = "0.63 MVA 20/0.4 kV" if kva > 450 else "0.4 MVA 20/0.4 kV"
        pp.create_transformer(net, mv, lv, std_type=std, name=sid)
        lv_of[sid] = lv
    loads, feeder_of, share = [], [], []
    for k, f in enumerate(inputs.feeders):
        prev = lv_of[f.substation_id]
        piece = f.length_m / f.sections / 1000.0
        for s in range(f.sections):
            bus = pp.create_bus(net, vn_kv=0.4, name=f"{f.feeder_id}:{s + 1}")
            pp.create_line(net, prev, bus, length_km=max(piece, 0.001), std_type=f.cable_type,
                           name=f"{f.feeder_id}:{s + 1}")
            loads.append(pp.create_load(net, bus, p_mw=0.0, q_mvar=0.0))
            feeder_of.append(k)
            share.append(f.section_share[s])
            prev = bus
    return net, np.array(feeder_of), np.array(share)


def critical_periods(net_import_kw: np.ndarray) -> list[int]:
    """Periods where some feeder peaks in import or export, and the city-wide extremes.

    Voltage drop and cable loading are monotone in a radial feeder's load, so the extremes
    of each feeder's net load are where its limits bind; checking those instead of every
    period keeps the power flow cheap without missing a violation of the feeder's own load.
    """
    picks = {int(net_import_kw.sum(axis=0).argmax()), int(net_import_kw.sum(axis=0).argmin())}
    picks |= set(net_import_kw.argmax(axis=1).tolist()) | set(net_import_kw.argmin(axis=1).tolist())
    return sorted(picks)


class GridModel:
    """The pandapower network of an EnergyInputs, built once and re-solved per plan.

    Building the network costs far more than solving it, so an optimiser that checks many
    plans keeps one GridModel. Not thread-safe: each thread needs its own.
    """

    def __init__(self, inputs: EnergyInputs) -> None:
        self.inputs = inputs
        self.net, self._feeder_of, self._share = build_net(inputs)
        self._lv = (self.net.bus.vn_kv < 1.0).to_numpy()
        self._solved = False

    def run(self, net_import_kw: np.ndarray, periods: list[int] | str | None = "critical",
            *, numba: bool = False) -> PowerFlowKPIs:
        """AC power flow of every feeder's net import at the chosen periods.

        `periods`: "critical" (default, see `critical_periods`), None for all, or a list.
        `numba` speeds each flow up after a one-off JIT compile of several seconds: worth it
        in a long optimisation loop, not for a handful of flows.
        """
        import pandapower as pp

        if periods == "critical":
            chosen = critical_periods(net_import_kw)
        elif periods is None:
            chosen = list(range(net_import_kw.shape[1]))
        else:
            chosen = [int(t) for t in periods]
        net = self.net
        vm, loading, trafo = [], [], []
        for t in chosen:
            p_mw = net_import_kw[self._feeder_of, t] * self._share / 1000.0
            net.load["p_mw"] = p_mw
            net.load["q_mvar"] = np.maximum(p_mw, 0.0) * _TAN_PHI
            try:
                # radial by construction: the connectivity check only costs time
                pp.runpp(net, init="results" if self._solved else "auto", numba=numba,
                         check_connectivity=False)
            except pp.LoadflowNotConverged as exc:
                raise SimulationFailed(f"power flow did not converge at period {t}") from exc
            self._solved = True
            vm.append(net.res_bus.vm_pu.to_numpy(copy=True)[self._lv])
            loading.append(net.res_line.loading_percent.to_numpy(copy=True))
            trafo.append(net.res_trafo.loading_percent.to_numpy(copy=True))
        vm_a, line_a, trafo_a = np.array(vm), np.array(loading), np.array(trafo)
        lo, hi = self.inputs.voltage_band
        limit = self.inputs.max_loading_pct
        return PowerFlowKPIs(
            periods=tuple(chosen), min_vm_pu=float(vm_a.min()), max_vm_pu=float(vm_a.max()),
            max_line_loading_pct=float(line_a.max()),
            max_trafo_loading_pct=float(trafo_a.max()),
            voltage_violations=int(((vm_a < lo) | (vm_a > hi)).sum()),
            overloads=int((line_a > limit).sum() + (trafo_a > limit).sum()),
            vm_pu_by_period=vm_a, line_loading_by_period=line_a)
