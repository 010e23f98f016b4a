"""The embedded chain's web3 provider and the small translations between eth-tester and
JSON-RPC that the chain layer needs (revert data, free calls, JSON-RPC answers)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from eth_tester import EthereumTester
from hexbytes import HexBytes
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from .errors import ChainUnavailable


def jsonable(value: Any) -> Any:
    """eth-tester answers with ints and bytes; JSON-RPC speaks hex strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def hex_payload(data: Any) -> bytes | None:
    """Revert data as nodes report it: a hex string, or nested in {"data": ...} (Hardhat)."""
    for _ in range(3):
        if isinstance(data, Mapping):
            data = data.get("data") or data.get("originalError")
        elif isinstance(data, bytes | bytearray):
            return bytes(data)
        elif isinstance(data, str) and data.startswith("0x"):
            return bytes(HexBytes(data))
        else:
            return None
    return None


class EmbeddedProvider(EthereumTesterProvider):
    """eth-tester provider made thread-safe (py-evm is not) and closable."""

    def __init__(self, tester: EthereumTester, lock: threading.RLock) -> None:
        super().__init__(tester)
        self._lock = lock
        self.closed = False

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            if self.closed:
                raise ChainUnavailable("the embedded chain is closed")
            if method in _FREE_CALLS and params and isinstance(params[0], dict):
                params = [_free_call(params[0]), *params[1:]]
            return super().make_request(method, params)

    def is_connected(self, show_traceback: bool = False) -> bool:  # type: ignore[override]
        return not self.closed


_FREE_CALLS = {"eth_call", "eth_estimateGas"}
ZERO_ADDRESS = "0x" + "00" * 20
_FEE_KEYS = {"gas_price", "max_fee_per_gas", "gasPrice", "maxFeePerGas"}


def _free_call(tx: dict[str, Any]) -> dict[str, Any]:
    """Like geth: a call without fee fields costs nothing, so any sender may make it.

    eth-tester would price it at 1 gwei and refuse unfunded senders. Params reach this point
    already translated to eth-tester's snake_case keys.
    """
    tx = {**tx, "from": ZERO_ADDRESS} if tx.get("from") is None else tx
    if _FEE_KEYS & tx.keys():
        return tx
    return {**tx, "max_fee_per_gas": 0, "max_priority_fee_per_gas": 0}
