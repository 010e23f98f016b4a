"""The twin's exception tree: one base with a stable `code` and an `http_status`.

The gateway maps anything carrying these two attributes to a JSON error body in one
handler, so the twin never needs to know about HTTP beyond naming a status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TwinError(Exception):
    """Base of every twin error; `code` is stable and machine-readable."""

    code: ClassVar[str] = "twin_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str | None = None, **facts: Any) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip().splitlines()[0])
        self.message = str(self.args[0])
        self.facts = facts


class EntityNotFound(TwinError):
    """No entity with this id exists in the twin."""

    code = "entity_not_found"
    http_status = 404


class UnknownCategory(TwinError):
    """The data category is not one the twin knows."""

    code = "unknown_category"
    http_status = 422


class InvalidAddress(TwinError):
    """A data subject address is not a 0x-prefixed 20-byte hex string."""

    code = "invalid_address"
    http_status = 422


class SubjectNotApplicable(TwinError):
    """The entity carries no personal data category, so it has no data subject."""

    code = "subject_not_applicable"
    http_status = 422


class NgsiFormatError(TwinError):
    """An NGSI-LD document does not have the shape this twin reads."""

    code = "ngsi_invalid"
    http_status = 422


class IngestRejected(TwinError):
    """An atomic ingest was refused because at least one item was invalid."""

    code = "ingest_rejected"
    http_status = 422


class InvalidPlan(TwinError):
    """A simulation plan does not fit the twin state it is applied to."""

    code = "invalid_plan"
    http_status = 422


class InsufficientHistory(TwinError):
    """A series is too short to fit and score a forecast."""

    code = "insufficient_history"
    http_status = 422


class SimulationFailed(TwinError):
    """A reference engine (SUMO, pandapower) did not produce a result."""

    code = "simulation_failed"
    http_status = 500


class StoreUnavailable(TwinError):
    """The twin's database cannot be reached or opened."""

    code = "store_unavailable"
    http_status = 503
