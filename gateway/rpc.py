"""The JSON-RPC door: the standard Ethereum methods wallets and auditors need, nothing more.

Reads and `eth_sendRawTransaction` (transactions the sender signed themselves) pass through
`Chain.rpc`; no method that uses a node-held key (eth_sendTransaction, eth_sign,
personal_*), administers the node (admin_*, debug_*, miner_*) or moves time (evm_*) is
reachable, and eth_accounts answers an empty list: the gateway holds no unlocked account.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from contracts.chain import Chain
from contracts.errors import ChainError, ChainUnavailable, ContractRevert

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SERVER_ERROR, EXECUTION_REVERTED = -32000, 3

_HEX = re.compile(r"\A0x[0-9a-fA-F]*\Z")
_QUANTITY = re.compile(r"\A0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})\Z")
_HASH = re.compile(r"\A0x[0-9a-fA-F]{64}\Z")
_ADDRESS = re.compile(r"\A0x[0-9a-fA-F]{40}\Z")
_TAGS = {"latest", "earliest", "pending", "safe", "finalized"}
_TX_KEYS = {
    "from", "to", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "data",
    "input", "nonce", "type", "accessList", "chainId",
}
_FILTER_KEYS = {"fromBlock", "toBlock", "address", "topics", "blockHash"}
MAX_LOG_RANGE = 50_000


class InvalidParams(ValueError):
    """The params do not fit the method."""


def _block(value: Any) -> None:
    if not (value in _TAGS or (isinstance(value, str) and _QUANTITY.match(value))):
        raise InvalidParams("block must be a tag or a hex quantity")


def _tx(value: Any) -> None:
    if not isinstance(value, dict) or not set(value) <= _TX_KEYS:
        raise InvalidParams("transaction object expected")
    for key, item in value.items():
        if key == "accessList":
            if not isinstance(item, list):
                raise InvalidParams("accessList must be a list")
        elif key in {"from", "to"}:
            if item is not None and not (isinstance(item, str) and _ADDRESS.match(item)):
                raise InvalidParams(f"{key} must be an address")
        elif not (isinstance(item, str) and _HEX.match(item)):
            raise InvalidParams(f"{key} must be hex")


def _filter(value: Any) -> None:
    if not isinstance(value, dict) or not set(value) <= _FILTER_KEYS:
        raise InvalidParams("filter object expected")
    for key in ("fromBlock", "toBlock"):
        if key in value:
            _block(value[key])
    if "blockHash" in value and not (isinstance(value["blockHash"], str)
                                     and _HASH.match(value["blockHash"])):
        raise InvalidParams("blockHash must be a 32-byte hash")
    addresses = value.get("address", [])
    for a in addresses if isinstance(addresses, list) else [addresses]:
        if not (isinstance(a, str) and _ADDRESS.match(a)):
            raise InvalidParams("address must be an address or a list of them")
    topics = value.get("topics", [])
    if not isinstance(topics, list) or len(topics) > 4:
        raise InvalidParams("topics must be a list of at most 4")
    for t in topics:
        for one in t if isinstance(t, list) else [t]:
            if one is not None and not (isinstance(one, str) and _HASH.match(one)):
                raise InvalidParams("topics must be 32-byte hashes or null")
    low, high = value.get("fromBlock"), value.get("toBlock")
    if (isinstance(low, str) and isinstance(high, str) and low.startswith("0x")
            and high.startswith("0x") and int(high, 16) - int(low, 16) > MAX_LOG_RANGE):
        raise InvalidParams(f"at most {MAX_LOG_RANGE} blocks per eth_getLogs")


def _shape(*checks: Callable[[Any], None], optional: int = 0) -> Callable[[list[Any]], None]:
    """A params check: positional values with `optional` trailing ones."""

    def check(params: list[Any]) -> None:
        if not len(checks) - optional <= len(params) <= len(checks):
            raise InvalidParams(f"expected {len(checks) - optional}..{len(checks)} params")
        for fn, value in zip(checks, params, strict=False):
            fn(value)

    return check


def _match(pattern: re.Pattern[str], what: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not (isinstance(value, str) and pattern.match(value)):
            raise InvalidParams(f"{what} expected")

    return check


def _bool(value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidParams("boolean expected")


def _percentiles(value: Any) -> None:
    if not (isinstance(value, list) and len(value) <= 100
            and all(isinstance(v, int | float) and 0 <= v <= 100 for v in value)):
        raise InvalidParams("reward percentiles must be numbers 0..100")


_NONE = _shape()
ALLOWED: dict[str, Callable[[list[Any]], None]] = {
    "eth_chainId": _NONE,
    "net_version": _NONE,
    "web3_clientVersion": _NONE,
    "eth_syncing": _NONE,
    "eth_blockNumber": _NONE,
    "eth_gasPrice": _NONE,
    "eth_maxPriorityFeePerGas": _NONE,
    "eth_accounts": _NONE,
    "eth_feeHistory": _shape(_match(_QUANTITY, "block count"), _block, _percentiles, optional=1),
    "eth_call": _shape(_tx, _block, optional=1),
    "eth_estimateGas": _shape(_tx, _block, optional=1),
    "eth_getLogs": _shape(_filter),
    "eth_getTransactionReceipt": _shape(_match(_HASH, "transaction hash")),
    "eth_getTransactionByHash": _shape(_match(_HASH, "transaction hash")),
    "eth_getBlockByNumber": _shape(_block, _bool),
    "eth_getBlockByHash": _shape(_match(_HASH, "block hash"), _bool),
    "eth_getTransactionCount": _shape(_match(_ADDRESS, "address"), _block, optional=1),
    "eth_getBalance": _shape(_match(_ADDRESS, "address"), _block, optional=1),
    "eth_getCode": _shape(_match(_ADDRESS, "address"), _block, optional=1),
    "eth_sendRawTransaction": _shape(_match(_HEX, "signed transaction")),
}
"""Every method the door answers, with its params check."""


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


class RpcDoor:
    """Answers JSON-RPC 2.0 requests (single or batch) against one chain."""

    def __init__(
        self,
        chain: Chain,
        *,
        max_batch: int = 50,
        after_transaction: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.chain = chain
        self.max_batch = max_batch
        self._after_tx = after_transaction

    async def handle(self, payload: Any) -> dict[str, Any] | list[dict[str, Any]] | None:
        """The response to a decoded JSON payload (None for a batch of notifications only)."""
        if isinstance(payload, list):
            if not payload or len(payload) > self.max_batch:
                return _error(None, INVALID_REQUEST, f"batches hold 1..{self.max_batch} calls")
            answers = [await self._one(item) for item in payload]
            kept = [a for a in answers if a is not None]
            return kept or None
        return await self._one(payload) or None

    async def _one(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error(None, INVALID_REQUEST, "not a JSON-RPC 2.0 request")
        request_id = request.get("id")
        if not (request_id is None or isinstance(request_id, str | int)) or isinstance(
            request_id, bool
        ):
            return _error(None, INVALID_REQUEST, "id must be a string, a number or null")
        method, params = request.get("method"), request.get("params", [])
        if not isinstance(method, str):
            return _error(request_id, INVALID_REQUEST, "method must be a string")
        check = ALLOWED.get(method)
        if check is None:
            return _error(request_id, METHOD_NOT_FOUND, f"{method[:64]} is not available here")
        if not isinstance(params, list):
            return _error(request_id, INVALID_PARAMS, "params must be a list")
        try:
            check(params)
        except InvalidParams as exc:
            return _error(request_id, INVALID_PARAMS, str(exc))
        answer = await self._call(request_id, method, params)
        return answer if "id" in request else None

    async def _call(self, request_id: Any, method: str, params: list[Any]) -> dict[str, Any]:
        if method == "eth_accounts":
            return {"jsonrpc": "2.0", "id": request_id, "result": []}
        if method == "eth_call" and len(params) == 1:
            params = [*params, "latest"]
        try:
            result = await asyncio.to_thread(self.chain.rpc, method, params)
        except ChainUnavailable:
            return _error(request_id, SERVER_ERROR, "chain unavailable")
        except ContractRevert as exc:
            return _error(request_id, EXECUTION_REVERTED, "execution reverted", exc.data)
        except ChainError as exc:
            return _error(request_id, SERVER_ERROR, str(exc)[:300])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            return _error(request_id, INVALID_PARAMS, f"{type(exc).__name__}: {str(exc)[:200]}")
        if method == "eth_sendRawTransaction" and self._after_tx is not None:
            await self._after_tx()  # read-your-writes: the index holds the new block first
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
