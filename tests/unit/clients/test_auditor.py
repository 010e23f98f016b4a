"""The auditor rebuilds the trail from chain events and catches what the gateway got wrong.

One embedded chain (eth-tester) plays a short story: a company is refused a citizen's meter
data, the citizen grants consent, the company reads, the citizen revokes; the gateway's
decisions are anchored as a Merkle batch. The tests then check honest, tampered, unanchored
and wrongly-allowed decisions.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from clients.auditor import (
    ChainSnapshot,
    DecisionFileError,
    VerificationReport,
    could_read,
    decision_entry,
    decision_leaf,
    load_decisions,
    load_history,
    parse_decision,
    verify_decisions,
)
from gateway.audit import records

METER, PURPOSE = "energy.household_meter", "dpv:ServiceProvision"  # as in conftest


@pytest.fixture(scope="module")
def story(audit_story: Any) -> Any:
    return audit_story


@pytest.fixture(scope="module")
def snapshot(story: Any) -> ChainSnapshot:
    return load_history(story.chain, story.deployment)


def _verify(snapshot: ChainSnapshot, raw: list[dict[str, Any]]) -> VerificationReport:
    decisions = [parse_decision(d, i) for i, d in enumerate(raw)]
    return verify_decisions(decisions, snapshot.history, time_of_block=snapshot.time_of_block)


def test_honest_decisions_are_anchored_and_agree_with_the_chain(
    story: Any, snapshot: ChainSnapshot
) -> None:
    report = _verify(snapshot, story.exported[:3])
    assert report.ok, report.findings
    assert report.batches == 2 and report.anchored_entries == 4
    allowed = report.checks[1]
    assert allowed.anchored_in is not None and allowed.anchored_in.startswith("batch 1")
    assert allowed.chain_says is not None
    assert f"granted at block {story.blocks['granted']}" in allowed.chain_says


def test_tampered_stored_decision_is_reported_as_not_anchored(
    story: Any, snapshot: ChainSnapshot
) -> None:
    tampered = copy.deepcopy(story.exported[:3])
    tampered[0]["allowed"] = True  # someone turns the stored refusal into an allow
    report = _verify(snapshot, tampered)
    assert not report.ok
    codes = {(f.code, f.decision_id) for f in report.findings}
    assert ("not_anchored", "#1") in codes
    assert ("hash_chain_broken", "#2") in codes  # the next entry names the original
    assert {f.decision_id for f in report.findings} == {"#1", "#2"}


def test_tampered_time_breaks_the_anchor_too(story: Any, snapshot: ChainSnapshot) -> None:
    tampered = copy.deepcopy(story.exported[1:2])
    tampered[0]["decided_at_ms"] += 60_000
    report = _verify(snapshot, tampered)
    assert [(f.code, f.decision_id) for f in report.findings] == [("not_anchored", "#2")]


def test_allowed_read_without_valid_consent_is_reported(
    story: Any, snapshot: ChainSnapshot
) -> None:
    report = _verify(snapshot, story.exported[3:])
    assert [(f.code, f.decision_id) for f in report.findings] == [("consent_invalid", "#4")]
    assert "revoked at block" in report.findings[0].message


def test_decision_claiming_a_missing_batch_is_not_anchored(
    story: Any, snapshot: ChainSnapshot
) -> None:
    ghost = copy.deepcopy(story.exported[0])
    ghost["anchor"]["batch"] = 99
    report = _verify(snapshot, [ghost])
    assert [(f.code, f.decision_id) for f in report.findings] == [("not_anchored", "#1")]


def test_stored_entry_bytes_that_disagree_with_the_fields_are_reported(
    story: Any, snapshot: ChainSnapshot
) -> None:
    row = copy.deepcopy(story.exported[1])
    other = parse_decision({**row, "reason": "role:AGENCY"}, 0)
    row["entry"] = "0x" + decision_entry(other).hex()
    report = _verify(snapshot, [row])
    assert [f.code for f in report.findings] == ["entry_mismatch"]


def test_auditor_entry_encoding_matches_the_gateways(story: Any) -> None:
    d = parse_decision(story.exported[1], 0)
    record = records.DecisionRecord(
        decided_at_ms=d.decided_at_ms,
        actor=d.actor,
        action=d.action,
        resource=d.resource,
        category=d.category,
        purpose=d.purpose,
        subject=d.subject,
        provider=d.provider,
        allowed=d.allowed,
        reason=d.reason,
        block=d.block,
    )
    assert records.encode(d.seq, d.prev_hash, record) == decision_entry(d)
    assert records.leaf_of(decision_entry(d)) == decision_leaf(d)


def test_could_read_follows_grant_expiry_and_revocation(
    story: Any, snapshot: ChainSnapshot
) -> None:
    args = {
        "grantee": story.company.address,
        "subject": story.citizen.address,
        "category": METER,
        "purpose": PURPOSE,
    }
    h, b, t = snapshot.history, story.blocks, story.times
    before = could_read(h, block=b["granted"] - 1, at_time=t["granted"], **args)
    during = could_read(h, block=b["granted"], at_time=t["granted"], **args)
    after = could_read(h, block=b["revoked"], at_time=t["revoked"], **args)
    expired = could_read(h, block=b["granted"], at_time=story.expiry, **args)
    other = could_read(
        h, block=b["granted"], at_time=t["granted"], **{**args, "purpose": "dpv:CommercialResearch"}
    )
    assert not before.verdict.allowed and "no consent" in before.explanation
    assert during.verdict.allowed and during.consent is not None
    assert during.consent.block_number == b["granted"] and during.roles == ("ENTERPRISE",)
    assert not after.verdict.allowed and "revoked" in after.explanation
    assert not expired.verdict.allowed and "expired" in expired.explanation
    assert not other.verdict.allowed


def test_aggregates_follow_roles_not_consents(story: Any, snapshot: ChainSnapshot) -> None:
    h = snapshot.history
    company = could_read(
        h,
        grantee=story.company.address,
        subject=None,
        category="traffic.flow",
        purpose=PURPOSE,
        block=h.head_block,
        at_time=story.times["revoked"],
    )
    assert not company.verdict.allowed and company.verdict.reason == "agreement_missing"
    assert not company.personal
    stranger = could_read(
        h,
        grantee="0x" + "11" * 20,
        subject=None,
        category="traffic.flow",
        purpose=PURPOSE,
        block=h.head_block,
        at_time=story.times["revoked"],
    )
    assert stranger.verdict.reason == "role_missing"


def test_malformed_decision_is_a_decision_file_error(story: Any, tmp_path: Path) -> None:
    bad = {**story.exported[0], "actor": "nobody"}
    with pytest.raises(DecisionFileError, match="actor"):
        parse_decision(bad, 0)
    missing = {k: v for k, v in story.exported[0].items() if k != "allowed"}
    with pytest.raises(DecisionFileError, match="allowed"):
        parse_decision(missing, 0)
    garbage = tmp_path / "d.json"
    garbage.write_text("{not json")
    with pytest.raises(DecisionFileError, match="neither JSON"):
        load_decisions(garbage)


def test_decisions_load_from_json_lines_and_route_responses(story: Any, tmp_path: Path) -> None:
    lines = tmp_path / "d.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in story.exported) + "\n")
    wrapped = tmp_path / "d.json"
    wrapped.write_text(json.dumps({"decisions": story.exported}))
    assert [d.seq for d in load_decisions(lines)] == [1, 2, 3, 4]
    assert load_decisions(wrapped) == load_decisions(lines)


def test_decisions_in_the_gateways_route_shape_are_read(
    story: Any, snapshot: ChainSnapshot
) -> None:
    row = copy.deepcopy(story.exported[1])
    anchor = row.pop("anchor")
    decision = parse_decision(row, 0)
    shaped = {
        "seq": row["seq"],
        "entry": "0x" + decision_entry(decision).hex(),
        "leaf": "0x" + decision_leaf(decision).hex(),
        "fields": row,
        "anchor": {
            "sequence": anchor["batch"],
            "root": "0x",
            "leaf_index": 1,
            "proof": anchor["proof"],
            "status": "anchored",
        },
    }
    parsed = parse_decision(shaped, 0)
    assert parsed.batch == anchor["batch"] and parsed.entry == decision_entry(decision)
    report = verify_decisions([parsed], snapshot.history, time_of_block=snapshot.time_of_block)
    assert report.ok, report.findings
