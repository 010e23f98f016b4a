"""Typed events of the three contracts, and a reader that fetches them in chain order.

The gateway's permission engine builds its index from `EventReader.fetch`, and the auditor
tool rebuilds every role, consent, agreement and audit batch from it: the events carry all
facts (see the contracts' NatSpec), so no contract storage needs to be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from .artifacts import load_artifact
from .chain import Chain


@dataclass(frozen=True)
class ChainEvent:
    """Where an event was emitted; subclasses add the event's own fields."""

    block_number: int
    transaction_index: int
    log_index: int
    tx_hash: str
    address: str

    @property
    def order(self) -> tuple[int, int, int]:
        """Chain order: block, transaction, log."""
        return (self.block_number, self.transaction_index, self.log_index)


@dataclass(frozen=True)
class RoleGranted(ChainEvent):
    role: bytes
    account: str
    sender: str


@dataclass(frozen=True)
class RoleRevoked(ChainEvent):
    role: bytes
    account: str
    sender: str


@dataclass(frozen=True)
class StakeholderRegistered(ChainEvent):
    account: str
    public_key_hash: bytes
    display_name: str
    sender: str


@dataclass(frozen=True)
class AdminChangeProposed(ChainEvent):
    proposal_id: int
    action: int
    account: str
    quorum: int
    proposer: str
    expires_at: int


@dataclass(frozen=True)
class AdminChangeApproved(ChainEvent):
    proposal_id: int
    admin: str
    approvals: int


@dataclass(frozen=True)
class AdminChangeExecuted(ChainEvent):
    proposal_id: int
    action: int
    account: str
    quorum: int


@dataclass(frozen=True)
class AdminQuorumChanged(ChainEvent):
    previous_quorum: int
    new_quorum: int


@dataclass(frozen=True)
class ConsentGranted(ChainEvent):
    subject: str
    grantee: str
    category: bytes
    purpose: bytes
    expiry: int
    relayer: str

    @property
    def relayed(self) -> bool:
        """True when a relayer sent the subject's signed message."""
        return int(self.relayer, 16) != 0


@dataclass(frozen=True)
class ConsentRevoked(ChainEvent):
    subject: str
    grantee: str
    category: bytes
    purpose: bytes
    relayer: str

    @property
    def relayed(self) -> bool:
        return int(self.relayer, 16) != 0


@dataclass(frozen=True)
class AgreementGranted(ChainEvent):
    provider: str
    consumer: str
    category: bytes
    purpose: bytes
    expiry: int
    sender: str


@dataclass(frozen=True)
class AgreementRevoked(ChainEvent):
    provider: str
    consumer: str
    category: bytes
    purpose: bytes
    sender: str


@dataclass(frozen=True)
class CategoryClassified(ChainEvent):
    category: bytes
    personal: bool
    sender: str


@dataclass(frozen=True)
class BatchAnchored(ChainEvent):
    sequence: int
    root: bytes
    previous_root: bytes
    entry_count: int
    first_decision_at: int
    last_decision_at: int
    recorder: str


@dataclass(frozen=True)
class DecisionRecorded(ChainEvent):
    leaf: bytes
    requester: str
    category: bytes
    purpose: bytes
    allowed: bool
    decided_at: int
    recorder: str


EVENT_CLASSES: dict[str, type[ChainEvent]] = {
    cls.__name__: cls for cls in ChainEvent.__subclasses__()
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _value(abi_type: str, value: Any) -> Any:
    return to_checksum_address(value) if abi_type == "address" else value


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


class EventDecoder:
    """Decodes logs of known contract addresses into the typed events above."""

    def __init__(
        self, by_topic: dict[tuple[str, bytes], tuple[dict[str, Any], type[ChainEvent]]]
    ) -> None:
        self._by_topic = by_topic

    @classmethod
    def for_contracts(cls, addresses: Mapping[str, str]) -> EventDecoder:
        """A decoder for contract name -> address (names as in contracts/build)."""
        by_topic = {}
        for name, address in addresses.items():
            for item in load_artifact(name).abi:
                if item.get("type") != "event":
                    continue
                types = ",".join(i["type"] for i in item["inputs"])
                topic = keccak(text=f"{item['name']}({types})")
                by_topic[(to_checksum_address(address), topic)] = (
                    item,
                    EVENT_CLASSES[item["name"]],
                )
        return cls(by_topic)

    def decode(self, log: Mapping[str, Any]) -> ChainEvent | None:
        """The typed event of `log`, or None for a log of some other contract or event."""
        topics = [bytes(t) for t in log["topics"]]
        if not topics:
            return None
        found = self._by_topic.get((to_checksum_address(log["address"]), topics[0]))
        if found is None:
            return None
        item, cls = found
        indexed = [i for i in item["inputs"] if i["indexed"]]
        plain = [i for i in item["inputs"] if not i["indexed"]]
        fields: dict[str, Any] = {}
        for inp, topic in zip(indexed, topics[1:], strict=True):
            fields[_snake(inp["name"])] = _value(inp["type"], abi_decode([inp["type"]], topic)[0])
        data = abi_decode([i["type"] for i in plain], bytes(log["data"]))
        for inp, value in zip(plain, data, strict=True):
            fields[_snake(inp["name"])] = _value(inp["type"], value)
        return cls(
            block_number=int(log["blockNumber"]),
            transaction_index=int(log["transactionIndex"]),
            log_index=int(log["logIndex"]),
            tx_hash=_hex(log["transactionHash"]),
            address=to_checksum_address(log["address"]),
            **fields,
        )

    def decode_receipt(self, receipt: Mapping[str, Any]) -> list[ChainEvent]:
        """The qcity events of one transaction, in log order."""
        return [e for e in (self.decode(log) for log in receipt["logs"]) if e is not None]

    @property
    def addresses(self) -> list[str]:
        return sorted({address for address, _ in self._by_topic})


class EventReader:
    """Fetches and decodes the events of the three contracts over a block range, in order."""

    def __init__(
        self, chain: Chain, addresses: Mapping[str, str], *, chunk_size: int = 5_000
    ) -> None:
        self.chain = chain
        self.decoder = EventDecoder.for_contracts(addresses)
        self.chunk_size = chunk_size

    def fetch(self, from_block: int, to_block: int | None = None) -> list[ChainEvent]:
        """All events in [from_block, to_block] (to_block defaults to the latest block)."""
        last = self.chain.block_number() if to_block is None else to_block
        events: list[ChainEvent] = []
        start = from_block
        while start <= last:
            end = min(start + self.chunk_size - 1, last)
            with self.chain.rpc_errors():
                logs = self.chain.w3.eth.get_logs(
                    {"fromBlock": start, "toBlock": end, "address": self.decoder.addresses}
                )
            events.extend(e for e in (self.decoder.decode(log) for log in logs) if e is not None)
            start = end + 1
        events.sort(key=lambda e: e.order)
        return events


def of_kind(events: Iterable[ChainEvent], *kinds: type[ChainEvent]) -> list[ChainEvent]:
    """Filter events by class, keeping chain order."""
    return [e for e in events if isinstance(e, kinds)]
