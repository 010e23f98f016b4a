"""Everything a running gateway holds, built once from settings and passed to the app.

No module-level connections or keys: `build_runtime` makes them, `Runtime.start` starts the
background loops (index sync, anchorer) and `Runtime.stop` drains and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from contracts import Chain, Deployment, QcityContracts, connect, load_or_deploy
from contracts import accounts as contracts_accounts
from gateway.audit.anchorer import Anchorer
from gateway.audit.log import AuditLog
from gateway.challenges import ChallengeBook
from gateway.db import make_engine, make_fast_writer
from gateway.index import PermissionIndex
from gateway.jobs.service import JobService
from gateway.keys import KeyFileError, load_or_create_key
from gateway.logs import log_event
from gateway.permissions import PermissionEngine
from gateway.relay import ConsentRelay, build_relay
from gateway.rpc import RpcDoor
from gateway.sessions import LoginService
from gateway.settings import GatewaySettings
from gateway.sync import IndexSyncer
from gateway.tokens import TokenService
from gateway.twin import TwinPort
from gateway.twin_store import TwinCoreStore
from quantum import JobBackend

_log = logging.getLogger("qcity.gateway")
_MIN_BALANCE_WEI = 10**18


SERVING_GC_THRESHOLD = 20_000
"""Young-generation threshold while serving (CPython's default is 700)."""


def freeze_heap() -> None:
    """Move everything alive now out of the garbage collector's sight, and collect the young
    generation less often.

    A full collection over the objects py-evm, web3 and pydantic create at start-up takes
    ~200 ms here: a latency spike for every request in flight. Frozen, it takes a few ms.
    The young threshold counts allocations net of frees, so at 700 the transient objects of
    a few dozen requests in flight start a collection every few milliseconds (~0.3 ms each,
    ~3% of the CPU under load) that finds almost nothing: request objects die by reference
    count, and little garbage here is cyclic. Call once, after the app is built and before
    serving (`qcity serve` does).
    """
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(SERVING_GC_THRESHOLD, young), older, oldest)


def load_or_create_account(path: Path) -> LocalAccount:
    """An Ethereum key kept in `path` (mode 0600), generated on first use (the chain layer's
    keeper; a key file others may read is a KeyFileError here, so `qcity serve` says why)."""
    try:
        return contracts_accounts.load_or_create_account(path)
    except PermissionError as exc:
        raise KeyFileError(str(exc)) from exc


def _read_funder_key(path: Path | None) -> str | None:
    """The funder's key from its file, which must exist and be private (mode 0600)."""
    if path is None:
        return None
    try:
        return "0x" + bytes(contracts_accounts.load_account(path).key).hex()
    except PermissionError as exc:
        raise KeyFileError(str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read the funder key {path}: {exc}") from exc


def _personal_in_twin(category: str) -> bool:
    """twin_core's own view of a category (personal if the twin says so)."""
    try:
        from twin_core.categories import CATEGORIES
    except ImportError:  # pragma: no cover - the twin is part of this distribution
        return False
    found = CATEGORIES.get(category)
    return bool(found and found.personal)


def known_categories() -> frozenset[str]:
    """Categories the gateway accepts: the chain layer's registry and the twin's."""
    from contracts import DATA_CATEGORIES

    names = set(DATA_CATEGORIES)
    with contextlib.suppress(ImportError):
        from twin_core.categories import CATEGORIES

        names |= set(CATEGORIES)
    return frozenset(names)


@dataclass
class Runtime:
    """The gateway's services; one per app."""

    settings: GatewaySettings
    chain: Chain
    contracts: QcityContracts
    index: PermissionIndex
    syncer: IndexSyncer
    engine: PermissionEngine
    tokens: TokenService
    login: LoginService
    audit: AuditLog
    anchorer: Anchorer
    rpc: RpcDoor
    twin: TwinPort
    recorder: LocalAccount
    categories: frozenset[str]
    relay: ConsentRelay
    jobs: JobService
    owns_chain: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """First sync (so the first request can be answered), then the background loops."""
        await self.syncer.sync_now()
        await self.jobs.start()  # recovery judges consents at the synced block
        self._tasks = [
            asyncio.create_task(self.syncer.run(), name="qcity-index-sync"),
            asyncio.create_task(self.anchorer.run(), name="qcity-anchorer"),
        ]
        log_event(_log, "gateway_started", block=self.index.block, mode=self.engine.mode,
                  chain_id=self.chain.chain_id)

    async def stop(self) -> None:
        """Stop the jobs (unfinished ones stay so, for the next start), stop the loops,
        commit queued decisions, try one last anchor, close the chain."""
        await self.jobs.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.audit.drain()
        with contextlib.suppress(Exception):  # what stays unanchored is anchored next start
            await self.anchorer.anchor_now()
        if self.owns_chain:
            self.chain.close()
        log_event(_log, "gateway_stopped", block=self.index.block)


def build_runtime(
    settings: GatewaySettings,
    *,
    chain: Chain | None = None,
    deployment: Deployment | None = None,
    recorder: LocalAccount | None = None,
    twin: TwinPort | None = None,
    job_backend: JobBackend | None = None,
) -> Runtime:
    """Open (or take) the chain, deploy on first start, load keys, open the store.

    `job_backend`: a backend the caller owns (an embedder's, a test's warm pool), used by the
    job service instead of opening one from the settings, and never closed by it."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = load_or_create_key(settings.key_path)
    owns_chain = chain is None
    if chain is None:
        chain_dir = None if settings.chain_url else data_dir / "chain"
        chain = connect(settings.chain_url, data_dir=chain_dir,
                        funder_key=_read_funder_key(settings.funder_key_file))
    recorder = recorder or load_or_create_account(data_dir / "recorder.key")
    if deployment is None:
        admin = load_or_create_account(data_dir / "governance-admin.key")
        for account in (admin, recorder):
            if chain.balance(account.address) < _MIN_BALANCE_WEI:
                chain.fund(account.address, 100 * _MIN_BALANCE_WEI)
        deployment = load_or_deploy(chain, admin, data_dir, recorder=recorder.address)
    contracts = QcityContracts.attach(chain, deployment)

    index = PermissionIndex()
    syncer = IndexSyncer(index, contracts, poll_s=settings.index_poll_s,
                         stale_s=settings.chain_stale_s, max_lag=settings.max_index_lag_blocks,
                         lag_wait_s=settings.index_wait_s)
    engine = PermissionEngine(index, syncer, contracts, mode=settings.permission_mode,
                              extra_personal=_personal_in_twin)
    tokens = TokenService(key, audience=settings.audience, issuer=settings.issuer,
                          ttl_s=settings.token_ttl_s, clock_skew_s=settings.clock_skew_s)
    challenges = ChallengeBook(audience=settings.audience, ttl_s=settings.challenge_ttl_s)
    db = make_engine(settings.database_url)
    audit = AuditLog(db, fast_engine=make_fast_writer(settings.database_url),
                     flush_max=settings.audit_flush_max)
    anchorer = Anchorer(audit, contracts, recorder, every_n=settings.anchor_every_n,
                        every_s=settings.anchor_every_s, max_batch=settings.anchor_max_batch,
                        after_anchor=syncer.sync_now)
    rpc = RpcDoor(chain, max_batch=settings.rpc_max_batch, after_transaction=syncer.sync_now)
    relay = build_relay(contracts, load_or_create_account(settings.relayer_key_path), engine,
                        syncer, max_per_subject=settings.relay_max_per_subject,
                        window_s=settings.relay_window_s)
    twin = twin or TwinCoreStore.open(settings.database_url)
    jobs = JobService(settings, db, audit, index, twin, backend=job_backend)
    return Runtime(
        settings=settings, chain=chain, contracts=contracts, index=index, syncer=syncer,
        engine=engine, tokens=tokens, login=LoginService(challenges, tokens, engine),
        audit=audit, anchorer=anchorer, rpc=rpc,
        twin=twin, recorder=recorder, categories=known_categories(), relay=relay, jobs=jobs,
        owns_chain=owns_chain,
    )
