"""Deploy and wire the three contracts, idempotently.

A deployment record (JSON, one per chain id) is kept in a directory of the caller's choice;
a later start reads it and verifies that the code at each address is the committed artifact
(immutables masked) and that the ledger and trail point at the registry. A record whose
contracts have vanished (a dev node restarted empty) is replaced by a fresh deployment; a
record whose addresses hold other code is an error, never silently overwritten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ._revert import error_selectors
from .artifacts import load_artifact
from .bindings import AuditTrail, ConsentLedger, StakeholderRegistry
from .chain import Chain
from .errors import ChainError, DeploymentMissing
from .events import EventDecoder, EventReader
from .names import DATA_CATEGORIES

log = logging.getLogger(__name__)

DEFAULT_PERSONAL_CATEGORIES = tuple(
    sorted(n for n, personal in DATA_CATEGORIES.items() if personal)
)


@dataclass(frozen=True)
class Deployment:
    """Where the contracts live on one chain, and from which block to read their events."""

    chain_id: int
    registry: str
    consent_ledger: str
    audit_trail: str
    start_block: int

    def addresses(self) -> dict[str, str]:
        """Contract name -> address."""
        return {
            "StakeholderRegistry": self.registry,
            "ConsentLedger": self.consent_ledger,
            "AuditTrail": self.audit_trail,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        return cls(**json.loads(path.read_text()))


@dataclass
class QcityContracts:
    """The three bindings and an event reader, bound to one chain and deployment."""

    chain: Chain
    deployment: Deployment
    registry: StakeholderRegistry
    consent: ConsentLedger
    audit: AuditTrail
    events: EventReader

    @classmethod
    def attach(cls, chain: Chain, deployment: Deployment) -> QcityContracts:
        """Bind to an existing deployment (no transaction)."""
        decoder = EventDecoder.for_contracts(deployment.addresses())
        return cls(
            chain=chain,
            deployment=deployment,
            registry=StakeholderRegistry(chain, deployment.registry, decoder),
            consent=ConsentLedger(chain, deployment.consent_ledger, decoder),
            audit=AuditTrail(chain, deployment.audit_trail, decoder),
            events=EventReader(chain, deployment.addresses()),
        )


def _create(
    chain: Chain, deployer: LocalAccount, name: str, types: list[str], args: list[object]
) -> str:
    artifact = load_artifact(name)
    data = artifact.bytecode + abi_encode(types, args).hex()
    receipt = chain.transact(
        deployer, {"data": data}, selectors=error_selectors(artifact.abi), contract=name
    )
    return Web3.to_checksum_address(receipt["contractAddress"])


def deploy(
    chain: Chain,
    deployer: LocalAccount,
    *,
    admins: Sequence[str] | None = None,
    quorum: int = 1,
    recorder: str | None = None,
    personal_categories: Iterable[str] = DEFAULT_PERSONAL_CATEGORIES,
) -> Deployment:
    """Deploy registry, ledger and trail, then wire them.

    `admins` default to the deployer (quorum 1: development). When the deployer is an admin
    it also grants AUDIT_RECORDER to `recorder` and marks `personal_categories` personal.
    """
    chosen = [deployer.address] if admins is None else admins
    admin_list = [Web3.to_checksum_address(a) for a in chosen]
    start = chain.block_number() + 1
    registry = _create(
        chain, deployer, "StakeholderRegistry", ["address[]", "uint256"], [admin_list, quorum]
    )
    ledger = _create(chain, deployer, "ConsentLedger", ["address"], [registry])
    trail = _create(chain, deployer, "AuditTrail", ["address"], [registry])
    deployment = Deployment(chain.chain_id, registry, ledger, trail, start)
    if deployer.address in admin_list:
        contracts = QcityContracts.attach(chain, deployment)
        if recorder is not None:
            contracts.registry.grant_role(deployer, "AUDIT_RECORDER", recorder)
        for category in personal_categories:
            contracts.consent.set_category_personal(deployer, category, True)
    log.info(
        "event=contracts_deployed chain_id=%s registry=%s ledger=%s trail=%s",
        chain.chain_id,
        registry,
        ledger,
        trail,
    )
    return deployment


def verify_deployment(chain: Chain, deployment: Deployment) -> None:
    """Raise DeploymentMissing unless every address holds the committed contract, wired up."""
    if deployment.chain_id != chain.chain_id:
        raise DeploymentMissing(
            f"record is for chain {deployment.chain_id}, connected to {chain.chain_id}"
        )
    for name, address in deployment.addresses().items():
        with chain.rpc_errors():
            code = bytes(chain.w3.eth.get_code(Web3.to_checksum_address(address)))
        if not load_artifact(name).matches_code(code):
            raise DeploymentMissing(
                f"{name} at {address}: {'no code' if not code else 'other code'}"
            )
    contracts = QcityContracts.attach(chain, deployment)
    for wired in (contracts.consent.registry_address(), contracts.audit.registry_address()):
        if wired != Web3.to_checksum_address(deployment.registry):
            raise DeploymentMissing(
                f"contract wired to registry {wired}, not {deployment.registry}"
            )


def _has_any_code(chain: Chain, deployment: Deployment) -> bool:
    with chain.rpc_errors():
        return any(
            chain.w3.eth.get_code(Web3.to_checksum_address(a))
            for a in deployment.addresses().values()
        )


def load_or_deploy(
    chain: Chain, deployer: LocalAccount, record_dir: Path | None, **options: object
) -> Deployment:
    """Find this chain's verified deployment in `record_dir`, or deploy and record one.

    Options are passed to `deploy`. Without a record dir it always deploys.
    """
    if record_dir is None:
        return deploy(chain, deployer, **options)  # type: ignore[arg-type]
    path = Path(record_dir) / f"deployment-{chain.chain_id}.json"
    if path.exists():
        deployment = Deployment.load(path)
        try:
            verify_deployment(chain, deployment)
            return deployment
        except DeploymentMissing:
            if _has_any_code(chain, deployment):
                raise
            log.warning("event=deployment_vanished chain_id=%s record=%s", chain.chain_id, path)
    deployment = deploy(chain, deployer, **options)  # type: ignore[arg-type]
    try:
        deployment.save(path)
    except OSError as exc:
        raise ChainError(f"cannot write deployment record {path}: {exc}") from exc
    return deployment
