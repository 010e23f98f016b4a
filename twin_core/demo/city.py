"""A seeded synthetic city: street grid with arterials, signals, sensors, feeders, emergency assets.

Deterministic for a seed (one numpy Generator drives every random choice, in a fixed order),
and sized by a config so that tests build a 16-signal town in milliseconds while the demo
builds a 144-signal city. Nothing here is random at import time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from twin_core.geo import LocalFrame
from twin_core.model import (
    Alert,
    Building,
    City,
    CityMeta,
    Depot,
    Device,
    District,
    Feeder,
    Junction,
    RoadSegment,
    Shelter,
    Substation,
    Vehicle,
)

_HEADINGS = {(1, 0): "E", (-1, 0): "W", (0, 1): "N", (0, -1): "S"}
ISSUED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z: demo alerts are issued at a fixed instant


@dataclass(frozen=True)
class DemoCityConfig:
    """Size and shape of the synthetic city."""

    seed: int = 7
    nx: int = 12
    ny: int = 12
    block_m: float = 250.0
    arterial_every: int = 4
    district_junctions: int = 4
    feeders_per_substation: int = 3
    households_per_feeder: int = 12
    air_stations_per_district: int = 2
    internal_sensor_share: float = 0.5
    name: str = "demo"
    origin_lon: float = 11.40
    origin_lat: float = 47.90

    def __post_init__(self) -> None:
        if not (2 <= self.nx <= 30 and 2 <= self.ny <= 30):
            raise ValueError("nx and ny must be between 2 and 30")
        if self.nx * self.ny > 500:
            raise ValueError("at most 500 signalised intersections")

    @classmethod
    def tiny(cls, seed: int = 7) -> DemoCityConfig:
        """16 signals, 4 districts: for unit tests."""
        return cls(seed=seed, nx=4, ny=4, district_junctions=2, feeders_per_substation=2,
                   households_per_feeder=6, air_stations_per_district=1, name="tiny")

    @classmethod
    def small(cls, seed: int = 7) -> DemoCityConfig:
        """64 signals: the smallest city in the issue's 50-500 range."""
        return cls(seed=seed, nx=8, ny=8, name="small")

    @classmethod
    def mid(cls, seed: int = 7) -> DemoCityConfig:
        """144 signals, 9 districts, a few hundred sensors: the demo's city."""
        return cls(seed=seed, name="mid")

    @classmethod
    def large(cls, seed: int = 7) -> DemoCityConfig:
        """484 signals: the top of the range."""
        return replace(cls(seed=seed), nx=22, ny=22, name="large")

    @classmethod
    def preset(cls, name: str, seed: int = 7) -> DemoCityConfig:
        presets = {"tiny": cls.tiny, "small": cls.small, "mid": cls.mid, "large": cls.large}
        if name not in presets:
            raise ValueError(f"unknown city size {name!r}; choose from {sorted(presets)}")
        return presets[name](seed)


def placeholder_subject(seed: int, household: str) -> str:
    """A deterministic stand-in Ethereum address for a demo household's resident.

    Derived by hashing, so it is stable across runs and obviously not a real key; the
    demo later re-links these to the addresses of registered citizens.
    """
    digest = hashlib.sha256(f"qcity-demo-subject:{seed}:{household}".encode()).hexdigest()
    return "0x" + digest[:40]


def _urn(kind: str, city: str, local: str) -> str:
    return f"urn:ngsi-ld:{kind}:{city}:{local}"


class _Builder:
    """Holds the generator state while the city is assembled (one use, then discarded)."""

    def __init__(self, cfg: DemoCityConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        margin = cfg.block_m
        self.width = (cfg.nx - 1) * cfg.block_m + 2 * margin
        self.height = (cfg.ny - 1) * cfg.block_m + 2 * margin
        self.frame = LocalFrame(cfg.origin_lon, cfg.origin_lat)
        self.margin = margin
        self.pk = 0
        self.district_list: list[District] = []
        self.dxs = self.dys = np.zeros(0)

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self.frame.to_lonlat(x, y)
        return round(float(lon), 7), round(float(lat), 7)

    def urn(self, kind: str, local: str) -> str:
        return _urn(kind, self.cfg.name, local)

    # ------------------------------------------------------------------ districts
    def districts(self) -> list[District]:
        cfg = self.cfg
        dcols = max(1, int(np.ceil(cfg.nx / cfg.district_junctions)))
        drows = max(1, int(np.ceil(cfg.ny / cfg.district_junctions)))
        xs = np.linspace(0.0, self.width, dcols + 1)
        ys = np.linspace(0.0, self.height, drows + 1)
        out = []
        for r in range(drows):
            for c in range(dcols):
                lon0, lat0 = self.lonlat(xs[c], ys[r])
                lon1, lat1 = self.lonlat(xs[c + 1], ys[r + 1])
                out.append(District(
                    id=self.urn("District", f"D{r:02d}{c:02d}"),
                    name=f"District {r * dcols + c + 1}",
                    lon_min=lon0, lat_min=lat0, lon_max=lon1, lat_max=lat1,
                    population=int(self.rng.integers(3_000, 12_000))))
        self.district_list, self.dxs, self.dys = out, xs, ys
        return out

    def district_at(self, x: float, y: float) -> str:
        c = min(int(np.searchsorted(self.dxs, x, side="right")) - 1, len(self.dxs) - 2)
        r = min(int(np.searchsorted(self.dys, y, side="right")) - 1, len(self.dys) - 2)
        return self.district_list[max(r, 0) * (len(self.dxs) - 1) + max(c, 0)].id

    # ------------------------------------------------------------------ streets
    def streets(self) -> tuple[list[Junction], list[RoadSegment]]:
        cfg = self.cfg
        nodes: dict[tuple[int, int], tuple[str, float, float, bool]] = {}
        for i in range(cfg.nx):
            for j in range(cfg.ny):
                x, y = self.margin + i * cfg.block_m, self.margin + j * cfg.block_m
                nodes[(i, j)] = (self.urn("Junction", f"J{i:02d}{j:02d}"), x, y, True)
        edge = 0.6 * cfg.block_m
        for j in range(cfg.ny):
            y = self.margin + j * cfg.block_m
            nodes[(-1, j)] = (self.urn("Junction", f"BW{j:02d}"), self.margin - edge, y, False)
            nodes[(cfg.nx, j)] = (self.urn("Junction", f"BE{j:02d}"),
                                  self.margin + (cfg.nx - 1) * cfg.block_m + edge, y, False)
        for i in range(cfg.nx):
            x = self.margin + i * cfg.block_m
            nodes[(i, -1)] = (self.urn("Junction", f"BS{i:02d}"), x, self.margin - edge, False)
            nodes[(i, cfg.ny)] = (self.urn("Junction", f"BN{i:02d}"), x,
                                  self.margin + (cfg.ny - 1) * cfg.block_m + edge, False)
        junctions = []
        for (i, j), (jid, x, y, sig) in sorted(nodes.items(), key=lambda kv: kv[1][0]):
            lon, lat = self.lonlat(x, y)
            straight = float(self.rng.uniform(0.7, 0.85)) if sig else 1.0
            left = round((1.0 - straight) * 0.4, 4) if sig else 0.0
            right = round(1.0 - round(straight, 4) - left, 4) if sig else 0.0
            junctions.append(Junction(
                id=jid, name=f"Junction {i},{j}" if sig else f"Boundary {i},{j}", lon=lon,
                lat=lat, signalised=sig, district_id=self.district_at(x, y) if sig else None,
                turn_left=left, turn_straight=round(straight, 4) if sig else 1.0,
                turn_right=right))
        segments = []
        for (i, j), (aid, ax, ay, _a_sig) in sorted(nodes.items(), key=lambda kv: kv[1][0]):
            for (di, dj), heading in _HEADINGS.items():
                b = (i + di, j + dj)
                if b not in nodes:
                    continue
                bid, bx, by, _b_sig = nodes[b]
                if not (0 <= i < cfg.nx and 0 <= j < cfg.ny) and not (
                        0 <= b[0] < cfg.nx and 0 <= b[1] < cfg.ny):
                    continue
                arterial = self.is_arterial(heading, i if heading in "NS" else j)
                lon0, lat0 = self.lonlat(ax, ay)
                lon1, lat1 = self.lonlat(bx, by)
                local = f"{aid.rsplit(':', 1)[1]}-{bid.rsplit(':', 1)[1]}"
                segments.append(RoadSegment(
                    id=self.urn("RoadSegment", local), name=f"Segment {local}", start_id=aid,
                    end_id=bid, lon0=lon0, lat0=lat0, lon1=lon1, lat1=lat1, heading=heading,
                    length_m=float(np.hypot(bx - ax, by - ay)), lanes=2 if arterial else 1,
                    max_speed_kmh=50.0 if arterial else 40.0, arterial=arterial,
                    district_id=self.district_at((ax + bx) / 2, (ay + by) / 2)))
        return junctions, segments

    def is_arterial(self, heading: str, line: int) -> bool:
        """N/S streets are columns, E/W streets rows; every k-th one (from 1) is an arterial."""
        k = self.cfg.arterial_every
        return line % k == 1 % k

    # ------------------------------------------------------------------ sensors
    def traffic_devices(self, segments: list[RoadSegment], junctions: list[Junction],
                        ) -> list[Device]:
        """A detector on every entry link (demand must be observable) and on some arterials."""
        signal = {j.id for j in junctions if j.signalised}
        out = []
        for seg in segments:
            entry = seg.start_id not in signal and seg.end_id in signal
            internal = seg.start_id in signal and seg.end_id in signal and seg.arterial
            pick = self.rng.random() < self.cfg.internal_sensor_share
            if not (entry or (internal and pick)):
                continue
            local = seg.id.rsplit(":", 1)[1]
            # 40 m before the stop line, where loop detectors sit
            lon = seg.lon1 + (seg.lon0 - seg.lon1) * 40.0 / seg.length_m
            lat = seg.lat1 + (seg.lat0 - seg.lat1) * 40.0 / seg.length_m
            out.append(self.device("traffic.flow", "TrafficFlowObserved", f"TD-{local}",
                                   round(lon, 7), round(lat, 7), seg.id))
        return out

    def device(self, cat: str, observed_type: str, local: str, lon: float, lat: float,
               asset: str | None, subject: str | None = None) -> Device:
        self.pk += 1
        x, y = self.frame.to_xy(lon, lat)
        return Device(pk=self.pk, id=self.urn("Device", local), name=local, category=cat,
                      observed_id=self.urn(observed_type, local), observed_type=observed_type,
                      lon=lon, lat=lat, district_id=self.district_at(float(x), float(y)),
                      ref_asset=asset, data_subject=subject)

    def air_devices(self, districts: list[District]) -> list[Device]:
        out = []
        n = len(districts) * self.cfg.air_stations_per_district
        for k in range(n):
            x = float(self.rng.uniform(0.1, 0.9) * self.width)
            y = float(self.rng.uniform(0.1, 0.9) * self.height)
            lon, lat = self.lonlat(x, y)
            out.append(self.device("air.no2", "AirQualityObserved", f"AQ{k:02d}-no2", lon, lat,
                                   None))
            out.append(self.device("air.pm", "AirQualityObserved", f"AQ{k:02d}-pm", lon, lat,
                                   None))
        return out

    # ------------------------------------------------------------------ energy
    def grid(self, districts: list[District]) -> tuple[list, list, list, list[Device]]:
        cfg = self.cfg
        subs, feeders, buildings, devices = [], [], [], []
        for k, d in enumerate(districts):
            x0, y0 = self.frame.to_xy(d.lon_min, d.lat_min)
            x1, y1 = self.frame.to_xy(d.lon_max, d.lat_max)
            sx = float(x0 + (x1 - x0) * self.rng.uniform(0.35, 0.65))
            sy = float(y0 + (y1 - y0) * self.rng.uniform(0.35, 0.65))
            lon, lat = self.lonlat(sx, sy)
            sub = Substation(id=self.urn("Substation", f"S{k:02d}"), name=f"Substation {k + 1}",
                             lon=lon, lat=lat, transformer_kva=400.0, district_id=d.id)
            subs.append(sub)
            reach = 0.45 * min(x1 - x0, y1 - y0)
            for f in range(cfg.feeders_per_substation):
                angle = 2 * np.pi * f / cfg.feeders_per_substation + self.rng.uniform(-0.3, 0.3)
                n = cfg.households_per_feeder
                spacing = reach / n
                sections = min(n, 6)
                fid_local = f"S{k:02d}F{f}"
                flon, flat = self.lonlat(sx + 15 * np.cos(angle), sy + 15 * np.sin(angle))
                feeder = Feeder(id=self.urn("Feeder", fid_local), name=f"Feeder {fid_local}",
                                substation_id=sub.id, lon=flon, lat=flat,
                                cable_type="NAYY 4x150 SE", length_m=round(reach, 1),
                                sections=sections, import_limit_kw=150.0)
                feeders.append(feeder)
                for h in range(n):
                    dist = spacing * (h + 1)
                    hx = sx + dist * np.cos(angle) + self.rng.normal(0, 8)
                    hy = sy + dist * np.sin(angle) + self.rng.normal(0, 8)
                    hlon, hlat = self.lonlat(hx, hy)
                    local = f"{fid_local}H{h:02d}"
                    has_pv = self.rng.random() < 0.4
                    has_bat = has_pv and self.rng.random() < 0.5
                    b = Building(
                        id=self.urn("Building", local), name=f"Household {local}", lon=hlon,
                        lat=hlat, district_id=d.id, feeder_id=feeder.id,
                        section=1 + h * sections // n, occupants=int(self.rng.integers(1, 6)),
                        base_load_kw=round(float(self.rng.uniform(0.35, 0.9)), 3),
                        pv_kw=round(float(self.rng.uniform(3, 8)), 1) if has_pv else 0.0,
                        battery_kwh=10.0 if has_bat else 0.0, battery_kw=4.0 if has_bat else 0.0,
                        flexible_kw=7.0 if self.rng.random() < 0.25 else 0.0)
                    buildings.append(b)
                    subject = placeholder_subject(cfg.seed, local)
                    devices.append(self.device("energy.household_meter",
                                               "ThreePhaseAcMeasurement", f"M-{local}", hlon,
                                               hlat, b.id, subject))
                devices.append(self.device("energy.feeder_load", "ThreePhaseAcMeasurement",
                                           f"FM-{fid_local}", flon, flat, feeder.id))
        return subs, feeders, buildings, devices

    # ------------------------------------------------------------------ emergency
    def emergency(self, junctions: list[Junction], districts: list[District],
                  ) -> tuple[list[Depot], list[Vehicle], list[Shelter], list[Alert]]:
        from twin_core.demo.terrain import river_y

        signal = [j for j in junctions if j.signalised]
        n_depots = max(2, len(districts) // 2)
        picks = self.rng.choice(len(signal), size=n_depots + len(districts), replace=False)
        depots, vehicles, shelters = [], [], []
        kinds = ("fire", "ambulance")
        types = {"fire": ("fireTender", 6), "ambulance": ("ambulance", 2)}
        for k in range(n_depots):
            j = signal[int(picks[k])]
            kind = kinds[k % 2]
            depot = Depot(id=self.urn("Depot", f"DP{k}"), name=f"{kind.title()} station {k + 1}",
                          lon=j.lon, lat=j.lat, kind=kind)
            depots.append(depot)
            vtype, cap = types[kind]
            for v in range(int(self.rng.integers(2, 5))):
                vehicles.append(Vehicle(id=self.urn("Vehicle", f"DP{k}V{v}"),
                                        name=f"{vtype} {k}.{v}", depot_id=depot.id,
                                        vehicle_type=vtype, capacity_people=cap))
        for k in range(len(districts)):
            j = signal[int(picks[n_depots + k])]
            shelters.append(Shelter(id=self.urn("Shelter", f"SH{k}"), name=f"Shelter {k + 1}",
                                    lon=j.lon, lat=j.lat,
                                    capacity=int(self.rng.integers(150, 600))))
        alerts = []
        for k, frac in enumerate((0.3, 0.7)):
            x = frac * self.width
            y = float(river_y(self.cfg.seed, self.width, self.height, np.array([x]))[0])
            lon, lat = self.lonlat(x, y)
            alerts.append(Alert(
                id=self.urn("Alert", f"FL{k}"), name=f"River breach {k + 1}", category="weather",
                sub_category="flood", severity=int(self.rng.integers(3, 6)), lon=lon, lat=lat,
                date_issued=ISSUED_AT, inflow_m3s=round(float(self.rng.uniform(6, 14)), 1),
                duration_s=3 * 3600.0))
        return depots, vehicles, shelters, alerts


def generate_city(config: DemoCityConfig | None = None) -> City:
    """Build the synthetic city for `config` (the mid-size demo city by default)."""
    cfg = config or DemoCityConfig.mid()
    b = _Builder(cfg)
    districts = b.districts()
    junctions, segments = b.streets()
    devices = b.traffic_devices(segments, junctions) + b.air_devices(districts)
    subs, feeders, buildings, meters = b.grid(districts)
    depots, vehicles, shelters, alerts = b.emergency(junctions, districts)
    meta = CityMeta(name=cfg.name, seed=cfg.seed, origin_lon=cfg.origin_lon,
                    origin_lat=cfg.origin_lat, width_m=b.width, height_m=b.height,
                    block_m=cfg.block_m)
    def by_id(items: list) -> tuple:
        # The store returns entities in key order; the generator does too, so a city loaded
        # back compares equal and simulations see links in the same order.
        return tuple(sorted(items, key=lambda e: e.id))

    return City(meta=meta, districts=by_id(districts), junctions=by_id(junctions),
                road_segments=by_id(segments),
                devices=tuple(sorted(devices + meters, key=lambda d: d.pk)),
                substations=by_id(subs), feeders=by_id(feeders), buildings=by_id(buildings),
                depots=by_id(depots), vehicles=by_id(vehicles), shelters=by_id(shelters),
                alerts=by_id(alerts))
