"""Auditor routes: a decision with its Merkle inclusion proof and anchoring transaction.

Citizens see the decisions about their own data the same way (`/me/decisions`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from contracts.merkle import MerkleTree
from gateway.audit.anchorer import batch_tree
from gateway.audit.records import AuditEntryRow, decode, leaf_of
from gateway.deps import AuditorGrant, PersonalSessionDep, RuntimeDep
from gateway.errors import NotFound
from gateway.runtime import Runtime

router = APIRouter(tags=["audit"])


def _hex(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


class AnchorOut(BaseModel):
    """Where the decision's batch was anchored; `proof` leads from `leaf` to `root`."""

    sequence: int
    root: str
    leaf_index: int
    proof: list[str]
    status: str = Field(description="pending until the anchoring transaction is confirmed.")
    tx_hash: str | None
    block_number: int | None
    audit_trail: str
    chain_id: int


class DecisionOut(BaseModel):
    seq: int
    entry: str = Field(description="The ABI-encoded entry (see gateway.audit.records).")
    entry_hash: str = Field(description="keccak256(entry): the hash-chain link.")
    leaf: str = Field(description="keccak256(keccak256(entry)): the Merkle leaf.")
    fields: dict[str, object]
    anchor: AnchorOut | None = Field(description="None while the decision waits for a batch.")


class DecisionsOut(BaseModel):
    decisions: list[DecisionOut]


class DecisionPageOut(BaseModel):
    decisions: list[DecisionOut]
    head: int = Field(description="The newest decision's seq when the page was read.")
    next_after: int | None = Field(
        description="Pass as `after` for the next page; None once the page reached `head`.")


class VerifyOut(BaseModel):
    entries: int
    chain_ok: bool


def _decision(runtime: Runtime, row: AuditEntryRow,
              trees: dict[int, MerkleTree] | None = None) -> DecisionOut:
    """The decision with its proof; `trees` keeps each batch's tree across a page."""
    fields = decode(row.entry)
    anchor = None
    batch = runtime.audit.batch_of(row.seq)
    if batch is not None:
        leaf_index = row.seq - batch.first_seq
        trees = {} if trees is None else trees
        tree = trees.get(batch.sequence)
        if tree is None:
            tree = batch_tree(runtime.audit.batch_entries(batch.first_seq, batch.last_seq))
            trees[batch.sequence] = tree
        anchor = AnchorOut(
            sequence=batch.sequence, root=_hex(batch.root), leaf_index=leaf_index,
            proof=[_hex(p) for p in tree.proof(leaf_index)], status=batch.status,
            tx_hash=batch.tx_hash, block_number=batch.block_number,
            audit_trail=runtime.contracts.deployment.audit_trail,
            chain_id=runtime.chain.chain_id,
        )
    return DecisionOut(seq=row.seq, entry=_hex(row.entry), entry_hash=_hex(row.entry_hash),
                       leaf=_hex(leaf_of(row.entry)), fields=fields, anchor=anchor)


Seq = Annotated[int, Path(ge=1, le=2**62)]


def _page(runtime: Runtime, after: int, limit: int) -> DecisionPageOut:
    head = runtime.audit.last_seq()
    last = min(after + limit, head)
    rows = runtime.audit.entries(after + 1, last) if last > after else []
    trees: dict[int, MerkleTree] = {}
    return DecisionPageOut(decisions=[_decision(runtime, r, trees) for r in rows], head=head,
                           next_after=last if last < head else None)


@router.get("/audit/decisions", response_model=DecisionPageOut)
async def decisions(grant: AuditorGrant,
                    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> DecisionPageOut:
    """Decisions after seq `after`, oldest first, each with its proof: an auditor's export,
    one audited read per page (a per-seq export would add one decision per decision read)."""
    return await asyncio.to_thread(_page, grant.runtime, after, limit)


@router.get("/audit/decisions/{seq}", response_model=DecisionOut)
async def decision(seq: Seq, grant: AuditorGrant) -> DecisionOut:
    """One decision, its Merkle proof and its anchoring transaction."""
    row = grant.runtime.audit.entry(seq)
    if row is None:
        raise NotFound("No such decision.", seq=seq)
    return _decision(grant.runtime, row)


@router.get("/audit/verify", response_model=VerifyOut)
async def verify(grant: AuditorGrant) -> VerifyOut:
    """Re-check every link of the local hash chain (raises audit_chain_broken if any fails)."""
    return VerifyOut(entries=grant.runtime.audit.verify_chain(), chain_ok=True)


@router.get("/me/decisions", response_model=DecisionsOut)
async def my_decisions(session: PersonalSessionDep, runtime: RuntimeDep,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50) -> DecisionsOut:
    """Decisions about the caller's own data (as data subject), newest first, with proofs."""
    rows = runtime.audit.entries_about(session.address, limit)
    return DecisionsOut(decisions=[_decision(runtime, r) for r in rows])
