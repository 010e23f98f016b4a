"""The cast of the contract tests, shared by the eth-tester and the Hardhat suites.

Loaded by file path from both conftests (pytest runs in importlib mode, so test folders are
not packages). Building the world once per session and isolating tests with chain
snapshots keeps the suite fast on eth-tester (about 20 transactions a second).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from contracts import Chain, QcityContracts, deploy

FUNDING_WEI = 10**20


@dataclass(frozen=True)
class Actors:
    """Everyone who acts in the tests; each key is generated for this run."""

    admin: LocalAccount
    admin2: LocalAccount
    admin3: LocalAccount
    recorder: LocalAccount
    citizen: LocalAccount
    citizen2: LocalAccount
    org_a: LocalAccount
    org_b: LocalAccount
    outsider: LocalAccount
    relayer: LocalAccount


def make_actors(chain: Chain) -> Actors:
    """Fresh, funded accounts."""
    names = Actors.__dataclass_fields__.keys()
    accounts = {name: chain.new_account() for name in names}
    for account in accounts.values():
        chain.fund(account.address, FUNDING_WEI)
    return Actors(**accounts)


def build_world(chain: Chain, actors: Actors) -> QcityContracts:
    """Deploy with `admin` (quorum 1) and give everyone their role."""
    deployment = deploy(chain, actors.admin, recorder=actors.recorder.address)
    qc = QcityContracts.attach(chain, deployment)
    qc.registry.grant_role(actors.admin, "AGENCY", actors.org_a.address)
    qc.registry.grant_role(actors.admin, "ENTERPRISE", actors.org_b.address)
    qc.registry.grant_role(actors.admin, "CITIZEN", actors.citizen.address)
    qc.registry.grant_role(actors.admin, "CITIZEN", actors.citizen2.address)
    return qc
