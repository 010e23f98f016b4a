"""What every typed contract wrapper shares: calls, transactions, revert decoding, results."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.types import TxReceipt

from .._revert import abi_type, error_selectors
from ..artifacts import load_artifact
from ..chain import Chain, run_steps
from ..events import ChainEvent, EventDecoder

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: where it landed, what it cost, and the qcity events it emitted."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[ChainEvent, ...]

    def event(self, kind: type[ChainEvent]) -> Any:
        """The single event of `kind` (raises LookupError when absent or repeated)."""
        found = [e for e in self.events if isinstance(e, kind)]
        if len(found) != 1:
            raise LookupError(f"expected one {kind.__name__}, found {len(found)}")
        return found[0]


@dataclass(frozen=True)
class _Function:
    """One ABI function's selector and types: encoding without web3's per-call overhead."""

    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def encode(self, args: tuple[Any, ...]) -> str:
        return "0x" + (self.selector + abi_encode(list(self.inputs), list(args))).hex()

    def decode(self, data: bytes) -> Any:
        values = abi_decode(list(self.outputs), data)
        return values[0] if len(values) == 1 else values


def _functions(abi: list[dict[str, Any]]) -> dict[str, _Function]:
    out = {}
    for item in abi:
        if item.get("type") != "function":
            continue
        inputs = tuple(abi_type(i) for i in item["inputs"])
        selector = keccak(text=f"{item['name']}({','.join(inputs)})")[:4]
        outputs = tuple(abi_type(o) for o in item["outputs"])
        out[item["name"]] = _Function(selector, inputs, outputs)
    return out


class ContractBinding:
    """Base of the typed wrappers: one deployed contract reached through one Chain."""

    NAME: ClassVar[str]

    def __init__(self, chain: Chain, address: str, decoder: EventDecoder | None = None) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        artifact = load_artifact(self.NAME)
        self.contract = chain.w3.eth.contract(address=self.address, abi=artifact.abi)
        self._selectors = error_selectors(artifact.abi)
        self._functions = _functions(artifact.abi)
        self._decoder = decoder or EventDecoder.for_contracts({self.NAME: self.address})

    def _view(self, fn: str, *args: Any, block: int | str = "latest") -> Any:
        function = self._functions[fn]
        raw = self.chain.call(
            {"from": ZERO_ADDRESS, "to": self.address, "data": function.encode(args)},
            block=block,
            selectors=self._selectors,
            contract=self.NAME,
        )
        return function.decode(raw)

    def _send(self, account: LocalAccount, fn: str, *args: Any, gas: int | None = None) -> TxResult:
        return run_steps(self._send_steps(account, fn, *args, gas=gas))

    def _send_steps(self, account: LocalAccount, fn: str, *args: Any, gas: int | None = None,
                    ) -> Generator[None, None, TxResult]:
        """`_send` in steps (Chain.transact_steps)."""
        receipt = yield from self.chain.transact_steps(
            account,
            {"to": self.address, "data": self._functions[fn].encode(args)},
            gas=gas,
            selectors=self._selectors,
            contract=self.NAME,
        )
        return self._result(receipt)

    def _result(self, receipt: TxReceipt) -> TxResult:
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=tuple(self._decoder.decode_receipt(receipt)),
        )
