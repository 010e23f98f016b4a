"""Shared fixtures of the clients' unit tests: a small audited story on an embedded chain.

The story: a company is refused a citizen's meter data, the citizen grants consent, the
company reads, the citizen revokes, the company is refused again; those three decisions are
anchored as batch 1. Then the gateway wrongly allows a read after the revocation, logged and
anchored honestly as batch 2. `rpc_url` serves the chain over JSON-RPC (as a node or the
gateway's /rpc door would) for the CLI tests.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from clients.auditor import decision_leaf, entry_hash, parse_decision
from contracts.chain import Chain, connect
from contracts.deploy import Deployment, QcityContracts, deploy
from contracts.errors import ChainError
from contracts.merkle import MerkleTree

METER, PURPOSE = "energy.household_meter", "dpv:ServiceProvision"


@dataclasses.dataclass
class Story:
    chain: Chain
    deployment: Deployment
    company: LocalAccount
    citizen: LocalAccount
    blocks: dict[str, int]
    times: dict[str, int]
    expiry: int
    exported: list[dict[str, Any]]


class Log:
    """A stand-in for the gateway's hash-chained audit log, exporting as its routes do."""

    def __init__(self, chain: Chain) -> None:
        self.chain, self.rows, self.prev = chain, [], bytes(32)

    def decide(self, actor: str, subject: str, allowed: bool, reason: str) -> dict[str, Any]:
        row = {
            "seq": len(self.rows) + 1,
            "prev_hash": "0x" + self.prev.hex(),
            "decided_at_ms": self.chain.timestamp() * 1000 + 250,
            "actor": actor,
            "action": "read",
            "resource": f"twin:meter:{subject}",
            "category": METER,
            "purpose": PURPOSE,
            "subject": subject,
            "provider": None,
            "allowed": allowed,
            "reason": reason,
            "block": self.chain.block_number(),
        }
        self.prev = entry_hash(parse_decision(row, 0))
        self.rows.append(row)
        return row

    def anchor(
        self, contracts: QcityContracts, recorder: LocalAccount, rows: list[dict[str, Any]]
    ) -> None:
        """Anchor `rows` as the next batch and add batch and proof to each."""
        parsed = [parse_decision(r, i) for i, r in enumerate(rows)]
        tree = MerkleTree.from_leaves([decision_leaf(d) for d in parsed])
        sequence = contracts.audit.next_sequence()
        times = [d.decided_at for d in parsed]
        contracts.audit.anchor_tree(recorder, tree, min(times), max(times))
        for i, row in enumerate(rows):
            row["anchor"] = {"batch": sequence, "proof": ["0x" + p.hex() for p in tree.proof(i)]}


@pytest.fixture(scope="session")
def audit_story() -> Story:
    chain = connect()
    admin, recorder, company, citizen = (chain.new_account() for _ in range(4))
    for account in (admin, recorder, company, citizen):
        chain.fund(account.address)
    deployment = deploy(chain, admin, recorder=recorder.address)
    contracts = QcityContracts.attach(chain, deployment)
    contracts.registry.grant_role(admin, "ENTERPRISE", company.address)
    contracts.registry.grant_role(admin, "CITIZEN", citizen.address)
    log, blocks, times = Log(chain), {}, {}
    log.decide(company.address, citizen.address, False, "consent_missing")
    expiry = chain.timestamp() + 3600
    contracts.consent.grant_consent(citizen, company.address, METER, PURPOSE, expiry)
    blocks["granted"], times["granted"] = chain.block_number(), chain.timestamp()
    log.decide(company.address, citizen.address, True, "consent")
    contracts.consent.revoke_consent(citizen, company.address, METER, PURPOSE)
    blocks["revoked"], times["revoked"] = chain.block_number(), chain.timestamp()
    log.decide(company.address, citizen.address, False, "consent_missing")
    log.anchor(contracts, recorder, log.rows[:3])
    # A gateway bug, honestly logged and anchored: allowed although the consent was revoked.
    log.decide(company.address, citizen.address, True, "consent")
    log.anchor(contracts, recorder, log.rows[3:])
    return Story(chain, deployment, company, citizen, blocks, times, expiry, log.rows)


class _RpcHandler(BaseHTTPRequestHandler):
    chain: Chain

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        batch = request if isinstance(request, list) else [request]
        answers = []
        for r in batch:
            try:
                answers.append(
                    {
                        "jsonrpc": "2.0",
                        "id": r.get("id"),
                        "result": self.chain.rpc(r["method"], r.get("params", [])),
                    }
                )
            except ChainError as exc:
                answers.append(
                    {
                        "jsonrpc": "2.0",
                        "id": r.get("id"),
                        "error": {"code": -32000, "message": str(exc)},
                    }
                )
        body = json.dumps(answers if isinstance(request, list) else answers[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet: tests read their own output."""


@pytest.fixture(scope="session")
def rpc_url(audit_story: Story) -> Iterator[str]:
    handler = type("Handler", (_RpcHandler,), {"chain": audit_story.chain})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def deployment_file(audit_story: Story, tmp_path: Path) -> Path:
    path = tmp_path / f"deployment-{audit_story.chain.chain_id}.json"
    audit_story.deployment.save(path)
    return path
