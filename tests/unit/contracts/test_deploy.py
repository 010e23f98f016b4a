"""Deployment is idempotent: a second start finds and verifies the recorded contracts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from contracts import (
    DeploymentMissing,
    QcityContracts,
    connect,
    load_or_deploy,
    verify_deployment,
)


def test_load_or_deploy_deploys_once_then_finds_the_record(tmp_path: Path) -> None:
    chain = connect()
    admin = chain.new_account()
    chain.fund(admin.address)
    first = load_or_deploy(chain, admin, tmp_path, recorder=admin.address)
    assert (tmp_path / f"deployment-{chain.chain_id}.json").exists()
    height = chain.block_number()
    again = load_or_deploy(chain, admin, tmp_path, recorder=admin.address)
    assert again == first
    assert chain.block_number() == height  # nothing was sent
    qc = QcityContracts.attach(chain, again)
    assert qc.registry.has_role("GOVERNANCE_ADMIN", admin.address)
    assert qc.registry.has_role("AUDIT_RECORDER", admin.address)
    assert qc.consent.is_personal_category("energy.household_meter")
    assert first.start_block <= chain.block_number()


def test_a_record_pointing_at_other_code_is_refused(tmp_path: Path) -> None:
    chain = connect()
    admin = chain.new_account()
    chain.fund(admin.address)
    real = load_or_deploy(chain, admin, tmp_path)
    swapped = dataclasses.replace(real, registry=real.consent_ledger, consent_ledger=real.registry)
    with pytest.raises(DeploymentMissing, match="other code"):
        verify_deployment(chain, swapped)
    swapped.save(tmp_path / f"deployment-{chain.chain_id}.json")
    with pytest.raises(DeploymentMissing):
        load_or_deploy(chain, admin, tmp_path)


def test_a_vanished_deployment_is_replaced(tmp_path: Path) -> None:
    old_chain = connect()
    admin = old_chain.new_account()
    old_chain.fund(admin.address)
    old = load_or_deploy(old_chain, admin, tmp_path)
    fresh_chain = connect()  # same chain id, empty state: like a restarted dev node
    fresh_chain.fund(admin.address)
    with pytest.raises(DeploymentMissing, match="no code"):
        verify_deployment(fresh_chain, old)
    new = load_or_deploy(fresh_chain, admin, tmp_path)
    verify_deployment(fresh_chain, new)
    assert load_or_deploy(fresh_chain, admin, tmp_path) == new
