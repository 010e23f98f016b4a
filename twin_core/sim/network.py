"""The street grid as arrays: links, their junctions, capacities and turning shares.

Both traffic models and the pollution emissions read this one structure, so the
macroscopic model and SUMO see the same links, lanes, speeds and turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from twin_core.model import City

HEADINGS = ("N", "E", "S", "W")
SAT_FLOW_PER_LANE_VPH = 1800.0
_RIGHT_OF = {0: 1, 1: 2, 2: 3, 3: 0}  # heading index turned clockwise
_LEFT_OF = {0: 3, 1: 0, 2: 1, 3: 2}


@dataclass(frozen=True, eq=False)
class TrafficNetwork:
    """Directed links between nodes; nodes are signalised junctions or boundary nodes.

    `link_junction[l]` is the signalised junction at the downstream end of link l (-1 for
    links that leave the city). `turn[l, m]` is the share of link l's discharge that
    continues on link m; its rows sum to 1 except for exit links, whose rows are empty.
    """

    node_ids: tuple[str, ...]
    node_xy: np.ndarray
    node_signalised: np.ndarray
    junction_nodes: np.ndarray  # node index of each signalised junction, in junction order
    link_ids: tuple[str, ...]
    link_from: np.ndarray
    link_to: np.ndarray
    link_junction: np.ndarray
    link_heading: np.ndarray
    length_m: np.ndarray
    lanes: np.ndarray
    free_speed_mps: np.ndarray
    arterial: np.ndarray
    turn: sparse.csr_matrix

    @property
    def n_links(self) -> int:
        return len(self.link_ids)

    @property
    def n_junctions(self) -> int:
        return len(self.junction_nodes)

    @property
    def junction_ids(self) -> tuple[str, ...]:
        return tuple(self.node_ids[n] for n in self.junction_nodes)

    @property
    def is_entry(self) -> np.ndarray:
        return ~self.node_signalised[self.link_from]

    @property
    def is_exit(self) -> np.ndarray:
        return self.link_junction < 0

    @property
    def sat_flow_vph(self) -> np.ndarray:
        return SAT_FLOW_PER_LANE_VPH * self.lanes

    @property
    def is_ns(self) -> np.ndarray:
        """True for links travelling north or south (served by the N-S phase)."""
        return (self.link_heading == 0) | (self.link_heading == 2)

    def steady_flows_vph(self, entry_vph: np.ndarray) -> np.ndarray:
        """Link flows when demand `entry_vph` is routed by the turning shares (f = e + Tᵀf)."""
        system = sparse.identity(self.n_links, format="csc") - self.turn.T.tocsc()
        return np.asarray(spsolve(system, np.asarray(entry_vph, dtype=float)))

    def approach_vph(self, link_vph: np.ndarray) -> np.ndarray:
        """(junctions, 2) arriving flow: column 0 the N-S approaches, column 1 the E-W ones."""
        out = np.zeros((self.n_junctions, 2))
        inbound = ~self.is_exit
        col = np.where(self.is_ns, 0, 1)
        np.add.at(out, (self.link_junction[inbound], col[inbound]), link_vph[inbound])
        return out


def build_network(city: City) -> TrafficNetwork:
    """The city's streets and junction turning shares as a TrafficNetwork."""
    nodes = list(city.junctions)
    node_index = {j.id: k for k, j in enumerate(nodes)}
    node_xy = city.xy(nodes)
    signalised = np.array([j.signalised for j in nodes])
    junction_nodes = np.flatnonzero(signalised)
    junction_of_node = np.full(len(nodes), -1)
    junction_of_node[junction_nodes] = np.arange(len(junction_nodes))

    segs = city.road_segments
    link_from = np.array([node_index[s.start_id] for s in segs])
    link_to = np.array([node_index[s.end_id] for s in segs])
    heading = np.array([HEADINGS.index(s.heading) for s in segs])
    out_link = {(int(link_from[k]), int(heading[k])): k for k in range(len(segs))}

    rows, cols, vals = [], [], []
    for k in range(len(segs)):
        node = int(link_to[k])
        if not signalised[node]:
            continue
        j = nodes[node]
        h = int(heading[k])
        for target, share in ((h, j.turn_straight), (_LEFT_OF[h], j.turn_left),
                              (_RIGHT_OF[h], j.turn_right)):
            m = out_link.get((node, target))
            if m is not None and share > 0:
                rows.append(k)
                cols.append(m)
                vals.append(share)
    turn = sparse.csr_matrix((vals, (rows, cols)), shape=(len(segs), len(segs)))
    # Shares for movements that do not exist (none on a full grid) are spread back.
    sums = np.asarray(turn.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    turn = sparse.diags(scale) @ turn
    return TrafficNetwork(
        node_ids=tuple(j.id for j in nodes), node_xy=node_xy, node_signalised=signalised,
        junction_nodes=junction_nodes, link_ids=tuple(s.id for s in segs), link_from=link_from,
        link_to=link_to, link_junction=junction_of_node[link_to], link_heading=heading,
        length_m=np.array([s.length_m for s in segs]), lanes=np.array([s.lanes for s in segs]),
        free_speed_mps=np.array([s.max_speed_kmh / 3.6 for s in segs]),
        arterial=np.array([s.arterial for s in segs]), turn=sparse.csr_matrix(turn))
