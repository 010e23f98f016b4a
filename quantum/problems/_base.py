"""Shared pieces of the problem builders: frozen input models and the built-problem shape."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict
from qiskit_optimization import QuadraticProgram

PlanT = TypeVar("PlanT", bound=BaseModel)


class InputModel(BaseModel):
    """Base of the builders' inputs: immutable, strict about unknown fields, JSON round-trips."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BuiltProblem(ABC, Generic[PlanT]):
    """A constrained model built from twin-like inputs, and how to read its solutions back.

    ``program`` is the constrained model (constraints explicit, not yet penalised): solvers
    choose how to treat the constraints (QUBO penalties, MILP rows, repair).
    """

    kind: str = "generic"

    def __init__(self, program: QuadraticProgram) -> None:
        self.program = program

    @abstractmethod
    def decode(self, x: np.ndarray) -> PlanT:
        """Turn a solution vector of ``program`` into a plan the twin understands."""

    @abstractmethod
    def status_quo(self) -> np.ndarray:
        """The solution vector of what the city does today, for the KPI change."""


def lp_name(prefix: str, *parts: int) -> str:
    """A variable name that LP files accept (letters, digits, underscores)."""
    return "_".join([re.sub(r"[^A-Za-z0-9_]", "_", prefix), *map(str, parts)])
