"""SUMO as the reference traffic engine: twin streets -> net, demand -> routes, plan -> tlLogic.

The network goes through netconvert from plain XML (nodes and edges as the twin has them);
demand becomes individual vehicles whose routes are random walks with the junctions' turning
shares, so SUMO and the macroscopic model see the same routing; a signal plan becomes one
static tlLogic program per junction, built on the link indices netconvert assigned. SUMO runs
in-process through libsumo (no socket), headless, until the network drains.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin_core.errors import SimulationFailed
from twin_core.sim.network import HEADINGS, TrafficNetwork
from twin_core.sim.provenance import Provenance, make_provenance
from twin_core.sim.traffic import SignalPlan, TrafficInputs

_LEFT_OF = {0: 3, 1: 0, 2: 1, 3: 2}
_YELLOW_S = 3.0
_ALL_RED_S = 1.0
_LIBSUMO_LOCK = threading.Lock()  # libsumo holds one simulation per process


def sumo_home() -> Path:
    """SUMO_HOME of the installed eclipse-sumo wheel: the SUMO that libsumo was built with."""
    import sumo

    return Path(sumo.SUMO_HOME)


def _local(urn: str) -> str:
    return urn.rsplit(":", 1)[-1]


@dataclass(frozen=True, eq=False)
class SumoKPIs:
    """Trip-level KPIs from SUMO's tripinfo and summary outputs."""

    plan: str
    mean_delay_s: float  # time loss plus insertion delay, per vehicle
    total_delay_veh_h: float
    mean_waiting_s: float
    mean_halting_veh: float
    max_halting_veh: float
    vehicles_departed: int
    vehicles_arrived: int
    teleports: int
    simulated_s: float
    provenance: Provenance
    wall_s: float = field(default=0.0, compare=False)

    @property
    def sim_s_per_wall_s(self) -> float:
        return self.simulated_s / self.wall_s if self.wall_s > 0 else float("inf")


class SumoScenario:
    """One network and one demand in SUMO; plans are swapped by rewriting the tlLogic file.

    Building the net and the routes once and re-running per plan is what makes ranking a set
    of plans cheap. Files live in `workdir` (a temporary folder unless given).
    """

    def __init__(self, inputs: TrafficInputs, *, seed: int = 0,
                 workdir: str | Path | None = None) -> None:
        self.inputs = inputs
        self.seed = seed
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="qcity-sumo-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.net_file = self._write_net()
        self.route_file, self.vehicles = self._write_routes()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> SumoScenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ network
    def _write_net(self) -> Path:
        net = self.inputs.network
        nodes = ET.Element("nodes")
        for nid, (x, y), sig in zip(net.node_ids, net.node_xy, net.node_signalised,
                                    strict=True):
            ET.SubElement(nodes, "node", id=_local(nid), x=f"{x:.2f}", y=f"{y:.2f}",
                          type="traffic_light" if sig else "priority")
        edges = ET.Element("edges")
        for k, lid in enumerate(net.link_ids):
            ET.SubElement(edges, "edge", id=_local(lid), to=_local(net.node_ids[net.link_to[k]]),
                          numLanes=str(int(net.lanes[k])), speed=f"{net.free_speed_mps[k]:.2f}",
                          priority="2" if net.arterial[k] else "1",
                          **{"from": _local(net.node_ids[net.link_from[k]])})
        nod, edg = self.workdir / "city.nod.xml", self.workdir / "city.edg.xml"
        ET.ElementTree(nodes).write(nod)
        ET.ElementTree(edges).write(edg)
        out = self.workdir / "city.net.xml"
        cmd = [str(sumo_home() / "bin" / "netconvert"), "--node-files", str(nod),
               "--edge-files", str(edg), "-o", str(out), "--no-turnarounds", "true",
               "--offset.disable-normalization", "true", "--tls.default-type", "static",
               "--no-warnings", "true", "--xml-validation", "never"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              env={**os.environ, "SUMO_HOME": str(sumo_home())})
        if done.returncode != 0:
            raise SimulationFailed(f"netconvert failed: {done.stderr.strip()[-400:]}")
        return out

    # ------------------------------------------------------------------ demand
    def _write_routes(self) -> tuple[Path, int]:
        """Vehicles with Poisson departures on entry links and turning-share random walks."""
        net, inputs = self.inputs.network, self.inputs
        rng = np.random.default_rng(self.seed)
        succ, cum = _successors(net)
        entries = np.flatnonzero(inputs.entry_vph > 0)
        counts = rng.poisson(inputs.entry_vph[entries] * inputs.horizon_s / 3600.0)
        start = np.repeat(entries, counts)
        depart = rng.uniform(0.0, inputs.horizon_s, size=len(start))
        order = np.argsort(depart, kind="stable")
        start, depart = start[order], depart[order]
        limit = 4 * int(np.sqrt(net.n_junctions) + 2)
        walk = np.full((len(start), 4 * limit), -1, dtype=int)
        walk[:, 0] = start
        cur = start.copy()
        alive = ~net.is_exit[cur]
        for s in range(1, walk.shape[1]):
            if not alive.any():
                break
            u = rng.random(len(cur))
            choice = (u[:, None] > cum[cur]).sum(axis=1)
            choice = np.where(s >= limit, 0, np.minimum(choice, 2))  # then straight home
            nxt = succ[cur, choice]
            nxt = np.where(nxt < 0, succ[cur, 0], nxt)
            cur = np.where(alive, nxt, cur)
            walk[alive, s] = cur[alive]
            alive &= ~net.is_exit[cur]
        if alive.any():
            raise SimulationFailed("some routes never reached the city boundary")
        names = [_local(lid) for lid in net.link_ids]
        root = ET.Element("routes")
        ET.SubElement(root, "vType", id="car", accel="2.6", decel="4.5", sigma="0.5",
                      length="5", minGap="2.5")
        for v, (t, row) in enumerate(zip(depart, walk, strict=True)):
            veh = ET.SubElement(root, "vehicle", id=f"v{v}", type="car", depart=f"{t:.1f}",
                                departLane="best", departSpeed="max")
            ET.SubElement(veh, "route", edges=" ".join(names[k] for k in row if k >= 0))
        path = self.workdir / "city.rou.xml"
        ET.ElementTree(root).write(path)
        return path, len(start)

    # ------------------------------------------------------------------ signals
    def write_programs(self, plan: SignalPlan) -> Path:
        """The plan as one static tlLogic program per junction (an additional file)."""
        import sumolib

        net = self.inputs.network
        if len(plan.ns_share) != net.n_junctions:
            raise SimulationFailed("plan and network disagree on the number of junctions")
        heading = {_local(lid): int(h) for lid, h in zip(net.link_ids, net.link_heading,
                                                          strict=True)}
        index = {_local(net.node_ids[n]): j for j, n in enumerate(net.junction_nodes)}
        sumo_net = sumolib.net.readNet(str(self.net_file), withPrograms=True)
        g_ns, g_ew = plan.green_s
        root = ET.Element("additional")
        for tls in sumo_net.getTrafficLights():
            j = index[tls.getID()]
            conns = tls.getConnections()
            size = 1 + max(c[2] for c in conns)
            left, is_ns = [False] * size, [False] * size
            for in_lane, out_lane, link_index in conns:
                h_in = heading[in_lane.getEdge().getID()]
                h_out = heading[out_lane.getEdge().getID()]
                is_ns[link_index] = HEADINGS[h_in] in "NS"
                left[link_index] = h_out == _LEFT_OF[h_in]

            def state(green_ns: bool, colour: str, left: list[bool] = left,
                      is_ns: list[bool] = is_ns) -> str:
                return "".join(("g" if turn_left and colour == "G" else colour)
                               if ns == green_ns else "r"
                               for turn_left, ns in zip(left, is_ns, strict=True))

            logic = ET.SubElement(root, "tlLogic", id=tls.getID(), type="static",
                                  programID="qcity", offset=f"{plan.offset_s[j]:.1f}")
            for dur, st in ((g_ns[j], state(True, "G")), (_YELLOW_S, state(True, "y")),
                            (_ALL_RED_S, "r" * size), (g_ew[j], state(False, "G")),
                            (_YELLOW_S, state(False, "y")), (_ALL_RED_S, "r" * size)):
                ET.SubElement(logic, "phase", duration=f"{dur:.1f}", state=st)
        path = self.workdir / f"tls-{plan.name}.add.xml"
        ET.ElementTree(root).write(path)
        return path

    # ------------------------------------------------------------------ run
    def run(self, plan: SignalPlan, *, max_s: float | None = None) -> SumoKPIs:
        """Simulate `plan` until every vehicle arrived (or `max_s`) and read the KPIs."""
        import libsumo

        if abs(plan.lost_time_s - 2 * (_YELLOW_S + _ALL_RED_S)) > 1e-9:
            raise SimulationFailed("SUMO programs use 3 s yellow + 1 s all-red per phase")
        tls = self.write_programs(plan)
        tripinfo = self.workdir / f"trips-{plan.name}.xml"
        summary = self.workdir / f"summary-{plan.name}.xml"
        end = max_s or self.inputs.horizon_s + self.inputs.drain_s + 3600.0
        cmd = ["sumo", "-n", str(self.net_file), "-r", str(self.route_file), "-a", str(tls),
               "--tripinfo-output", str(tripinfo), "--summary-output", str(summary),
               "--tripinfo-output.write-unfinished", "true", "--no-step-log", "true",
               "--no-warnings", "true", "--xml-validation", "never", "--seed", str(self.seed),
               "--time-to-teleport", "300", "--duration-log.disable", "true"]
        started = time.perf_counter()
        with _LIBSUMO_LOCK:
            libsumo.start(cmd)
            try:
                t = 0.0
                while t < end and (t < self.inputs.horizon_s
                                   or libsumo.simulation.getMinExpectedNumber() > 0):
                    t = min(t + 60.0, end)
                    libsumo.simulationStep(t)
                simulated = libsumo.simulation.getTime()
                teleports = int(libsumo.simulation.getStartingTeleportNumber())
            finally:
                libsumo.close()
        wall = time.perf_counter() - started
        return self._read(plan, tripinfo, summary, simulated, teleports, wall)

    def _read(self, plan: SignalPlan, tripinfo: Path, summary: Path, simulated: float,
              teleports: int, wall: float) -> SumoKPIs:
        loss, waits, arrived = [], [], 0
        for _, el in ET.iterparse(tripinfo):
            if el.tag == "tripinfo":
                loss.append(float(el.get("timeLoss", 0)) + float(el.get("departDelay", 0)))
                waits.append(float(el.get("waitingTime", 0)))
                arrived += float(el.get("arrival", -1)) >= 0
                el.clear()
        halting = [float(el.get("halting", 0)) for _, el in ET.iterparse(summary)
                   if el.tag == "step"]
        params = {"plan": plan.name, "vehicles": self.vehicles, "seed": self.seed,
                  "horizon_s": self.inputs.horizon_s}
        return SumoKPIs(
            plan=plan.name, mean_delay_s=float(np.mean(loss)) if loss else 0.0,
            total_delay_veh_h=float(np.sum(loss)) / 3600.0,
            mean_waiting_s=float(np.mean(waits)) if waits else 0.0,
            mean_halting_veh=float(np.mean(halting)) if halting else 0.0,
            max_halting_veh=float(np.max(halting)) if halting else 0.0,
            vehicles_departed=len(loss), vehicles_arrived=int(arrived), teleports=teleports,
            simulated_s=simulated,
            provenance=make_provenance("traffic.sumo", self.seed, params,
                                       ("eclipse-sumo", "libsumo")),
            wall_s=wall)


def _successors(net: TrafficNetwork) -> tuple[np.ndarray, np.ndarray]:
    """(links, 3) successor links (straight first) and cumulative turn probabilities."""
    succ = np.full((net.n_links, 3), -1, dtype=int)
    prob = np.zeros((net.n_links, 3))
    turn = net.turn.tocsr()
    for k in range(net.n_links):
        cols = turn.indices[turn.indptr[k]:turn.indptr[k + 1]]
        vals = turn.data[turn.indptr[k]:turn.indptr[k + 1]]
        straight_first = np.argsort(net.link_heading[cols] != net.link_heading[k], kind="stable")
        succ[k, :len(cols)] = cols[straight_first]
        prob[k, :len(cols)] = vals[straight_first]
    return succ, np.cumsum(prob, axis=1)


def simulate_sumo(inputs: TrafficInputs, plan: SignalPlan, *, seed: int = 0) -> SumoKPIs:
    """One plan in SUMO on a fresh scenario (use SumoScenario to compare several plans)."""
    with SumoScenario(inputs, seed=seed) as scenario:
        return scenario.run(plan)
