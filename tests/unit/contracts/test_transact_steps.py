"""Chain.transact_steps: the same transaction as transact, in steps an event loop can pause
between; with known gas nothing is pre-flighted, and a revert is still decoded."""

from __future__ import annotations

import threading

import pytest

from contracts import MerkleTree, QcityContracts, encode_entry, events
from contracts import errors as errs
from contracts.chain import run_steps

NOW = 1_800_000_000


def _root(salt: int) -> bytes:
    return MerkleTree.from_entries([encode_entry(["uint256"], [salt])]).root


def test_steps_pause_between_signing_sending_and_the_receipt(qc: QcityContracts, actors) -> None:
    steps = qc.audit.anchor_batch_steps(actors.recorder, 1, _root(1), 1, NOW, NOW, gas=120_000)
    head = qc.chain.block_number()
    next(steps)  # signed, not sent
    assert qc.chain.block_number() == head
    next(steps)  # sent: the embedded chain mined it
    assert qc.chain.block_number() == head + 1
    result = run_steps(steps)
    assert result.event(events.BatchAnchored).sequence == 1
    assert qc.audit.next_sequence() == 2


def test_known_gas_skips_the_preflight_and_a_revert_is_still_decoded(
        qc: QcityContracts, actors) -> None:
    head = qc.chain.block_number()
    with pytest.raises(errs.SequenceMismatch) as exc:  # sequence 2 is not next
        qc.audit.anchor_batch(actors.recorder, 2, _root(2), 1, NOW, NOW, gas=120_000)
    assert exc.value.facts == {"expected": 1, "given": 2}
    assert exc.value.tx_hash  # mined and failed: no pre-flight caught it
    assert qc.chain.block_number() == head + 1
    head = qc.chain.block_number()
    with pytest.raises(errs.SequenceMismatch):  # without gas the pre-flight refuses it
        qc.audit.anchor_batch(actors.recorder, 2, _root(2), 1, NOW, NOW)
    assert qc.chain.block_number() == head


def test_a_closed_generator_releases_the_send_lock(qc: QcityContracts, actors) -> None:
    steps = qc.audit.anchor_batch_steps(actors.recorder, 1, _root(3), 1, NOW, NOW, gas=120_000)
    next(steps)  # holds the send lock
    steps.close()
    sent: list[int] = []
    other = threading.Thread(target=lambda: sent.append(
        qc.audit.anchor_batch(actors.recorder, 1, _root(3), 1, NOW, NOW).block_number))
    other.start()
    other.join(timeout=20)
    assert sent, "another thread could not send after the generator was closed"
