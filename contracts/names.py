"""Names people understand <-> the bytes32 ids the contracts store.

On chain a role, data category or purpose is keccak256 of its name: roles are upper-case
names ("AGENCY"), categories dotted names ("energy.household_meter"), purposes W3C Data
Privacy Vocabulary terms ("dpv:ServiceProvision"). `Names` maps both ways; ids it has never
seen come back as hex, so an event about an unknown category is still readable.
"""



from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from eth_utils import keccak

ROLE_NAMES = (
    "GOVERNANCE_ADMIN",
    "AGENCY",
    "ENTERPRISE",
    "RESEARCH_INSTITUTE",
    "CITIZEN",
    "AUDITOR",
    "SENSOR_OPERATOR",
    "AUDIT_RECORDER",
)
ORGANISATION_ROLES = ("AGENCY", "ENTERPRISE", "RESEARCH_INSTITUTE", "SENSOR_OPERATOR")

#: The city's data categories and whether each holds personal data.
DATA_CATEGORIES: Mapping[str, bool] = MappingProxyType(
    {
        "traffic.flow": False,
        "traffic.speed": False,
        "traffic.signal_state": False,
        "parking.occupancy": False,
        "mobility.bike_share": False,
        "mobility.trip": True,
        "air.no2": False,
        "air.pm": False,  # PM10 and PM2.5 (FIWARE AirQualityObserved)
        "air.o3": False,
        "noise.level": False,
        "weather.observed": False,
        "energy.feeder_load": False,
        "energy.pv_generation": False,
        "energy.household_meter": True,
        "water.network_pressure": False,
        "water.household_meter": True,
        "building.occupancy": False,
        "waste.bin_fill": False,
        "citizen.profile": True,
    }
)

#: W3C DPV purpose terms qcity uses (more can be registered at run time).
DPV_PURPOSES = (
    "dpv:ServiceProvision",
    "dpv:ServiceOptimisation",
    "dpv:PublicBenefit",
    "dpv:ResearchAndDevelopment",
    "dpv:AcademicResearch",
    "dpv:CommercialResearch",
    "dpv:NonCommercialResearch",
    "dpv:LegalCompliance",
    "dpv:EnforceSecurity",
    "dpv:Personalisation",
)


class UnknownName(KeyError):
    """A name or id that the registry does not know."""


def term_id(name: str) -> bytes:
    """The on-chain id of a role, category or purpose: keccak256 of its UTF-8 name."""
    if not name:
        raise ValueError("a term name cannot be empty")
    return keccak(text=name)


def role_id(name: str) -> bytes:
    """The id of a registry role (must be one of ROLE_NAMES)."""
    if name not in ROLE_NAMES:
        raise UnknownName(name)
    return term_id(name)


@dataclass
class Names:
    """A two-way registry of category, purpose and role names."""

    categories: dict[str, bool] = field(default_factory=lambda: dict(DATA_CATEGORIES))
    purposes: set[str] = field(default_factory=lambda: set(DPV_PURPOSES))
    _by_id: dict[bytes, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in (*self.categories, *self.purposes, *ROLE_NAMES):
            self._by_id[term_id(name)] = name

    def add_category(self, name: str, *, personal: bool) -> bytes:
        """Register a dotted category name; returns its id."""
        if "." not in name:
            raise ValueError(f"category names are dotted (domain.item): {name!r}")
        self.categories[name] = personal
        return self._remember(name)

    def add_purpose(self, term: str) -> bytes:
        """Register a DPV purpose term (prefixed, e.g. 'dpv:...'); returns its id."""
        if ":" not in term:
            raise ValueError(f"purposes are prefixed vocabulary terms (dpv:...): {term!r}")
        self.purposes.add(term)
        return self._remember(term)

    def _remember(self, name: str) -> bytes:
        tid = term_id(name)
        self._by_id[tid] = name
        return tid

    def category_id(self, name: str) -> bytes:
        """Id of a known category."""
        if name not in self.categories:
            raise UnknownName(name)
        return term_id(name)

    def purpose_id(self, term: str) -> bytes:
        """Id of a known purpose."""
        if term not in self.purposes:
            raise UnknownName(term)
        return term_id(term)

    def name_of(self, tid: bytes) -> str:
        """Name of an id; raises UnknownName for an id never registered."""
        try:
            return self._by_id[bytes(tid)]
        except KeyError:
            raise UnknownName("0x" + bytes(tid).hex()) from None

    def label(self, tid: bytes) -> str:
        """Name of an id, or its hex when unknown (for display and logs)."""
        return self._by_id.get(bytes(tid), "0x" + bytes(tid).hex())

    def is_personal(self, category: str) -> bool:
        """Whether a known category holds personal data."""
        if category not in self.categories:
            raise UnknownName(category)
        return self.categories[category]

    def personal_categories(self) -> Iterable[str]:
        """The categories that only a subject's consent can open."""
        return sorted(name for name, personal in self.categories.items() if personal)


def as_id(value: str | bytes) -> bytes:
    """Accept a name ("traffic.flow") or a 32-byte id (bytes or 0x-hex) and return the id."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise ValueError(f"ids are 32 bytes, got {len(value)}")
        return bytes(value)
    if value.startswith("0x") and len(value) == 66:
        return bytes.fromhex(value[2:])
    return term_id(value)
