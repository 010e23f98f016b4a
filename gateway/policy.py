"""Who may do what: the rules, separate from where the facts come from.

`decide` asks a `Facts` source (the event index, or the chain itself in the naive baseline)
the questions the rules need, in an order that asks as few as possible.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contracts.names import term_id

_term_id = functools.lru_cache(maxsize=4096)(term_id)  # keccak per request adds up


class Action(StrEnum):
    """What a request does to the twin."""

    READ = "read"
    INGEST = "ingest"
    AUDIT = "audit"
    LAUNCH_JOB = "launch_job"


RESEARCH_PURPOSES = frozenset(
    {"dpv:AcademicResearch", "dpv:NonCommercialResearch", "dpv:ResearchAndDevelopment"}
)
"""Purposes for which a research institute reads aggregates by its role alone."""

DATA_USER_ROLES = frozenset({"AGENCY", "ENTERPRISE", "RESEARCH_INSTITUTE", "SENSOR_OPERATOR"})
JOB_ROLES = ("AGENCY", "ENTERPRISE", "RESEARCH_INSTITUTE", "SENSOR_OPERATOR")
"""Roles that may launch a job that reads no twin observations (checked in this order)."""


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """"May `actor` do `action` on `resource` (category, subject, purpose, provider)?"."""

    actor: str
    action: Action
    resource: str
    category: str | None = None
    purpose: str | None = None
    subject: str | None = None
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The rules' answer: allowed or not, and the reason (a grant kind or a denial code)."""

    allowed: bool
    reason: str


class Facts(Protocol):
    """What the rules need to know about the chain, at one block."""

    def has_role(self, account: str, role: str) -> bool: ...

    def consent_live(self, subject: str, grantee: str, category: bytes, purpose: bytes) -> bool: ...

    def agreement_live(self, provider: str, consumer: str, category: bytes,
                       purpose: bytes) -> bool: ...


def decide(request: AccessRequest, facts: Facts, is_personal: Callable[[str], bool]) -> Verdict:
    """Apply qcity's access rules to one request.

    - audit routes need AUDITOR; ingest needs SENSOR_OPERATOR;
    - a job that reads no twin observations (an LP model the caller sends, the static city)
      needs an organisation role; a job's observation inputs follow the read rules below;
    - personal categories open only to the subject or under the subject's live consent for
      this grantee and purpose;
    - aggregates open to agencies, to research institutes for research purposes, to the
      data's own provider, or under a live agreement with the provider.
    """
    actor = request.actor
    if request.action is Action.AUDIT:
        return _role(facts, actor, "AUDITOR")
    if request.action is Action.INGEST:
        return _role(facts, actor, "SENSOR_OPERATOR")
    category, purpose = request.category, request.purpose
    if request.action is Action.LAUNCH_JOB and category is None:
        return _any_role(facts, actor, JOB_ROLES)
    if category is None or purpose is None:
        return Verdict(False, "invalid_request")
    cid, pid = _term_id(category), _term_id(purpose)
    if is_personal(category):
        subject = request.subject
        if subject is None:
            return Verdict(False, "subject_required")
        if subject == actor:
            return Verdict(True, "own_data")
        if facts.consent_live(subject, actor, cid, pid):
            return Verdict(True, "consent")
        return Verdict(False, "consent_missing")
    if facts.has_role(actor, "AGENCY"):
        return Verdict(True, "role:AGENCY")
    if purpose in RESEARCH_PURPOSES and facts.has_role(actor, "RESEARCH_INSTITUTE"):
        return Verdict(True, "role:RESEARCH_INSTITUTE")
    provider = request.provider
    if provider is not None:
        if provider == actor:
            return Verdict(True, "own_data")
        if facts.agreement_live(provider, actor, cid, pid):
            return Verdict(True, "agreement")
    if any(facts.has_role(actor, role) for role in DATA_USER_ROLES):
        return Verdict(False, "agreement_missing")
    return Verdict(False, "role_missing")


def _role(facts: Facts, actor: str, role: str) -> Verdict:
    if facts.has_role(actor, role):
        return Verdict(True, f"role:{role}")
    return Verdict(False, "role_missing")


def _any_role(facts: Facts, actor: str, roles: tuple[str, ...]) -> Verdict:
    for role in roles:
        if facts.has_role(actor, role):
            return Verdict(True, f"role:{role}")
    return Verdict(False, "role_missing")
