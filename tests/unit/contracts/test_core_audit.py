"""AuditTrail and the event reader: anchoring, proofs, and rebuilding state from logs alone.

Part of the core suite: tests/integration/contracts runs this module against a Hardhat node.
"""

from __future__ import annotations

import pytest

from contracts import MerkleTree, QcityContracts, encode_entry, events, leaf_hash, merkle, term_id
from contracts import errors as errs

NOW = 1_800_000_000


def _entries(n: int, salt: int = 0) -> list[bytes]:
    return [
        encode_entry(["uint64", "uint256", "bool"], [NOW + i, salt, i % 2 == 0]) for i in range(n)
    ]


def test_batches_chain_by_previous_root(qc: QcityContracts, actors):
    trail, rec = qc.audit, actors.recorder
    first, second = MerkleTree.from_entries(_entries(3)), MerkleTree.from_entries(_entries(5, 1))
    assert trail.next_sequence() == 1
    r1 = trail.anchor_batch(rec, 1, first.root, 3, NOW, NOW + 2)
    r2 = trail.anchor_tree(rec, second, NOW + 3, NOW + 7)
    b1, b2 = r1.event(events.BatchAnchored), r2.event(events.BatchAnchored)
    assert (b1.sequence, b1.root, b1.previous_root, b1.entry_count) == (1, first.root, bytes(32), 3)
    assert (b1.first_decision_at, b1.last_decision_at, b1.recorder) == (NOW, NOW + 2, rec.address)
    assert (b2.sequence, b2.previous_root, b2.entry_count) == (2, first.root, 5)
    assert trail.next_sequence() == 3
    assert trail.total_entries() == 8
    assert (trail.batch_root(1), trail.batch_root(2), trail.batch_root(3)) == (
        first.root,
        second.root,
        bytes(32),
    )


def test_anchor_batch_refusals(qc: QcityContracts, actors):
    trail, rec = qc.audit, actors.recorder
    root = MerkleTree.from_entries(_entries(2)).root
    with pytest.raises(errs.AccountMissingRole) as exc:
        trail.anchor_batch(actors.admin, 1, root, 2, NOW, NOW)
    assert exc.value.facts == {"account": actors.admin.address, "role": term_id("AUDIT_RECORDER")}
    with pytest.raises(errs.SequenceMismatch) as exc:
        trail.anchor_batch(rec, 2, root, 2, NOW, NOW)
    assert exc.value.facts == {"expected": 1, "given": 2}
    with pytest.raises(errs.EmptyRoot):
        trail.anchor_batch(rec, 1, bytes(32), 2, NOW, NOW)
    with pytest.raises(errs.EmptyBatch):
        trail.anchor_batch(rec, 1, root, 0, NOW, NOW)
    with pytest.raises(errs.InvalidWindow) as exc:
        trail.anchor_batch(rec, 1, root, 2, NOW + 1, NOW)
    assert exc.value.facts == {"firstDecisionAt": NOW + 1, "lastDecisionAt": NOW}
    trail.anchor_batch(rec, 1, root, 2, NOW, NOW)
    with pytest.raises(errs.SequenceMismatch):  # a retried anchor never duplicates
        trail.anchor_batch(rec, 1, root, 2, NOW, NOW)
    assert trail.next_sequence() == 2


def test_a_revoked_recorder_can_no_longer_anchor(qc: QcityContracts, actors):
    qc.registry.revoke_role(actors.admin, "AUDIT_RECORDER", actors.recorder.address)
    with pytest.raises(errs.AccountMissingRole):
        qc.audit.anchor_batch(actors.recorder, 1, b"\x01" * 32, 1, NOW, NOW)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_contract_and_python_agree_on_every_proof(qc: QcityContracts, actors, size: int):
    tree = MerkleTree.from_entries(_entries(size, size))
    qc.audit.anchor_tree(actors.recorder, tree, NOW, NOW + size)
    for i in range(size):
        proof = tree.proof(i)
        assert merkle.verify_inclusion(tree.root, tree.leaves[i], proof)
        assert qc.audit.verify_inclusion(tree.root, tree.leaves[i], proof)
        assert qc.audit.verify_batch_inclusion(1, tree.leaves[i], proof)
    outsider = leaf_hash(b"not in the batch")
    assert not qc.audit.verify_batch_inclusion(1, outsider, tree.proof(0))
    assert not qc.audit.verify_batch_inclusion(2, tree.leaves[0], tree.proof(0))


def test_record_decision_once_per_leaf(qc: QcityContracts, actors):
    trail, rec = qc.audit, actors.recorder
    leaf = leaf_hash(b"allow org_a energy.household_meter")
    assert trail.decision_recorded_at(leaf) == 0
    result = trail.record_decision(
        rec, leaf, actors.org_a.address, "energy.household_meter", "dpv:ServiceProvision", True, NOW
    )
    event = result.event(events.DecisionRecorded)
    assert (event.leaf, event.requester, event.allowed, event.decided_at, event.recorder) == (
        leaf,
        actors.org_a.address,
        True,
        NOW,
        rec.address,
    )
    recorded_at = trail.decision_recorded_at(leaf)
    assert recorded_at > 0
    with pytest.raises(errs.DecisionAlreadyRecorded) as exc:
        trail.record_decision(
            rec, leaf, actors.org_a.address, "air.no2", "dpv:PublicBenefit", 1, NOW
        )
    assert exc.value.facts == {"leaf": leaf, "recordedAt": recorded_at}
    with pytest.raises(errs.EmptyLeaf):
        trail.record_decision(
            rec, bytes(32), actors.org_a.address, "air.no2", "dpv:PublicBenefit", 1, NOW
        )
    with pytest.raises(errs.AccountMissingRole):
        trail.record_decision(
            actors.org_a,
            leaf_hash(b"x"),
            actors.org_a.address,
            "air.no2",
            "dpv:PublicBenefit",
            1,
            NOW,
        )
    assert qc.audit.registry_address() == qc.registry.address


def test_an_auditor_rebuilds_consents_and_batches_from_events_alone(
    qc: QcityContracts, chain, actors
):
    ledger, now = qc.consent, chain.timestamp()
    start = chain.block_number() + 1
    subjects, grantees = [actors.citizen, actors.citizen2], [actors.org_a, actors.org_b]
    for s in subjects:
        for g in grantees:
            ledger.grant_consent(s, g.address, "mobility.trip", "dpv:AcademicResearch", now + 5000)
    ledger.revoke_consent(
        actors.citizen, actors.org_b.address, "mobility.trip", "dpv:AcademicResearch"
    )
    signed = ledger.sign_grant(
        actors.citizen2,
        actors.org_a.address,
        "mobility.trip",
        "dpv:AcademicResearch",
        now + 9000,
        now + 600,
    )
    ledger.grant_consent_by_sig(actors.relayer, signed)
    tree = MerkleTree.from_entries(_entries(4))
    qc.audit.anchor_tree(actors.recorder, tree, NOW, NOW + 3)
    qc.registry.grant_role(actors.admin, "AUDITOR", actors.outsider.address)

    log = qc.events.fetch(start)
    assert [e.order for e in log] == sorted(e.order for e in log)
    rebuilt: dict[tuple, int] = {}
    for e in log:
        if isinstance(e, events.ConsentGranted):
            rebuilt[(e.subject, e.grantee, e.category, e.purpose)] = e.expiry
        elif isinstance(e, events.ConsentRevoked):
            rebuilt[(e.subject, e.grantee, e.category, e.purpose)] = 0
    assert len(rebuilt) == 4
    for (subject, grantee, category, purpose), expiry in rebuilt.items():
        assert ledger.consent_expiry(subject, grantee, category, purpose) == expiry
    relayed = [e for e in log if isinstance(e, events.ConsentGranted) and e.relayed]
    assert [(e.subject, e.relayer) for e in relayed] == [
        (actors.citizen2.address, actors.relayer.address)
    ]
    (batch,) = events.of_kind(log, events.BatchAnchored)
    assert (batch.root, batch.entry_count) == (tree.root, 4)
    (role,) = events.of_kind(log, events.RoleGranted)
    assert role.account == actors.outsider.address
    # a sub-range returns exactly the events of those blocks
    last = log[-1].block_number
    assert qc.events.fetch(last, last) == [e for e in log if e.block_number == last]


def test_gas_targets_hold_whatever_the_batch_size(qc: QcityContracts, chain, actors):
    ledger, org = qc.consent, actors.org_a.address
    grant = ledger.grant_consent(
        actors.citizen,
        org,
        "energy.household_meter",
        "dpv:ServiceProvision",
        chain.timestamp() + 60,
    )
    revoke = ledger.revoke_consent(
        actors.citizen, org, "energy.household_meter", "dpv:ServiceProvision"
    )
    assert grant.gas_used <= 60_000
    assert revoke.gas_used <= 30_000
    anchors = [
        qc.audit.anchor_batch(actors.recorder, seq, leaf_hash(bytes([seq])), count, NOW, NOW + 1)
        for seq, count in ((1, 1), (2, 10_000), (3, 2**32 - 1))
    ]
    assert max(a.gas_used for a in anchors) <= 80_000
    assert max(a.gas_used for a in anchors) - min(a.gas_used for a in anchors) < 100
