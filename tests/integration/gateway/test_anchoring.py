"""The audit recorder and anchorer: hash-chained, batched, anchored, and crash-safe."""

from __future__ import annotations

import sqlite3
import time

from contracts import verify_inclusion

PUBLIC = "dpv:PublicBenefit"
DETECTOR_ID = "urn:ngsi-ld:TrafficFlowObserved:tiny:TD-BE00-J0300"


def _decide(gateway, n: int) -> list[int]:
    if gateway.runtime.twin.latest(DETECTOR_ID) is None:
        gateway.ingest_sample(gateway.token(gateway.world["operator"]))
    token = gateway.token(gateway.world["agency"])
    seqs = []
    for _ in range(n):
        response = gateway.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC)
        assert response.status_code == 200, response.text
        seqs.append(response.json()["access"]["decision"])
    return seqs


def _assert_all_anchored(gateway) -> None:
    audit, trail = gateway.runtime.audit, gateway.runtime.contracts.audit
    rows = audit.entries(1, 10_000)
    batches = [audit.batch_of(r.seq) for r in rows]
    assert rows and all(b is not None for b in batches)
    for sequence in sorted({b.sequence for b in batches}):
        batch = audit.batch(sequence)
        assert batch is not None and batch.status == "anchored" and batch.tx_hash
        assert trail.batch_root(sequence) == batch.root
    for row in rows:
        proof = gateway.client.get(f"/audit/decisions/{row.seq}", headers={
            "Authorization": f"Bearer {gateway.token(gateway.world['auditor'])}"}).json()
        anchor = proof["anchor"]
        leaf = bytes.fromhex(proof["leaf"][2:])
        siblings = [bytes.fromhex(p[2:]) for p in anchor["proof"]]
        assert verify_inclusion(bytes.fromhex(anchor["root"][2:]), leaf, siblings)
        assert trail.verify_batch_inclusion(anchor["sequence"], leaf, siblings)
        break  # one HTTP round trip is enough; the rest are checked off chain below
    assert audit.verify_chain() == len(audit.entries(1, 10_000))  # the audit read counts too


def test_anchorer_runs_once_n_decisions_wait(make_gateway) -> None:
    gateway = make_gateway(anchor_every_n=3, anchor_every_s=3600)
    _decide(gateway, 2)  # ingest + 2 reads = 3 decisions: the background loop anchors
    deadline = time.monotonic() + 10
    while (batch := gateway.runtime.audit.batch(1)) is None or batch.status != "anchored":
        assert time.monotonic() < deadline, "no batch anchored after N decisions"
        time.sleep(0.05)
    assert gateway.runtime.audit.batch(1).first_seq == 1
    _assert_all_anchored(gateway)


def test_anchorer_runs_every_t_seconds(make_gateway) -> None:
    gateway = make_gateway(anchor_every_n=1000, anchor_every_s=0.3)
    _decide(gateway, 1)
    deadline = time.monotonic() + 10
    while (batch := gateway.runtime.audit.batch(1)) is None or batch.status != "anchored":
        assert time.monotonic() < deadline, "nothing anchored after T seconds"
        time.sleep(0.05)
    assert (batch.first_seq, batch.last_seq) == (1, 2)


def test_backlog_is_split_into_batches_of_max_size(make_gateway) -> None:
    gateway = make_gateway(anchor_every_n=1000, anchor_max_batch=3)
    _decide(gateway, 5)  # 6 decisions (ingest + 5 reads)
    done = gateway.run(gateway.runtime.anchorer.anchor_now)
    assert [b.size for b in done] == [3, 3]
    assert gateway.runtime.contracts.audit.next_sequence() == 3
    _assert_all_anchored(gateway)


def test_crash_before_anchoring_loses_nothing(make_gateway) -> None:
    first = make_gateway()
    _decide(first, 4)

    async def crash() -> list:  # the process dies: no final anchor on the way out
        return []

    first.runtime.anchorer.anchor_now = crash  # type: ignore[method-assign]
    entries = first.runtime.audit.unbatched(2)
    first.runtime.anchorer._open(entries)  # a batch written locally, never sent
    first.close()
    assert first.runtime.contracts.audit.next_sequence() == 1  # nothing reached the chain

    second = make_gateway()  # same data dir and database
    assert second.runtime.audit.pending_batches()[0].last_seq == 2
    assert second.runtime.audit.unanchored == 3  # 5 decisions, 2 of them in the pending batch
    second.run(second.runtime.anchorer.anchor_now)
    _assert_all_anchored(second)


def test_crash_after_sending_anchor_does_not_anchor_twice(make_gateway) -> None:
    first = make_gateway()
    _decide(first, 3)
    anchorer = first.runtime.anchorer
    (batch,) = [anchorer._open(first.runtime.audit.unbatched(10))]
    assert batch is not None
    size = batch.last_seq - batch.first_seq + 1
    sent = first.runtime.contracts.audit.anchor_batch(  # mined, but the crash comes first
        first.runtime.recorder, batch.sequence, bytes(batch.root), size,
        batch.first_decision_at, batch.last_decision_at)

    async def crash() -> list:
        return []

    anchorer.anchor_now = crash  # type: ignore[method-assign]
    first.close()

    second = make_gateway()
    second.run(second.runtime.anchorer.anchor_now)
    stored = second.runtime.audit.batch(batch.sequence)
    assert stored is not None and stored.status == "anchored" and stored.tx_hash == sent.tx_hash
    assert second.runtime.contracts.audit.next_sequence() == batch.sequence + 1


def test_tampering_with_the_local_log_is_detected(make_gateway, tmp_path) -> None:
    gateway = make_gateway()
    _decide(gateway, 3)
    gateway.close()
    with sqlite3.connect(tmp_path / "gw" / "qcity.sqlite3") as db:
        db.execute("DELETE FROM gateway_audit_entry WHERE seq = 2")
    again = make_gateway()
    token = again.token(again.world["auditor"])
    response = again.get("/audit/verify", token)
    assert response.status_code == 500 and response.json()["code"] == "audit_chain_broken"


def test_a_round_anchors_what_waited_when_it_began_and_leaves_the_rest(make_gateway) -> None:
    from gateway.audit.records import DecisionRecord

    gateway = make_gateway(anchor_every_n=1000, anchor_every_s=3600)
    _decide(gateway, 2)  # 3 decisions wait
    audit = gateway.runtime.audit
    unbatched, arrivals = audit.unbatched, []

    def racing(limit: int, until: int | None = None) -> list:  # decisions keep arriving
        if len(arrivals) < 2:
            arrivals.append(audit.write([DecisionRecord(
                int(time.time() * 1000), gateway.world["agency"].address, "read", DETECTOR_ID,
                None, PUBLIC, None, None, True, "role:AGENCY", 1)]))
        return unbatched(limit, until)

    audit.unbatched = racing  # type: ignore[method-assign]
    done = gateway.run(gateway.runtime.anchorer.anchor_now)
    audit.unbatched = unbatched  # type: ignore[method-assign]
    assert [b.size for b in done] == [3]  # one transaction, no chase after the tail
    assert [e.seq for e in audit.unbatched(10)] == [4, 5]
    assert [b.size for b in gateway.run(gateway.runtime.anchorer.anchor_now)] == [2]
    _assert_all_anchored(gateway)


def test_a_sequence_taken_by_another_recorder_is_dropped_and_retried(make_gateway) -> None:
    gateway = make_gateway(anchor_every_n=1000, anchor_every_s=3600)
    anchorer, audit = gateway.runtime.anchorer, gateway.runtime.audit
    _decide(gateway, 2)
    assert [b.sequence for b in gateway.run(anchorer.anchor_now)] == [1]  # 2 comes next
    now = int(time.time())
    gateway.runtime.contracts.audit.anchor_batch(  # another recorder takes sequence 2
        gateway.runtime.recorder, 2, b"\x07" * 32, 1, now, now)
    _decide(gateway, 2)
    assert gateway.run(anchorer.anchor_now) == []  # sent under 2: reverted, batch given back
    assert audit.pending_batches() == [] and audit.unanchored == 2
    assert [b.sequence for b in gateway.run(anchorer.anchor_now)] == [3]
    _assert_all_anchored(gateway)
