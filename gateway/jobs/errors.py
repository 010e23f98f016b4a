"""Refusals of the job API, in the gateway's exception tree (one handler maps them all)."""

from __future__ import annotations

from gateway.errors import GatewayError


class JobNotFound(GatewayError):
    """No such job, or not one the caller may see."""

    code = "job_not_found"
    http_status = 404


class JobNotFinished(GatewayError):
    """The job has no result yet: it is still queued or running."""

    code = "job_not_finished"
    http_status = 409


class JobHasNoResult(GatewayError):
    """The job ended without a result (failed or cancelled; partial results are discarded)."""

    code = "job_has_no_result"
    http_status = 409


class JobFinished(GatewayError):
    """The job has already ended, so it can no longer be cancelled."""

    code = "job_finished"
    http_status = 409


class JobsUnavailable(GatewayError):
    """The job engine is not running (the gateway is starting or stopping)."""

    code = "jobs_unavailable"
    http_status = 503


class JobInputUnavailable(GatewayError):
    """The twin cannot provide this job's inputs (no city loaded, unknown feeder, ...)."""

    code = "job_input_unavailable"
    http_status = 422
