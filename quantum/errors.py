"""The quantum package's exception tree.

Every error carries a stable snake_case ``code`` and an ``http_status`` so that the gateway can
map the whole tree to JSON error bodies in one handler, without knowing each class.
"""

from __future__ import annotations


class QuantumError(Exception):
    """Base of every error raised by qcity's optimisation layer."""

    code: str = "quantum_error"
    http_status: int = 500


class InvalidProblem(QuantumError):
    """The problem cannot be modelled or solved as given (bad input, unsupported form)."""

    code = "invalid_problem"
    http_status = 422


class ProblemTooLarge(QuantumError):
    """The problem exceeds what this solver can handle (brute force width, simulator memory)."""

    code = "problem_too_large"
    http_status = 422


class SolverFailed(QuantumError):
    """A solver ended without any usable answer."""

    code = "solver_failed"
    http_status = 500


class Cancelled(QuantumError):
    """The work was cancelled cooperatively; partial results were discarded."""

    code = "job_cancelled"
    http_status = 409


class JobNotFound(QuantumError):
    """No job with this id is known to the runner."""

    code = "job_not_found"
    http_status = 404


class JobConflict(QuantumError):
    """A job with this id already exists, or the job is not in a state that allows the call."""

    code = "job_conflict"
    http_status = 409
