"""A real chain (embedded eth-tester) with the contracts deployed and a cast of stakeholders,
and gateways on top of it.

The world is built once per session and snapshotted; each gateway fixture reverts the chain
to that snapshot, so every test starts from the same on-chain state with a fresh database.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from contracts import Chain, Deployment, QcityContracts, connect, load_or_deploy
from gateway import GatewaySettings, create_app
from gateway.runtime import Runtime

HOUSEHOLD = "energy.household_meter"
TRAFFIC = "traffic.flow"
SERVICE = "dpv:ServiceProvision"
PUBLIC = "dpv:PublicBenefit"
# Entities of twin_core's tiny demo city (seed 7): a household meter and a traffic detector.
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00"
DETECTOR_ID = "urn:ngsi-ld:TrafficFlowObserved:tiny:TD-BE00-J0300"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Actor:
    """A stakeholder: an Ethereum account and an ML-DSA-65 identity key."""

    name: str
    account: LocalAccount
    mldsa: MLDSA65PrivateKey

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def public_key(self) -> bytes:
        return self.mldsa.public_key().public_bytes_raw()


@dataclass
class World:
    chain: Chain
    deployment: Deployment
    qc: QcityContracts
    admin: LocalAccount
    recorder: LocalAccount
    actors: dict[str, Actor]
    snapshot: Any

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]


ROLES = {
    "agency": "AGENCY",
    "enterprise": "ENTERPRISE",
    "research": "RESEARCH_INSTITUTE",
    "citizen": "CITIZEN",
    "neighbour": "CITIZEN",
    "auditor": "AUDITOR",
    "operator": "SENSOR_OPERATOR",
    "operator2": "SENSOR_OPERATOR",
}


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    chain = connect()
    admin, recorder = Chain.new_account(), Chain.new_account()
    for account in (admin, recorder):
        chain.fund(account.address)
    deployment = load_or_deploy(chain, admin, None, recorder=recorder.address)
    qc = QcityContracts.attach(chain, deployment)
    actors: dict[str, Actor] = {}
    for name, role in {**ROLES, "stranger": None}.items():
        actor = Actor(name, Chain.new_account(), MLDSA65PrivateKey.generate())
        actors[name] = actor
        if role is None:
            continue
        chain.fund(actor.address)
        qc.registry.register_stakeholder(
            admin, actor.address, hashlib.sha256(actor.public_key).digest(), name
        )
        qc.registry.grant_role(admin, role, actor.address)
    expiry = int(time.time()) + 30 * 24 * 3600
    qc.consent.grant_consent(actors["citizen"].account, actors["enterprise"].address,
                             HOUSEHOLD, SERVICE, expiry)
    chain.mine()
    yield World(chain, deployment, qc, admin, recorder, actors, chain.snapshot())
    chain.close()


@pytest.fixture
def fresh_world(world: World) -> World:
    """The world at its snapshot (each test's chain writes are undone afterwards)."""
    world.chain.revert(world.snapshot)
    world.snapshot = world.chain.snapshot()
    return world


def seed_twin(settings: GatewaySettings, world: World) -> None:
    """The tiny demo city in the gateway's database, its first meter linked to the citizen."""
    from twin_core import DemoCityConfig, TwinStore, generate_city, link_subject

    store = TwinStore.open(settings.database_url)
    try:
        if not store.count_observations() and not _has_city(store):
            store.save_city(generate_city(DemoCityConfig.tiny()))
            link_subject(store, METER_ID, world["citizen"].address)
    finally:
        store.close()


def _has_city(store: Any) -> bool:
    from twin_core import EntityNotFound

    try:
        store.load_city()
    except EntityNotFound:
        return False
    return True


def settings_for(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "gw", "index_poll_s": 0.02, "chain_stale_s": 3.0,
        "anchor_every_n": 1000, "anchor_every_s": 3600.0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


class Gateway:
    """A running gateway app (TestClient) plus helpers that speak its protocol."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client = client
        self.world = world
        self.closed = False

    def close(self) -> None:
        """Shut the app down (lifespan end); the chain and the database stay."""
        if not self.closed:
            self.closed = True
            self.client.__exit__(None, None, None)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run an async function of the runtime on the app's event loop."""
        return self.client.portal.call(fn, *args)  # type: ignore[union-attr]

    @property
    def runtime(self) -> Runtime:
        return self.client.app.state.runtime  # type: ignore[attr-defined,no-any-return]

    def challenge(self, actor: Actor) -> str:
        response = self.client.post("/auth/challenge", json={"address": actor.address})
        assert response.status_code == 200, response.text
        return str(response.json()["challenge"])

    def login(self, actor: Actor, *, key: MLDSA65PrivateKey | None = None) -> Any:
        text = self.challenge(actor)
        signature = (key or actor.mldsa).sign(text.encode(), context=b"qcity-login-v1")
        return self.client.post("/auth/token", json={
            "challenge": text, "public_key": b64(actor.public_key), "signature": b64(signature),
        })

    def token(self, actor: Actor) -> str:
        response = self.login(actor)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def get(self, path: str, token: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, token: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    def wait_for_block(self, block: int) -> None:
        """Let the index reach `block` (the background poll does this within ~20 ms)."""
        deadline = time.monotonic() + 10
        while self.runtime.index.block < block:
            assert time.monotonic() < deadline, "index did not reach the block"
            time.sleep(0.01)

    def ingest_sample(self, token: str) -> None:
        now = int(time.time())
        body = {"observations": [
            {"entity_id": METER_ID, "observed_at": now - 60 * i, "values": {"activePower": 1.5},
             "category": HOUSEHOLD} for i in range(3)
        ] + [
            {"entity_id": DETECTOR_ID, "observed_at": now - 60 * i,
             "values": {"intensity": 820.0}} for i in range(3)
        ]}
        response = self.post("/twin/observations", token, body)
        assert response.status_code == 201, response.text


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def make_gateway(fresh_world: World, tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start gateways on the fresh world; all are shut down at the end of the test."""
    gateways: list[Gateway] = []

    def factory(**overrides: Any) -> Gateway:
        settings = settings_for(tmp_path, **overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        seed_twin(settings, fresh_world)
        app = create_app(settings, chain=fresh_world.chain, deployment=fresh_world.deployment,
                         recorder=fresh_world.recorder)
        client = TestClient(app)
        client.__enter__()
        gateways.append(Gateway(client, fresh_world))
        return gateways[-1]

    yield factory
    for gateway in reversed(gateways):
        gateway.close()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> Gateway:
    return make_gateway()


@dataclass
class LiveGateway:
    """A gateway served by uvicorn on a loopback port (real HTTP)."""

    url: str
    runtime: Runtime
    world: World


@pytest.fixture
def live_gateway(fresh_world: World, tmp_path: Path) -> Iterator[LiveGateway]:
    """uvicorn on a free loopback port in a thread; stopped (and awaited) afterwards."""
    import socket
    import threading

    import uvicorn

    settings = settings_for(tmp_path, anchor_every_n=4, anchor_every_s=0.5)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    seed_twin(settings, fresh_world)
    app = create_app(settings, chain=fresh_world.chain, deployment=fresh_world.deployment,
                     recorder=fresh_world.recorder)
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so (else Nagle: +40 ms)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveGateway(f"http://127.0.0.1:{port}", app.state.runtime, fresh_world)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
