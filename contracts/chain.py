"""Connect to a chain: the embedded eth-tester chain (default) or any EVM JSON-RPC node.

`Chain` is the one object the rest of qcity holds: it signs and sends transactions, decodes
reverts into the contracts' custom errors, funds accounts, moves time (embedded chain and
Hardhat-style dev nodes) and exposes the web3 instance for a read-only JSON-RPC passthrough.
Every write goes through `send_raw_transaction`, which on the embedded chain is journaled.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import ValidationError as EthTesterError
from eth_utils import ValidationError as EthUtilsValidationError
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.datastructures import NamedElementOnion
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3RPCError,
)
from web3.types import RPCEndpoint, TxParams, TxReceipt

from ._embedded import EMBEDDED_CHAIN_ID, JournalingBackend, RevertedCall, open_backend
from ._provider import ZERO_ADDRESS, EmbeddedProvider, hex_payload, jsonable
from ._revert import decode_revert
from .errors import ChainError, ChainUnavailable, ContractRevert

DEFAULT_TIP_WEI = 10**9  # 1 gwei priority fee
_GAS_MARGIN = 1.25
_EMBEDDED_GAS = 6_000_000  # gas limit when pre-flighting with eth_call
_T = TypeVar("_T")
_NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, ProviderConnectionError, OSError)


def run_steps(steps: Generator[None, None, _T]) -> _T:
    """Run a step generator (such as `Chain.transact_steps`) to its end; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class BlockInfo:
    """The facts of one block that answers and audit records cite."""

    number: int
    hash: str
    timestamp: int
    state_root: str


class Chain:
    """One chain connection: web3, signing, revert decoding, funding and time control."""

    def __init__(
        self,
        w3: Web3,
        *,
        backend: JournalingBackend | None = None,
        tester: EthereumTester | None = None,
        faucet: LocalAccount | None = None,
        receipt_timeout: float = 30.0,
    ) -> None:
        self.w3 = w3
        self._backend = backend
        self._tester = tester
        self._faucet = faucet
        self._receipt_timeout = receipt_timeout
        self._send_lock = threading.RLock()
        with self.rpc_errors():
            self.chain_id: int = int(w3.eth.chain_id)

    # ----------------------------------------------------------------- facts

    @property
    def embedded(self) -> bool:
        """True for the in-process eth-tester chain."""
        return self._backend is not None

    @property
    def persistent(self) -> bool:
        """True when the embedded chain journals to a data dir (or for any external node)."""
        return self._backend is None or self._backend._journal is not None

    @property
    def provider(self) -> Any:
        """The web3 provider, for a JSON-RPC passthrough (`provider.make_request`)."""
        return self.w3.provider

    def block_number(self) -> int:
        """The latest mined block's number."""
        with self.rpc_errors():
            return int(self.w3.eth.block_number)

    def latest_block(self) -> Any:
        """The latest mined block (number, hash, timestamp, stateRoot ...)."""
        with self.rpc_errors():
            return self.w3.eth.get_block("latest")

    def timestamp(self) -> int:
        """The latest block's timestamp: the time contract views are judged at."""
        return int(self.latest_block()["timestamp"])

    def block_info(self, block: int | str = "latest") -> BlockInfo:
        """Number, hash, timestamp and state root of one block."""
        with self.rpc_errors():
            b = self.w3.eth.get_block(block)
        return BlockInfo(
            number=int(b["number"]),
            hash="0x" + bytes(b["hash"]).hex(),
            timestamp=int(b["timestamp"]),
            state_root="0x" + bytes(b["stateRoot"]).hex(),
        )

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request, answered in JSON-RPC form (hex quantities), for a passthrough.

        Node errors raise ChainError, reverts ContractRevert (with the raw data); the caller
        decides which methods to expose (qcity's gateway: read-only ones).
        """
        with self.reverts_as({}, None):
            if isinstance(self.w3.provider, EmbeddedProvider):
                # Only the tester provider's own translation layer: web3's outer middleware
                # (ENS names, validation) has no business in a passthrough.
                request = self.w3.provider.request_func(self.w3, NamedElementOnion([]))
                try:
                    response = request(RPCEndpoint(method), params)
                except (EthTesterError, EthUtilsValidationError) as exc:
                    raise ChainError(f"{method}: {exc}") from exc
            else:
                response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise ChainError(f"{method}: {response['error']}")
        return jsonable(response.get("result"))

    # ----------------------------------------------------------------- errors

    @contextlib.contextmanager
    def rpc_errors(self) -> Iterator[None]:
        """Map network failures onto ChainUnavailable (one place for the whole layer)."""
        try:
            yield
        except ChainError:
            raise
        except _NETWORK_ERRORS as exc:
            raise ChainUnavailable(f"chain unreachable: {exc}") from exc
        except TimeExhausted as exc:
            raise ChainUnavailable(f"transaction not mined in time: {exc}") from exc
        except Web3RPCError as exc:
            raise ChainError(f"node refused the request: {exc}") from exc

    @staticmethod
    def _revert_data(exc: Exception) -> bytes | None:
        if isinstance(exc, ContractLogicError):
            found = hex_payload(exc.data)
            if found is not None:
                return found
        # web3's tester provider re-raises reverts as a bare message; ours hides in __context__.
        seen: BaseException | None = exc
        while seen is not None:
            if isinstance(seen, RevertedCall):
                return seen.data
            seen = seen.__cause__ or seen.__context__
        return None

    @contextlib.contextmanager
    def reverts_as(
        self, selectors: dict[bytes, dict[str, Any]], contract: str | None
    ) -> Iterator[None]:
        """Turn a revert inside the block into the custom error's exception class."""
        with self.rpc_errors():
            try:
                yield
            except (ContractLogicError, TransactionFailed) as exc:
                raise decode_revert(self._revert_data(exc), selectors, contract=contract) from exc

    # ----------------------------------------------------------------- calls and transactions

    def call(
        self,
        tx: TxParams,
        *,
        block: int | str = "latest",
        selectors: dict[bytes, dict[str, Any]] | None = None,
        contract: str | None = None,
    ) -> bytes:
        """eth_call, with reverts decoded (embedded: straight to eth-tester, half the cost)."""
        with self.reverts_as(selectors or {}, contract):
            if self._tester is None:
                return bytes(self.w3.eth.call(tx, block))
            call = {
                "from": tx.get("from", ZERO_ADDRESS),
                "to": tx["to"],
                "data": tx.get("data", "0x"),
                "max_fee_per_gas": 0,
                "max_priority_fee_per_gas": 0,
            }
            if "value" in tx:
                call["value"] = int(tx["value"])
            if "gas" in tx:
                call["gas"] = int(tx["gas"])
            with self._tester_lock():
                if self.w3.provider.closed:  # type: ignore[attr-defined]
                    raise ChainUnavailable("the embedded chain is closed")
                return bytes(HexBytes(self._tester.call(call, block)))

    def transact(
        self,
        account: LocalAccount,
        tx: TxParams,
        *,
        gas: int | None = None,
        selectors: dict[bytes, dict[str, Any]] | None = None,
        contract: str | None = None,
    ) -> TxReceipt:
        """Sign `tx` with `account`, send it and return its receipt.

        Gas is estimated unless given; the estimate doubles as a pre-flight, so a revert raises
        the contract's custom error before anything is sent. A transaction that still reverts
        on chain (time moved between estimate and block) is decoded by replaying it at its block.
        """
        return run_steps(self.transact_steps(account, tx, gas=gas, selectors=selectors,
                                             contract=contract))

    def transact_steps(
        self,
        account: LocalAccount,
        tx: TxParams,
        *,
        gas: int | None = None,
        selectors: dict[bytes, dict[str, Any]] | None = None,
        contract: str | None = None,
    ) -> Generator[None, None, TxReceipt]:
        """`transact` as a generator that pauses between its steps (pre-flight, signing,
        sending, which mines the block on the embedded chain, and the receipt): an event loop
        running the embedded chain inline serves requests in each pause (see
        gateway.chain_work). It holds the send lock from the first step to the last: run it
        to the end, or close it."""
        selectors = selectors or {}
        with self._send_lock:
            full: dict[str, Any] = {"from": account.address, "chainId": self.chain_id, **tx}
            with self.reverts_as(selectors, contract):
                if gas is None and self.embedded:
                    # eth_call as pre-flight: a tenth of an estimate's cost on py-evm (and
                    # straight to eth-tester, a third of web3's eth.call; deployments, with
                    # no `to`, through web3).
                    if "to" in full:
                        self.call(full, selectors=selectors, contract=contract)  # type: ignore[arg-type]
                    else:
                        self.w3.eth.call(full)  # type: ignore[arg-type]
                    gas = _EMBEDDED_GAS
                    yield
                elif gas is None:
                    gas = int(self.w3.eth.estimate_gas(full) * _GAS_MARGIN) + 10_000  # type: ignore[arg-type]
                full["gas"] = gas
                full["nonce"] = self.w3.eth.get_transaction_count(account.address, "pending")
                base_fee = int(self.latest_block().get("baseFeePerGas", 0))
                full.setdefault("maxPriorityFeePerGas", DEFAULT_TIP_WEI)
                full.setdefault("maxFeePerGas", 2 * base_fee + int(full["maxPriorityFeePerGas"]))
            signed = account.sign_transaction(full)
            yield
            tx_hash = self.send_raw_transaction(signed.raw_transaction)
            yield
            receipt = self.wait_for_receipt(tx_hash)
        if receipt["status"] != 1:
            raise self._explain_failure(full, receipt, selectors, contract)
        return receipt

    def _explain_failure(
        self,
        tx: dict[str, Any],
        receipt: TxReceipt,
        selectors: dict[bytes, dict[str, Any]],
        contract: str | None,
    ) -> ContractRevert:
        call = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        try:
            self.call(call, block=receipt["blockNumber"], selectors=selectors, contract=contract)
        except ContractRevert as exc:
            exc.tx_hash = tx_hash
            return exc
        return ContractRevert({"status": 0}, contract=contract, tx_hash=tx_hash)

    def send_raw_transaction(self, raw: bytes) -> HexBytes:
        """Submit a signed transaction as is (journaled on the embedded chain)."""
        with self.rpc_errors():
            return self.w3.eth.send_raw_transaction(raw)

    def wait_for_receipt(self, tx_hash: bytes) -> TxReceipt:
        """The receipt of a sent transaction (immediate on auto-mining dev chains)."""
        with self.rpc_errors():
            return self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._receipt_timeout, poll_latency=0.05
            )

    # ----------------------------------------------------------------- accounts

    @staticmethod
    def new_account() -> LocalAccount:
        """A fresh key pair, generated here and now (demo keys are never committed)."""
        return Account.create()

    def balance(self, address: str) -> int:
        """Balance in wei."""
        with self.rpc_errors():
            return int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))

    def fund(self, address: str, wei: int = 10**18) -> TxReceipt:
        """Send `wei` to `address` from the faucet (embedded genesis faucet, a configured
        funder key, or the node's first unlocked account on a dev node such as Hardhat)."""
        to = Web3.to_checksum_address(address)
        if self._faucet is not None:
            return self.transact(self._faucet, {"to": to, "value": wei}, gas=21_000)
        with self.rpc_errors(), self._send_lock:
            accounts = self.w3.eth.accounts
            if not accounts:
                raise ChainError("no faucet: give connect() a funder key")
            tx_hash = self.w3.eth.send_transaction({"from": accounts[0], "to": to, "value": wei})
            return self.wait_for_receipt(tx_hash)

    # ----------------------------------------------------------------- time and blocks

    def mine(self) -> int:
        """Mine an empty block at the current time; returns its number.

        On the embedded chain, views judge expiry by the latest block's time, which stands
        still while nothing is sent; a mined block brings it up to now.
        """
        with self.rpc_errors():
            if self._tester is not None:
                with self._tester_lock():
                    self._tester.mine_blocks(1)
            else:
                self._rpc("evm_mine", [])
        return self.block_number()

    def time_travel(self, timestamp: int) -> int:
        """Mine an empty block at `timestamp` (later than the latest block); returns its number."""
        with self.rpc_errors():
            if self._tester is not None:
                with self._tester_lock():
                    self._tester.backend.time_travel(int(timestamp))
            else:
                self._rpc("evm_setNextBlockTimestamp", [int(timestamp)])
                self._rpc("evm_mine", [])
        return self.block_number()

    def increase_time(self, seconds: int) -> int:
        """Mine an empty block `seconds` after the latest one; returns its timestamp."""
        target = self.timestamp() + int(seconds)
        self.time_travel(target)
        return target

    def snapshot(self) -> Any:
        """Remember the chain state (in-memory embedded chain or dev node only)."""
        with self.rpc_errors():
            if self._tester is not None:
                with self._tester_lock():
                    return self._tester.take_snapshot()
            return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        """Return to a snapshot taken by `snapshot` (dev nodes consume the id)."""
        with self.rpc_errors():
            if self._tester is not None:
                with self._tester_lock():
                    self._tester.revert_to_snapshot(snapshot_id)
                return
            if not self._rpc("evm_revert", [snapshot_id]):
                raise ChainError(f"node refused to revert to snapshot {snapshot_id}")

    def idle(self) -> bool:
        """Embedded chain: whether no other thread is using it right now (a caller on an
        event loop can then run chain work inline without waiting on a lock). A node is
        never idle in this sense: its calls are network I/O."""
        if self._tester is None:
            return False
        for lock in (self._tester_lock(), self._send_lock):
            if not lock.acquire(blocking=False):
                return False
            lock.release()
        return True

    def _tester_lock(self) -> threading.RLock:
        return self.w3.provider._lock  # type: ignore[attr-defined, no-any-return]

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}")
        return response.get("result")

    def close(self) -> None:
        """Stop using the chain; the embedded chain refuses further requests."""
        if isinstance(self.w3.provider, EmbeddedProvider):
            with self._tester_lock():
                self.w3.provider.closed = True
                if self._backend is not None:
                    self._backend.release()


def connect(
    url: str | None = None,
    *,
    data_dir: Path | str | None = None,
    funder_key: str | None = None,
    request_timeout: float = 10.0,
    fsync: bool = True,
) -> Chain:
    """Connect to `url` (any EVM JSON-RPC node), or start the embedded chain when url is None.

    The embedded chain persists in `data_dir` (journal + faucet key) and is replayed and
    verified on start; without a data dir it lives in memory only (tests). `funder_key`
    funds accounts on an external node; without it a dev node's first unlocked account does.
    Raises ChainUnavailable when the node cannot be reached.
    """
    if url is None:
        backend, faucet_key = open_backend(Path(data_dir) if data_dir else None, fsync=fsync)
        tester = EthereumTester(backend=backend)
        provider = EmbeddedProvider(tester, threading.RLock())
        w3 = Web3(provider)
        chain = Chain(w3, backend=backend, tester=tester, faucet=Account.from_key(faucet_key))
        if chain.chain_id != EMBEDDED_CHAIN_ID:
            raise ChainError(f"unexpected embedded chain id {chain.chain_id}")
        return chain
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": request_timeout}))
    funder = Account.from_key(funder_key) if funder_key else None
    try:
        return Chain(w3, faucet=funder)
    except ChainUnavailable:
        raise
    except ChainError as exc:
        raise ChainUnavailable(f"{url} did not answer eth_chainId: {exc}") from exc


def wait_until_reachable(url: str, timeout: float = 30.0) -> None:
    """Poll `url` until it answers eth_chainId; raise ChainUnavailable after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            connect(url, request_timeout=2.0)
            return
        except ChainUnavailable as exc:
            last = exc
            time.sleep(0.2)
    raise ChainUnavailable(f"{url} not reachable after {timeout:.0f}s: {last}")
