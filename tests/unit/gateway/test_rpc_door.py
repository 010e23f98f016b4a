"""The JSON-RPC door: standard methods pass, everything else is refused before the chain."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from contracts.errors import ChainError, ChainUnavailable, ContractRevert
from gateway.rpc import ALLOWED, RpcDoor


class FakeChain:
    """Records what reaches the chain; answers like Chain.rpc."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        self.error = error

    def rpc(self, method: str, params: list[Any]) -> Any:
        self.calls.append((method, params))
        if self.error is not None:
            raise self.error
        return "0x1"


def answer(door: RpcDoor, payload: Any) -> Any:
    return asyncio.run(door.handle(payload))


def call(method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    return body


def test_allow_list_holds_the_issue_methods_and_no_key_methods() -> None:
    required = {"eth_chainId", "eth_blockNumber", "eth_call", "eth_getLogs",
                "eth_getTransactionReceipt", "eth_getBlockByNumber", "eth_getTransactionCount",
                "eth_estimateGas", "eth_gasPrice", "eth_sendRawTransaction"}
    assert required <= set(ALLOWED)
    forbidden = {"eth_sendTransaction", "eth_sign", "eth_signTransaction", "eth_signTypedData_v4",
                 "personal_sign", "personal_unlockAccount", "evm_mine", "evm_increaseTime",
                 "debug_traceTransaction", "admin_addPeer", "miner_start", "eth_coinbase"}
    assert not forbidden & set(ALLOWED)


@pytest.mark.parametrize("method", ["eth_sendTransaction", "eth_sign", "personal_newAccount",
                                    "evm_snapshot", "", "x" * 500])
def test_other_methods_are_method_not_found_and_never_reach_the_chain(method: str) -> None:
    chain = FakeChain()
    result = answer(RpcDoor(chain), call(method, []))  # type: ignore[arg-type]
    assert result["error"]["code"] == -32601
    assert chain.calls == []


def test_eth_accounts_is_empty_without_asking_the_chain() -> None:
    chain = FakeChain()
    assert answer(RpcDoor(chain), call("eth_accounts", []))["result"] == []  # type: ignore[arg-type]
    assert chain.calls == []


@pytest.mark.parametrize(("method", "params"), [
    ("eth_blockNumber", ["extra"]),
    ("eth_getBalance", ["0x12"]),
    ("eth_getBalance", [["0x" + "11" * 20]]),
    ("eth_call", [{"to": "0x12"}]),
    ("eth_call", [{"from": "0x" + "11" * 20, "gas": 5}]),
    ("eth_call", [{"unknown": "0x"}]),
    ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "0xfffffff"}]),
    ("eth_getLogs", [{"topics": ["0x12"]}]),
    ("eth_getBlockByNumber", ["0x01", False]),
    ("eth_getBlockByNumber", ["latest", "yes"]),
    ("eth_getTransactionReceipt", ["0x" + "1" * 63]),
    ("eth_feeHistory", ["0x1", "latest", [101]]),
    ("eth_sendRawTransaction", ["not hex"]),
    ("eth_chainId", {"named": 1}),
])
def test_bad_params_are_invalid_params_and_never_reach_the_chain(method: str, params: Any) -> None:
    chain = FakeChain()
    result = answer(RpcDoor(chain), call(method, params))  # type: ignore[arg-type]
    assert result["error"]["code"] == -32602, result
    assert chain.calls == []


@pytest.mark.parametrize("payload", [
    None, 1, "x", [], {"id": 1, "method": "eth_chainId"}, {"jsonrpc": "1.0", "id": 1},
    {"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"},
    {"jsonrpc": "2.0", "id": True, "method": "eth_chainId"},
    {"jsonrpc": "2.0", "id": 1, "method": 5},
])
def test_malformed_requests_are_invalid_request(payload: Any) -> None:
    result = answer(RpcDoor(FakeChain()), payload)  # type: ignore[arg-type]
    assert result["error"]["code"] == -32600


def test_batches_answer_each_call_and_are_bounded() -> None:
    door = RpcDoor(FakeChain(), max_batch=3)  # type: ignore[arg-type]
    result = answer(door, [call("eth_chainId"), call("eth_sign", []), call("eth_blockNumber")])
    assert [("result" in r, r["id"]) for r in result] == [(True, 1), (False, 1), (True, 1)]
    assert answer(door, [call("eth_chainId")] * 4)["error"]["code"] == -32600


def test_notifications_get_no_answer() -> None:
    door = RpcDoor(FakeChain())  # type: ignore[arg-type]
    assert answer(door, {"jsonrpc": "2.0", "method": "eth_chainId"}) is None


def test_chain_errors_map_to_json_rpc_errors() -> None:
    down = answer(RpcDoor(FakeChain(ChainUnavailable("x"))), call("eth_chainId"))  # type: ignore[arg-type]
    assert down["error"] == {"code": -32000, "message": "chain unavailable"}
    revert = ContractRevert({}, data="0x08c379a0")
    reverted = answer(RpcDoor(FakeChain(revert)), call(  # type: ignore[arg-type]
        "eth_call", [{"to": "0x" + "11" * 20, "data": "0x"}]))
    assert reverted["error"] == {"code": 3, "message": "execution reverted", "data": "0x08c379a0"}
    node = answer(RpcDoor(FakeChain(ChainError("nonce too low"))), call(  # type: ignore[arg-type]
        "eth_sendRawTransaction", ["0x02"]))
    assert node["error"]["code"] == -32000
    odd = answer(RpcDoor(FakeChain(IndexError("x"))), call("eth_chainId"))  # type: ignore[arg-type]
    assert odd["error"]["code"] == -32602


def test_raw_transaction_triggers_index_sync() -> None:
    synced: list[bool] = []

    async def after() -> None:
        synced.append(True)

    door = RpcDoor(FakeChain(), after_transaction=after)  # type: ignore[arg-type]
    assert answer(door, call("eth_sendRawTransaction", ["0x02f8"]))["result"] == "0x1"
    assert answer(door, call("eth_blockNumber", []))["result"] == "0x1"
    assert synced == [True]


def test_eth_call_without_block_defaults_to_latest() -> None:
    chain = FakeChain()
    answer(RpcDoor(chain), call("eth_call", [{"to": "0x" + "11" * 20}]))  # type: ignore[arg-type]
    assert chain.calls == [("eth_call", [{"to": "0x" + "11" * 20}, "latest"])]
