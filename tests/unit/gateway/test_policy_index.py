"""The access rules over an event index, without a chain: events in, answers out."""

from __future__ import annotations

import pytest

from contracts import term_id
from contracts.events import (
    AgreementGranted,
    AgreementRevoked,
    CategoryClassified,
    ConsentGranted,
    ConsentRevoked,
    RoleGranted,
    RoleRevoked,
    StakeholderRegistered,
)
from gateway.index import PermissionIndex
from gateway.permissions import _IndexFacts
from gateway.policy import AccessRequest, Action, decide

AGENCY, ENTERPRISE, RESEARCH, CITIZEN, NEIGHBOUR, OPERATOR, AUDITOR = (
    "0x" + f"{i:040x}" for i in range(1, 8)
)
ZERO = "0x" + "00" * 20
HOUSEHOLD, TRAFFIC = "energy.household_meter", "traffic.flow"
SERVICE, PUBLIC = "dpv:ServiceProvision", "dpv:PublicBenefit"
NOW = 1_800_000_000


def where(block: int, log: int = 0) -> dict[str, object]:
    return {"block_number": block, "transaction_index": 0, "log_index": log, "tx_hash": "0x",
            "address": ZERO}


def role(kind, name: str, account: str, block: int):
    return kind(**where(block), role=term_id(name), account=account, sender=ZERO)


def consent(kind, subject: str, grantee: str, category: str, purpose: str, block: int, **extra):
    return kind(**where(block), subject=subject, grantee=grantee, category=term_id(category),
                purpose=term_id(purpose), relayer=ZERO, **extra)


@pytest.fixture
def index() -> PermissionIndex:
    idx = PermissionIndex()
    idx.apply([
        role(RoleGranted, "AGENCY", AGENCY, 1),
        role(RoleGranted, "ENTERPRISE", ENTERPRISE, 1),
        role(RoleGranted, "RESEARCH_INSTITUTE", RESEARCH, 1),
        role(RoleGranted, "CITIZEN", CITIZEN, 1),
        role(RoleGranted, "SENSOR_OPERATOR", OPERATOR, 1),
        role(RoleGranted, "AUDITOR", AUDITOR, 1),
        StakeholderRegistered(**where(1), account=AGENCY, public_key_hash=b"\x01" * 32,
                              display_name="a", sender=ZERO),
        CategoryClassified(**where(2), category=term_id(HOUSEHOLD), personal=True, sender=ZERO),
        consent(ConsentGranted, CITIZEN, ENTERPRISE, HOUSEHOLD, SERVICE, 3, expiry=NOW + 100),
    ], block=3, block_time=NOW)
    return idx


def ask(index: PermissionIndex, actor: str, action: Action = Action.READ, *, now: int = NOW,
        **kw: str | None):
    request = AccessRequest(actor, action, "r", **kw)
    return decide(request, _IndexFacts(index, now), lambda c: index.is_personal(term_id(c)))


def test_index_tracks_roles_keys_and_block(index: PermissionIndex) -> None:
    assert index.block == 3 and index.block_time == NOW
    assert index.roles_of(AGENCY) == {"AGENCY"}
    assert index.key_hashes[AGENCY] == b"\x01" * 32
    index.apply([role(RoleRevoked, "AGENCY", AGENCY, 4)], block=4, block_time=NOW + 12)
    assert index.roles_of(AGENCY) == frozenset() and index.block == 4


def test_personal_read_needs_live_consent_of_this_grantee_and_purpose(index) -> None:
    personal = {"category": HOUSEHOLD, "subject": CITIZEN}
    assert ask(index, ENTERPRISE, purpose=SERVICE, **personal).reason == "consent"
    assert ask(index, ENTERPRISE, purpose=PUBLIC, **personal).reason == "consent_missing"
    assert ask(index, AGENCY, purpose=SERVICE, **personal).reason == "consent_missing"
    assert ask(index, CITIZEN, purpose=SERVICE, **personal).reason == "own_data"
    assert ask(index, ENTERPRISE, purpose=SERVICE, category=HOUSEHOLD,
               subject=None).reason == "subject_required"


def test_consent_expires_and_revocation_wins(index) -> None:
    personal = {"category": HOUSEHOLD, "subject": CITIZEN, "purpose": SERVICE}
    assert not ask(index, ENTERPRISE, now=NOW + 100, **personal).allowed  # expiry is exclusive
    index.apply([consent(ConsentRevoked, CITIZEN, ENTERPRISE, HOUSEHOLD, SERVICE, 5)],
                block=5, block_time=NOW + 1)
    assert ask(index, ENTERPRISE, **personal).reason == "consent_missing"
    index.apply([consent(ConsentGranted, CITIZEN, ENTERPRISE, HOUSEHOLD, SERVICE, 6,
                         expiry=NOW + 500)], block=6, block_time=NOW + 2)
    assert ask(index, ENTERPRISE, **personal).allowed  # the latest event decides


def test_aggregates_by_role_research_purpose_or_agreement(index) -> None:
    traffic = {"category": TRAFFIC, "provider": OPERATOR}
    assert ask(index, AGENCY, purpose=PUBLIC, **traffic).reason == "role:AGENCY"
    assert ask(index, RESEARCH, purpose="dpv:AcademicResearch",
               **traffic).reason == "role:RESEARCH_INSTITUTE"
    assert ask(index, RESEARCH, purpose=PUBLIC, **traffic).reason == "agreement_missing"
    assert ask(index, ENTERPRISE, purpose=PUBLIC, **traffic).reason == "agreement_missing"
    assert ask(index, CITIZEN, purpose=PUBLIC, **traffic).reason == "role_missing"
    assert ask(index, OPERATOR, purpose=PUBLIC, **traffic).reason == "own_data"
    granted = AgreementGranted(**where(7), provider=OPERATOR, consumer=ENTERPRISE,
                               category=term_id(TRAFFIC), purpose=term_id(PUBLIC),
                               expiry=NOW + 50, sender=ZERO)
    index.apply([granted], block=7, block_time=NOW)
    assert ask(index, ENTERPRISE, purpose=PUBLIC, **traffic).reason == "agreement"
    assert ask(index, ENTERPRISE, purpose=SERVICE, **traffic).reason == "agreement_missing"
    assert ask(index, ENTERPRISE, purpose=PUBLIC, category=TRAFFIC,
               provider=None).reason == "agreement_missing"
    revoked = AgreementRevoked(**where(8), provider=OPERATOR, consumer=ENTERPRISE,
                               category=term_id(TRAFFIC), purpose=term_id(PUBLIC), sender=ZERO)
    index.apply([revoked], block=8, block_time=NOW)
    assert ask(index, ENTERPRISE, purpose=PUBLIC, **traffic).reason == "agreement_missing"


def test_audit_and_ingest_need_their_roles(index) -> None:
    assert ask(index, AUDITOR, Action.AUDIT).reason == "role:AUDITOR"
    assert ask(index, AGENCY, Action.AUDIT).reason == "role_missing"
    assert ask(index, OPERATOR, Action.INGEST).reason == "role:SENSOR_OPERATOR"
    assert ask(index, ENTERPRISE, Action.INGEST).reason == "role_missing"


def test_read_without_category_or_purpose_is_invalid(index) -> None:
    assert ask(index, AGENCY, category=TRAFFIC).reason == "invalid_request"


def test_unknown_role_ids_are_ignored(index) -> None:
    stray = RoleGranted(**where(9), role=b"\x07" * 32, account=CITIZEN, sender=ZERO)
    index.apply([stray], block=9, block_time=NOW)
    assert index.roles_of(CITIZEN) == {"CITIZEN"}
