"""Where a simulation result came from: model, seed, parameters, library versions.

Every result carries one, so a KPI in a report can be reproduced (same seed, same
parameters, same engines) or explained when an engine upgrade moves it.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from typing import Any


@dataclass(frozen=True)
class Provenance:
    """The facts needed to reproduce a result."""

    model: str
    seed: int
    parameters: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)


@cache
def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def make_provenance(model: str, seed: int, parameters: Mapping[str, Any],
                    engines: tuple[str, ...] = ()) -> Provenance:
    """Provenance naming the twin, numpy and the given engine distributions."""
    versions = {"python": platform.python_version(), "qcity": _version("qcity"),
                "numpy": _version("numpy")}
    versions.update({name: _version(name) for name in engines})
    return Provenance(model=model, seed=int(seed), parameters=dict(parameters),
                      versions=versions)
