"""The embedded chain: eth-tester's py-evm backend, made deterministic and durable.

py-evm keeps its state in memory. To survive a restart, every mined block is appended to a
journal (JSON lines: block number, timestamp, raw signed transactions, resulting block hash)
before the transaction's sender hears back; on start the journal is replayed block by block
and each rebuilt block hash is compared with the recorded one (the hash covers the state,
receipts and transactions roots, so equal hashes mean equal state). Two things make replay
exact: block timestamps are chosen here and recorded, and the post-merge `prevrandao` (mix
hash) is derived from the parent hash instead of os.urandom.

The journal logs blocks, not RPC calls, so whatever reached the chain is captured: raw
transactions, faucet transfers and time travel (an empty block at a chosen time). Funding
comes from a faucet account allocated in the genesis; its key is generated on first start
and kept next to the journal (mode 0600), never committed.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from eth.exceptions import Revert
from eth.vm.spoof import SpoofTransaction
from eth_account import Account
from eth_tester import PyEVMBackend
from eth_tester.backends.pyevm.main import _execute_and_revert_transaction
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_canonical_address

from .errors import ChainError, JournalMismatch

JOURNAL_VERSION = 1
EMBEDDED_CHAIN_ID = 131277322940537  # fixed by eth-tester's tester chain
FAUCET_BALANCE_WEI = 10**9 * 10**18
_ZERO_ADDRESS = b"\x00" * 20
_MIX_DOMAIN = b"qcity/prevrandao"


class RevertedCall(TransactionFailed):
    """An eth_call reverted; `data` holds the raw revert data (eth-tester keeps only a repr)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(f"execution reverted: 0x{data.hex()}")
        self.data = data


class _Journal:
    """Append-only JSON-lines file; a torn last line (crash mid-write) is dropped on read."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync

    def read(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        lines = self.path.read_bytes().split(b"\n")
        records: list[dict[str, Any]] = []
        good_bytes = 0
        for i, line in enumerate(lines):
            if not line.strip():
                good_bytes += len(line) + 1
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if i != len(lines) - 1:
                    raise ChainError(f"{self.path}: line {i + 1} is corrupt") from None
                break  # torn tail: the sender of that block never heard back
            good_bytes += len(line) + 1
        if good_bytes < self.path.stat().st_size:
            with self.path.open("r+b") as fh:
                fh.truncate(good_bytes)
        if not records or records[0].get("kind") != "genesis":
            raise ChainError(f"{self.path}: no genesis record")
        return records[0], records[1:]

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())


class JournalingBackend(PyEVMBackend):
    """PyEVMBackend with chosen block timestamps, derived mix hashes and a block journal."""

    def __init__(
        self,
        genesis_timestamp: int,
        alloc: dict[str, int],
        *,
        journal: _Journal | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal: _Journal | None = None  # attached after replay
        self.data_dir_lock: IO[bytes] | None = None
        self._stamped = False
        self._clock = clock
        params = {
            **PyEVMBackend.generate_genesis_params(overrides={"timestamp": genesis_timestamp}),
            # A zero base fee, as on a permissioned free-gas network: eth_call needs no funded
            # sender, and the fee stays zero while blocks stay under half the gas limit.
            "base_fee_per_gas": 0,
        }
        state = {
            to_canonical_address(addr): {"balance": bal, "storage": {}, "code": b"", "nonce": 0}
            for addr, bal in alloc.items()
        }
        super().__init__(genesis_parameters=params, genesis_state=state)
        # No unlocked accounts: every transaction is signed by its sender's own key.
        self.account_keys = ()
        self._journal = journal

    # ----------------------------------------------------------- time and mining

    def _stamp_pending(self, timestamp: int | None = None) -> None:
        """Fix the pending block's timestamp: the one requested, or now (after its parent)."""
        parent = self.chain.get_canonical_head()
        ts = max(parent.timestamp + 1, int(self._clock())) if timestamp is None else timestamp
        self.chain.header = self.chain.header.copy(timestamp=ts)
        self._stamped = True

    def _ensure_stamped(self) -> None:
        # The first transaction of a block fixes its time, so it executes at "now".
        if not self._stamped:
            self._stamp_pending()

    def _mine_one(self, coinbase: bytes = _ZERO_ADDRESS) -> Any:
        parent_hash = self.chain.header.parent_hash
        mix_hash = keccak(_MIX_DOMAIN + parent_hash)
        block = self.chain.mine_block(coinbase=coinbase, mix_hash=mix_hash, blob_gas_used=0)
        self._stamped = False
        return block

    def mine_blocks(
        self, num_blocks: int = 1, coinbase: bytes = _ZERO_ADDRESS
    ) -> tuple[bytes, ...]:
        hashes = []
        for _ in range(num_blocks):
            self._ensure_stamped()
            block = self._mine_one(coinbase)
            if self._journal is not None:
                self._journal.append(
                    {
                        "kind": "block",
                        "number": block.number,
                        "timestamp": block.header.timestamp,
                        "coinbase": "0x" + coinbase.hex(),
                        "txs": ["0x" + tx.encode().hex() for tx in block.transactions],
                        "hash": "0x" + block.hash.hex(),
                    }
                )
            hashes.append(block.hash)
        return tuple(hashes)

    def time_travel(self, to_timestamp: int) -> int:
        """Mine an empty block at `to_timestamp` (which must lie after the head block)."""
        head = self.chain.get_canonical_head()
        if to_timestamp <= head.timestamp:
            raise ChainError(f"cannot travel to {to_timestamp}: head block is at {head.timestamp}")
        self._stamp_pending(to_timestamp)
        self.mine_blocks()
        return to_timestamp

    def _sending(self, send: Callable[..., bytes], *args: Any) -> bytes:
        self._ensure_stamped()
        try:
            return send(*args)
        except Exception:
            if not self.chain.get_block().transactions:
                self._stamped = False  # nothing entered the block: let the next one re-stamp
            raise

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        return self._sending(super().send_raw_transaction, raw_transaction)

    def send_signed_transaction(
        self, signed_transaction: Any, block_number: Any = "latest"
    ) -> bytes:
        return self._sending(super().send_signed_transaction, signed_transaction, block_number)

    def send_transaction(self, transaction: Any) -> bytes:
        return self._sending(super().send_transaction, transaction)

    def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
        """eth-tester's call, but a revert keeps its raw data for custom-error decoding."""
        tx = dict(transaction)
        tx.setdefault("gas", self._max_available_gas())
        unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, block_number)
        computation = _execute_and_revert_transaction(
            self.chain, SpoofTransaction(unsigned, from_=transaction["from"]), block_number
        )
        if computation.is_error:
            error = computation._error
            data = error.args[0] if isinstance(error, Revert) and error.args else b""
            raise RevertedCall(data if isinstance(data, bytes) else b"")
        return computation.output

    def take_snapshot(self) -> bytes:
        if self._journal is not None:
            raise ChainError("snapshots would fork a persistent chain from its journal")
        return super().take_snapshot()

    def revert_to_snapshot(self, snapshot: bytes) -> None:
        if self._journal is not None:
            raise ChainError("snapshots would fork a persistent chain from its journal")
        super().revert_to_snapshot(snapshot)

    def release(self) -> None:
        """Give the data dir up (another process may open it now)."""
        self._journal = None
        if self.data_dir_lock is not None:
            self.data_dir_lock.close()
            self.data_dir_lock = None

    # ----------------------------------------------------------- replay

    def genesis_hash(self) -> str:
        return "0x" + self.chain.get_canonical_block_header_by_number(0).hash.hex()

    def replay(self, records: list[dict[str, Any]]) -> None:
        """Re-execute journaled blocks, failing loudly at the first diverging block hash."""
        for record in records:
            if record.get("kind") != "block":
                continue
            self._stamp_pending(int(record["timestamp"]))
            builder = self.chain.get_vm().get_transaction_builder()
            for raw in record["txs"]:
                self.chain.apply_transaction(builder.decode(bytes.fromhex(raw[2:])))
            block = self._mine_one(bytes.fromhex(record["coinbase"][2:]))
            got = "0x" + block.hash.hex()
            if block.number != record["number"] or got != record["hash"]:
                raise JournalMismatch(
                    f"block {record['number']}: journal says {record['hash']}, replay gave {got}"
                )


def open_backend(
    data_dir: Path | None,
    *,
    clock: Callable[[], float] = time.time,
    fsync: bool = True,
) -> tuple[JournalingBackend, str]:
    """Start the embedded chain, replaying `data_dir`'s journal when one exists.

    Returns the backend and the faucet's private key (hex). Without a data dir the chain
    lives in memory only, with a fresh faucet key.
    """
    if data_dir is None:
        key = "0x" + secrets.token_hex(32)
        faucet = Account.from_key(key).address
        return JournalingBackend(int(clock()), {faucet: FAUCET_BALANCE_WEI}, clock=clock), key
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_data_dir(data_dir)
    try:
        backend, key = _open_journaled(data_dir, clock=clock, fsync=fsync)
    except BaseException:
        lock.close()
        raise
    backend.data_dir_lock = lock
    return backend, key


def _lock_data_dir(data_dir: Path) -> IO[bytes]:
    """One owner per data dir: two processes appending to one journal would fork the chain."""
    handle = (data_dir / "chain.lock").open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ChainError(
            f"{data_dir} is in use by another process; connect to that process's node over "
            "JSON-RPC instead"
        ) from None
    return handle


def _open_journaled(
    data_dir: Path, *, clock: Callable[[], float], fsync: bool
) -> tuple[JournalingBackend, str]:
    journal = _Journal(data_dir / "chain.jsonl", fsync=fsync)
    key_path = data_dir / "faucet.key"
    if journal.path.exists():
        genesis, records = journal.read()
        if genesis.get("version") != JOURNAL_VERSION:
            raise ChainError(
                f"{journal.path}: unsupported journal version {genesis.get('version')}"
            )
        key = key_path.read_text().strip()
        backend = JournalingBackend(int(genesis["timestamp"]), genesis["alloc"], clock=clock)
        if backend.genesis_hash() != genesis["hash"]:
            raise JournalMismatch(
                f"genesis: journal says {genesis['hash']}, rebuilt {backend.genesis_hash()}"
            )
        backend.replay(records)
        backend._journal = journal
        return backend, key
    key = "0x" + secrets.token_hex(32)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    alloc = {Account.from_key(key).address: FAUCET_BALANCE_WEI}
    genesis_ts = int(clock())
    backend = JournalingBackend(genesis_ts, alloc, clock=clock)
    journal.append(
        {
            "kind": "genesis",
            "version": JOURNAL_VERSION,
            "chain_id": EMBEDDED_CHAIN_ID,
            "timestamp": genesis_ts,
            "alloc": alloc,
            "hash": backend.genesis_hash(),
        }
    )
    backend._journal = journal
    return backend, key
