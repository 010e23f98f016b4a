"""The demo's world: a twin store, an embedded chain, a real gateway on loopback, stakeholders.

Everything runs on the embedded defaults in one process: the chain journals to the demo's
folder, the gateway is a real uvicorn server on a free loopback port, and stakeholders talk
to it over HTTP with the SDK. Keys are generated at run time and kept (mode 0600) in the
demo's folder, never anywhere else.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from eth_account.signers.local import LocalAccount

from clients.sdk import KeyFile, QcityClient
from contracts import Chain, Deployment, QcityContracts, connect, load_or_deploy
from contracts.accounts import load_or_create_account
from gateway import GatewaySettings, Runtime, create_app

# Who takes part, with the on-chain role each holds.
ORGANISATIONS: dict[str, tuple[str, str]] = {
    "agency": ("AGENCY", "City Mobility & Emergency Agency"),
    "company": ("ENTERPRISE", "GridCo Energy Services"),
    "institute": ("RESEARCH_INSTITUTE", "Institute for Urban Air"),
    "auditor": ("AUDITOR", "Court of Audit"),
    "operator": ("SENSOR_OPERATOR", "City Sensor Network"),
}
CITIZENS = 5


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayServer:
    """A real uvicorn server running the gateway in a background thread."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    @classmethod
    def start(cls, app: object, timeout_s: float = 60.0) -> GatewayServer:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                lifespan="on")  # type: ignore[arg-type]
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="qcity-gateway", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        return cls(server, thread, f"http://127.0.0.1:{port}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class World:
    """The running demo: chain, contracts, gateway, and every participant's keys."""

    folder: Path
    chain: Chain
    deployment: Deployment
    contracts: QcityContracts
    admin: LocalAccount
    gateway: GatewayServer
    runtime: Runtime
    keys: dict[str, KeyFile] = field(default_factory=dict)

    @property
    def citizens(self) -> list[str]:
        return [name for name in self.keys if name.startswith("citizen")]

    def client(self, who: str) -> QcityClient:
        """A logged-in SDK client for `who` (ML-DSA-65 challenge, ML-DSA-signed JWS token)."""
        client = QcityClient(self.gateway.url, self.keys[who])
        client.login()
        return client

    def wait_for_index(self, block: int, timeout_s: float = 15.0) -> None:
        """Block until the gateway's permission index has seen `block`."""
        deadline = time.monotonic() + timeout_s
        while self.runtime.index.block < block:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway's index did not reach block {block}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.gateway.stop()
        self.chain.close()


def open_world(folder: Path, *, anchor_every_s: float = 1.0) -> World:
    """Start the chain, deploy the contracts, and serve the gateway over loopback HTTP."""
    gateway_dir = folder / "gateway"
    gateway_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain = connect(data_dir=folder / "chain")
    admin = load_or_create_account(gateway_dir / "governance-admin.key")
    recorder = load_or_create_account(gateway_dir / "recorder.key")
    for account in (admin, recorder):
        chain.fund(account.address)
    deployment = load_or_deploy(chain, admin, gateway_dir, recorder=recorder.address)
    settings = GatewaySettings(data_dir=gateway_dir, index_poll_s=0.05,
                               anchor_every_s=anchor_every_s, anchor_every_n=256)
    app = create_app(settings, chain=chain, deployment=deployment, recorder=recorder)
    server = GatewayServer.start(app)
    runtime: Runtime = app.state.runtime
    return World(folder, chain, deployment, QcityContracts.attach(chain, deployment), admin,
                 server, runtime)


def register_everyone(world: World) -> list[tuple[str, str, str, int]]:
    """Make each participant's keys, register them on chain with their role.

    Returns (who, role, address, block) rows for the story.
    """
    keys_dir = world.folder / "keys"
    rows: list[tuple[str, str, str, int]] = []
    people = {**{k: v for k, v in ORGANISATIONS.items()},
              **{f"citizen-{i}": ("CITIZEN", f"Citizen {i}") for i in range(1, CITIZENS + 1)}}
    registry = world.contracts.registry
    for who, (role, display) in people.items():
        keys = KeyFile.generate(who)
        keys.save(keys_dir / f"{who}.keys.json", overwrite=True)
        world.keys[who] = keys
        world.chain.fund(keys.address)
        registry.register_stakeholder(world.admin, keys.address, keys.public_key_hash, display)
        tx = registry.grant_role(world.admin, role, keys.address)
        rows.append((who, role, keys.address, tx.block_number))
    world.wait_for_index(rows[-1][3])
    return rows
