"""StakeholderRegistry: every external function, allowed and refused.

Part of the core suite: tests/integration/contracts runs this module against a Hardhat node.
"""

from __future__ import annotations

import hashlib

import pytest

from contracts import AdminAction, ContractRevert, QcityContracts, deploy, events, role_id, term_id
from contracts import errors as errs

AGENCY = role_id("AGENCY")
ADMIN = role_id("GOVERNANCE_ADMIN")
KEY_HASH = hashlib.sha256(b"\x01" * 1952).digest()  # sha256 of a (fake) ML-DSA-65 public key


def expect(exc: pytest.ExceptionInfo[ContractRevert], **facts: object) -> None:
    """Assert the decoded custom error carries these facts."""
    for name, value in facts.items():
        assert exc.value.facts[name] == value, (name, exc.value.facts)


# ---------------------------------------------------------------- ordinary roles


def test_grant_role_adds_member_and_emits_role_granted(qc: QcityContracts, actors) -> None:
    reg, who = qc.registry, actors.outsider.address
    assert not reg.has_role("AUDITOR", who)
    result = reg.grant_role(actors.admin, "AUDITOR", who)
    assert reg.has_role("AUDITOR", who)
    assert who in reg.role_members("AUDITOR")
    granted = result.event(events.RoleGranted)
    assert (granted.role, granted.account, granted.sender) == (
        role_id("AUDITOR"),
        who,
        actors.admin.address,
    )


def test_granting_a_held_role_again_changes_nothing(qc: QcityContracts, actors) -> None:
    before = qc.registry.role_member_count("AGENCY")
    result = qc.registry.grant_role(actors.admin, "AGENCY", actors.org_a.address)
    assert result.events == ()
    assert qc.registry.role_member_count("AGENCY") == before


def test_revoke_role_removes_member_and_keeps_the_others(qc: QcityContracts, actors) -> None:
    reg = qc.registry
    trio = [actors.outsider.address, actors.relayer.address, actors.citizen.address]
    for who in trio:
        reg.grant_role(actors.admin, "SENSOR_OPERATOR", who)
    result = reg.revoke_role(actors.admin, "SENSOR_OPERATOR", trio[0])
    assert result.event(events.RoleRevoked).account == trio[0]
    assert sorted(reg.role_members("SENSOR_OPERATOR")) == sorted(trio[1:])
    assert not reg.has_role("SENSOR_OPERATOR", trio[0])
    assert reg.revoke_role(actors.admin, "SENSOR_OPERATOR", trio[0]).events == ()


@pytest.mark.parametrize("method", ["grant_role", "revoke_role"])
def test_role_changes_by_a_non_admin_revert_account_missing_role(
    qc: QcityContracts, actors, method: str
) -> None:
    with pytest.raises(errs.AccountMissingRole) as exc:
        getattr(qc.registry, method)(actors.org_a, "CITIZEN", actors.outsider.address)
    expect(exc, account=actors.org_a.address, role=ADMIN)
    assert exc.value.code == "account_missing_role" and exc.value.http_status == 403


@pytest.mark.parametrize("method", ["grant_role", "revoke_role"])
def test_governance_admin_cannot_change_without_quorum(qc: QcityContracts, actors, method) -> None:
    with pytest.raises(errs.RoleNeedsQuorum) as exc:
        getattr(qc.registry, method)(actors.admin, "GOVERNANCE_ADMIN", actors.admin2.address)
    expect(exc, role=ADMIN)


def test_unknown_role_reverts(qc: QcityContracts, actors) -> None:
    with pytest.raises(errs.UnknownRole) as exc:
        qc.registry.grant_role(actors.admin, "MAYOR", actors.outsider.address)
    expect(exc, role=term_id("MAYOR"))


def test_granting_a_role_to_the_zero_address_reverts(qc: QcityContracts, actors) -> None:
    with pytest.raises(errs.ZeroAddress):
        qc.registry.grant_role(actors.admin, "AGENCY", "0x" + "00" * 20)


def test_is_organisation_covers_exactly_the_organisation_roles(qc: QcityContracts, actors) -> None:
    reg = qc.registry
    assert reg.is_organisation(actors.org_a.address)  # AGENCY
    assert reg.is_organisation(actors.org_b.address)  # ENTERPRISE
    assert not reg.is_organisation(actors.citizen.address)
    reg.grant_role(actors.admin, "RESEARCH_INSTITUTE", actors.outsider.address)
    assert reg.is_organisation(actors.outsider.address)
    reg.grant_role(actors.admin, "AUDITOR", actors.relayer.address)
    assert not reg.is_organisation(actors.relayer.address)


def test_role_constants_match_the_python_role_ids(qc: QcityContracts) -> None:
    for name in ("GOVERNANCE_ADMIN", "AGENCY", "CITIZEN", "AUDIT_RECORDER"):
        assert qc.registry.role_constant(name) == role_id(name)
    assert qc.registry.proposal_lifetime() == 7 * 24 * 3600


# ---------------------------------------------------------------- stakeholders


def test_register_stakeholder_binds_key_hash_and_name(qc: QcityContracts, actors) -> None:
    who = actors.org_a.address
    assert not qc.registry.stakeholder(who).registered
    result = qc.registry.register_stakeholder(actors.admin, who, KEY_HASH, "City Energy")
    got = qc.registry.stakeholder(who)
    assert (got.public_key_hash, got.display_name) == (KEY_HASH, "City Energy")
    event = result.event(events.StakeholderRegistered)
    assert (event.account, event.public_key_hash, event.display_name) == (
        who,
        KEY_HASH,
        "City Energy",
    )


def test_register_stakeholder_refusals(qc: QcityContracts, actors) -> None:
    reg = qc.registry
    with pytest.raises(errs.AccountMissingRole):
        reg.register_stakeholder(actors.org_a, actors.org_a.address, KEY_HASH, "me")
    with pytest.raises(errs.EmptyPublicKeyHash) as exc:
        reg.register_stakeholder(actors.admin, actors.org_a.address, bytes(32), "x")
    expect(exc, account=actors.org_a.address)
    with pytest.raises(errs.ZeroAddress):
        reg.register_stakeholder(actors.admin, "0x" + "00" * 20, KEY_HASH, "x")


# ---------------------------------------------------------------- admin quorum


def _proposal_id(result) -> int:
    return result.event(events.AdminChangeProposed).proposal_id


def test_admin_quorum_lets_honest_admins_remove_a_stolen_key(qc: QcityContracts, actors) -> None:
    reg = qc.registry
    # quorum 1: a proposal executes at once
    r = reg.propose_admin_change(actors.admin, AdminAction.GRANT, actors.admin2.address)
    assert r.event(events.AdminChangeExecuted).account == actors.admin2.address
    assert reg.has_role("GOVERNANCE_ADMIN", actors.admin2.address)
    r = reg.propose_admin_change(actors.admin, AdminAction.SET_QUORUM, quorum=2)
    assert r.event(events.AdminQuorumChanged).new_quorum == 2
    assert reg.admin_quorum() == 2
    # quorum 2: one key alone proposes, a second approval executes
    r = reg.propose_admin_change(actors.admin, AdminAction.GRANT, actors.admin3.address)
    pid = _proposal_id(r)
    assert not reg.has_role("GOVERNANCE_ADMIN", actors.admin3.address)
    assert reg.has_approved(pid, actors.admin.address)
    reg.approve_admin_change(actors.admin2, pid)
    assert reg.has_role("GOVERNANCE_ADMIN", actors.admin3.address)
    assert reg.admin_proposal(pid).executed
    # admin3's key is stolen: the thief tries to remove admin, and cannot finish alone
    theft = _proposal_id(
        reg.propose_admin_change(actors.admin3, AdminAction.REVOKE, actors.admin.address)
    )
    with pytest.raises(errs.ProposalAlreadyApproved) as exc:
        reg.approve_admin_change(actors.admin3, theft)
    expect(exc, proposalId=theft, admin=actors.admin3.address)
    assert reg.has_role("GOVERNANCE_ADMIN", actors.admin.address)
    # the honest admins remove the stolen key without the thief's help
    rescue = _proposal_id(
        reg.propose_admin_change(actors.admin, AdminAction.REVOKE, actors.admin3.address)
    )
    reg.approve_admin_change(actors.admin2, rescue)
    assert not reg.has_role("GOVERNANCE_ADMIN", actors.admin3.address)
    assert sorted(reg.role_members("GOVERNANCE_ADMIN")) == sorted(
        [actors.admin.address, actors.admin2.address]
    )
    # the thief's open proposal died with the admin set it was made for
    with pytest.raises(errs.ProposalStale) as exc:
        reg.approve_admin_change(actors.admin2, theft)
    expect(exc, proposalId=theft, currentEpoch=reg.admin_epoch())
    with pytest.raises(errs.AccountMissingRole):
        reg.propose_admin_change(actors.admin3, AdminAction.REVOKE, actors.admin.address)


def test_admin_change_proposals_that_would_break_the_quorum_revert(qc, actors) -> None:
    reg = qc.registry
    with pytest.raises(errs.AdminChangeWithoutEffect):
        reg.propose_admin_change(actors.admin, AdminAction.GRANT, actors.admin.address)
    with pytest.raises(errs.AdminChangeWithoutEffect):
        reg.propose_admin_change(actors.admin, AdminAction.REVOKE, actors.outsider.address)
    with pytest.raises(errs.AdminChangeWithoutEffect):
        reg.propose_admin_change(actors.admin, AdminAction.SET_QUORUM, quorum=1)
    with pytest.raises(errs.InvalidQuorum) as exc:
        reg.propose_admin_change(actors.admin, AdminAction.SET_QUORUM, quorum=2)
    expect(exc, quorum=2, adminCount=1)
    with pytest.raises(errs.InvalidQuorum) as exc:
        reg.propose_admin_change(actors.admin, AdminAction.REVOKE, actors.admin.address)
    expect(exc, quorum=1, adminCount=0)
    with pytest.raises(errs.ZeroAddress):
        reg.propose_admin_change(actors.admin, AdminAction.GRANT, None)
    with pytest.raises(errs.AccountMissingRole):
        reg.propose_admin_change(actors.outsider, AdminAction.GRANT, actors.outsider.address)


def test_approve_admin_change_refusals(qc: QcityContracts, chain, actors) -> None:
    reg = qc.registry
    with pytest.raises(errs.ProposalNotFound) as exc:
        reg.approve_admin_change(actors.admin, 99)
    expect(exc, proposalId=99)
    done = _proposal_id(
        reg.propose_admin_change(actors.admin, AdminAction.GRANT, actors.admin2.address)
    )
    with pytest.raises(errs.ProposalAlreadyExecuted):
        reg.approve_admin_change(actors.admin2, done)
    reg.propose_admin_change(actors.admin, AdminAction.SET_QUORUM, quorum=2)
    pending = _proposal_id(
        reg.propose_admin_change(actors.admin, AdminAction.GRANT, actors.admin3.address)
    )
    with pytest.raises(errs.AccountMissingRole):
        reg.approve_admin_change(actors.outsider, pending)
    expires_at = reg.admin_proposal(pending).expires_at
    chain.time_travel(expires_at)
    with pytest.raises(errs.ProposalExpired) as exc:
        reg.approve_admin_change(actors.admin2, pending)
    expect(exc, proposalId=pending, expiredAt=expires_at)
    assert not reg.has_role("GOVERNANCE_ADMIN", actors.admin3.address)


@pytest.mark.parametrize(
    ("admins", "quorum", "error"),
    [
        ([], 1, errs.InvalidQuorum),
        (["self"], 0, errs.InvalidQuorum),
        (["self"], 2, errs.InvalidQuorum),
        (["zero"], 1, errs.ZeroAddress),
    ],
)
def test_registry_constructor_refuses_impossible_setups(chain, actors, admins, quorum, error):
    named = {"self": actors.admin.address, "zero": "0x" + "00" * 20}
    with pytest.raises(error):
        deploy(chain, actors.admin, admins=[named[a] for a in admins], quorum=quorum)
