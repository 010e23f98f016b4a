"""A gateway served over real HTTP (uvicorn on a loopback port) on an embedded chain, with a
cast of key files registered on chain: what the CLI and the SDK talk to in these tests.

The citizen's account is never funded: everything a citizen does here must cost them no gas.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from clients.sdk import KeyFile, QcityClient
from contracts import Chain, QcityContracts, connect, load_or_deploy
from gateway import GatewaySettings, create_app

CAST = {"citizen": "CITIZEN", "company": "ENTERPRISE", "operator": "SENSOR_OPERATOR",
        "auditor": "AUDITOR"}


@dataclass
class Served:
    """A live gateway and the keys of its stakeholders (saved as 0600 files in `files`)."""

    url: str
    chain: Chain
    qc: QcityContracts
    app: Any
    keys: dict[str, KeyFile]
    files: dict[str, Path]
    deployment_file: Path

    def client(self, who: str, *, login: bool = True) -> QcityClient:
        client = QcityClient(self.url, self.keys[who])
        if login:
            client.login()
        return client

    def wait_for_block(self, block: int) -> None:
        deadline = time.monotonic() + 15
        while self.app.state.runtime.index.block < block:
            assert time.monotonic() < deadline, "gateway index did not catch up"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    chain = connect()
    admin, recorder = Chain.new_account(), Chain.new_account()
    for account in (admin, recorder):
        chain.fund(account.address)
    folder = tmp_path_factory.mktemp("served")
    deployment = load_or_deploy(chain, admin, folder, recorder=recorder.address)
    qc = QcityContracts.attach(chain, deployment)
    keys = {name: KeyFile.generate(name) for name in CAST}
    files = {}
    for name, role in CAST.items():
        qc.registry.register_stakeholder(admin, keys[name].address, keys[name].public_key_hash,
                                         name)
        qc.registry.grant_role(admin, role, keys[name].address)
        files[name] = folder / f"{name}.keys.json"
        keys[name].save(files[name])
    settings = GatewaySettings(data_dir=folder / "gw", index_poll_s=0.02, chain_stale_s=3.0,
                               anchor_every_n=1000, anchor_every_s=3600.0)
    app = create_app(settings, chain=chain, deployment=deployment, recorder=recorder)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", chain, qc, app, keys, files,
                     folder / f"deployment-{chain.chain_id}.json")
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        chain.close()
