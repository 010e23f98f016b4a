"""The embedded chain survives restarts; failures surface as the chain layer's errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from contracts import (
    Chain,
    ChainError,
    ChainUnavailable,
    JournalMismatch,
    MerkleTree,
    QcityContracts,
    connect,
    load_or_create_account,
    load_or_deploy,
    role_id,
)
from contracts import errors as errs


def _state(qc: QcityContracts, citizen: str, org: str) -> tuple:
    """What must be identical before and after a restart."""
    head = qc.chain.block_info()
    return (
        head,
        qc.consent.consent_expiry(citizen, org, "mobility.trip", "dpv:AcademicResearch"),
        qc.consent.nonce(citizen),
        qc.registry.role_members("CITIZEN"),
        qc.audit.next_sequence(),
        qc.audit.batch_root(1),
        qc.chain.balance(citizen),
    )


def test_embedded_chain_state_survives_restarts_and_keeps_working(tmp_path: Path) -> None:
    data = tmp_path / "chain"
    chain = connect(data_dir=data, fsync=False)
    assert chain.persistent
    admin, citizen, org = chain.new_account(), chain.new_account(), chain.new_account()
    for account in (admin, citizen):
        chain.fund(account.address)
    deployment = load_or_deploy(chain, admin, data, recorder=admin.address)
    qc = QcityContracts.attach(chain, deployment)
    qc.registry.grant_role(admin, "CITIZEN", citizen.address)
    expiry = chain.timestamp() + 3600
    signed = qc.consent.sign_grant(
        citizen, org.address, "mobility.trip", "dpv:AcademicResearch", expiry, expiry
    )
    qc.consent.grant_consent_by_sig(admin, signed)
    qc.audit.anchor_tree(admin, MerkleTree.from_entries([b"a", b"b"]), 1, 2)
    chain.increase_time(600)  # time travel is journaled too
    before = _state(qc, citizen.address, org.address)
    chain.close()
    with pytest.raises(ChainUnavailable):
        chain.block_number()

    again = connect(data_dir=data, fsync=False)
    assert load_or_deploy(again, admin, data) == deployment  # found, not redeployed
    qc2 = QcityContracts.attach(again, deployment)
    assert _state(qc2, citizen.address, org.address) == before
    # new transactions still work, and survive the next restart as well
    result = qc2.consent.revoke_consent(
        citizen, org.address, "mobility.trip", "dpv:AcademicResearch"
    )
    after = _state(qc2, citizen.address, org.address)
    again.close()
    third = QcityContracts.attach(connect(data_dir=data, fsync=False), deployment)
    assert _state(third, citizen.address, org.address) == after
    assert third.chain.block_number() == result.block_number
    assert third.registry.has_role("AUDIT_RECORDER", admin.address)


def test_a_tampered_journal_is_refused(tmp_path: Path) -> None:
    chain = connect(data_dir=tmp_path, fsync=False)
    someone = chain.new_account()
    chain.fund(someone.address, 5)
    chain.fund(someone.address, 7)
    chain.close()
    journal = tmp_path / "chain.jsonl"
    lines = journal.read_text().splitlines()
    record = json.loads(lines[1])
    record["timestamp"] += 1  # another time: another block hash
    lines[1] = json.dumps(record)
    journal.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalMismatch):
        connect(data_dir=tmp_path)


def test_a_torn_last_journal_line_is_dropped(tmp_path: Path) -> None:
    chain = connect(data_dir=tmp_path, fsync=False)
    someone = chain.new_account()
    chain.fund(someone.address, 5)
    head = chain.block_info()
    chain.close()
    with (tmp_path / "chain.jsonl").open("a") as fh:
        fh.write('{"kind": "block", "number": 2, "txs": ["0x')  # crash mid-write
    reopened = connect(data_dir=tmp_path, fsync=False)
    assert reopened.block_info() == head
    reopened.fund(someone.address, 6)
    assert reopened.balance(someone.address) == 11


def test_the_faucet_key_is_generated_per_data_dir_and_kept_private(tmp_path: Path) -> None:
    connect(data_dir=tmp_path / "a").close()
    connect(data_dir=tmp_path / "b").close()
    key_a = (tmp_path / "a" / "faucet.key").read_text()
    assert key_a != (tmp_path / "b" / "faucet.key").read_text()
    assert (tmp_path / "a" / "faucet.key").stat().st_mode & 0o077 == 0


def test_one_process_owns_a_data_dir_at_a_time(tmp_path: Path) -> None:
    owner = connect(data_dir=tmp_path, fsync=False)
    with pytest.raises(ChainError, match="in use"):
        connect(data_dir=tmp_path, fsync=False)
    owner.close()
    connect(data_dir=tmp_path, fsync=False).close()


def test_stored_accounts_are_reused_and_kept_private(tmp_path: Path) -> None:
    first = load_or_create_account(tmp_path / "keys" / "admin.key")
    assert load_or_create_account(tmp_path / "keys" / "admin.key").address == first.address
    assert (tmp_path / "keys" / "admin.key").stat().st_mode & 0o077 == 0
    assert load_or_create_account(tmp_path / "keys" / "other.key").address != first.address
    (tmp_path / "keys" / "admin.key").chmod(0o644)
    with pytest.raises(PermissionError):
        load_or_create_account(tmp_path / "keys" / "admin.key")


def test_snapshots_are_refused_on_a_persistent_chain(tmp_path: Path) -> None:
    chain = connect(data_dir=tmp_path, fsync=False)
    with pytest.raises(ChainError, match="journal"):
        chain.snapshot()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_node_raises_chain_unavailable() -> None:
    with pytest.raises(ChainUnavailable) as exc:
        connect(f"http://127.0.0.1:{_free_port()}", request_timeout=2)
    assert (exc.value.code, exc.value.http_status) == ("chain_unavailable", 503)


def test_a_revert_inside_a_mined_transaction_is_still_decoded(
    qc: QcityContracts, chain: Chain, actors
):
    data = qc.registry._functions["grantRole"].encode((role_id("AGENCY"), actors.outsider.address))
    # an explicit gas limit skips the pre-flight, so the transaction is mined and reverts
    with pytest.raises(errs.AccountMissingRole) as exc:
        chain.transact(
            actors.outsider,
            {"to": qc.registry.address, "data": data},
            gas=200_000,
            selectors=qc.registry._selectors,
            contract="StakeholderRegistry",
        )
    assert exc.value.tx_hash is not None
    receipt = chain.w3.eth.get_transaction_receipt(exc.value.tx_hash)
    assert receipt["status"] == 0


def test_rpc_answers_in_json_rpc_form(qc: QcityContracts, chain: Chain, actors) -> None:
    assert chain.rpc("eth_chainId", []) == hex(chain.chain_id)
    assert chain.rpc("eth_blockNumber", []) == hex(chain.block_number())
    block = chain.rpc("eth_getBlockByNumber", ["latest", False])
    assert block["hash"] == chain.block_info().hash and block["number"].startswith("0x")
    call = {"to": qc.registry.address, "data": qc.registry._functions["adminQuorum"].encode(())}
    assert int(chain.rpc("eth_call", [call, "latest"]), 16) == 1
    logs = chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "address": qc.registry.address}])
    assert logs and all(log["address"].lower() == qc.registry.address.lower() for log in logs)
    json.dumps(logs)  # plain JSON all the way down


def test_raw_signed_transactions_from_elsewhere_are_accepted(qc, chain: Chain, actors) -> None:
    payer, payee = actors.relayer, chain.new_account()
    signed = payer.sign_transaction(
        {
            "to": payee.address,
            "value": 1234,
            "gas": 21_000,
            "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "nonce": chain.w3.eth.get_transaction_count(payer.address),
            "chainId": chain.chain_id,
        }
    )
    tx_hash = chain.send_raw_transaction(signed.raw_transaction)
    assert chain.wait_for_receipt(tx_hash)["status"] == 1
    assert chain.balance(payee.address) == 1234
