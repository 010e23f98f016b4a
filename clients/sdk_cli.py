"""`qcity keys`, `qcity stakeholder` and `qcity wallet`: the SDK from a terminal (twin reads:
`qcity twin get|query`, in `clients.twin_cli`).

- `keys new` writes a key file (Ethereum key, ML-DSA-65 seed, X-Wing seed; mode 0600).
- `stakeholder register` has governance bind a key file's ML-DSA key hash and a role on chain.
- `wallet consents|grant|revoke|history`: a citizen's consents from the terminal, the same
  operations as the /wallet page.
Bad input exits with status 2 and one line; a refusal by the gateway or the chain exits 1
naming its code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from eth_utils import is_address, to_checksum_address
from rich.console import Console
from rich.table import Table

from clients._cli_compat import standalone
from clients.auditor import load_history
from clients.sdk import KeyFile, KeyFileError, QcityClient, QcityError
from contracts.chain import connect
from contracts.deploy import Deployment, QcityContracts
from contracts.eip712 import SignedConsent
from contracts.errors import ChainError
from contracts.events import ConsentGranted
from contracts.merkle import verify_inclusion
from contracts.names import ROLE_NAMES, Names

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _app(help_text: str) -> typer.Typer:
    app = typer.Typer(help=help_text, add_completion=False, no_args_is_help=True,
                      rich_markup_mode=None, pretty_exceptions_enable=False)

    @app.callback()
    def group() -> None:
        """Keeps one-command apps a group, so `qcity keys new` reads as written."""

    return app


keys_app = _app("Make key files (Ethereum, ML-DSA-65 and X-Wing keys).")
stakeholder_app = _app("Register stakeholders on chain (governance).")
wallet_app = _app("A citizen's consents and access history, from the terminal.")

KeysOpt = Annotated[Path, typer.Option("--keys", help="Key file (see `qcity keys new`).")]
GatewayOpt = Annotated[str, typer.Option("--gateway", help="Gateway base URL.")]
RpcOpt = Annotated[str, typer.Option("--rpc", help="JSON-RPC URL (a node or the gateway's /rpc).")]
DeploymentOpt = Annotated[Path, typer.Option("--deployment", help="Deployment record JSON.")]


def _bad(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def _load_keys(path: Path) -> KeyFile:
    try:
        return KeyFile.load(path)
    except KeyFileError as exc:
        raise _bad(str(exc)) from None


def _address(value: str, what: str) -> str:
    if not is_address(value):
        raise _bad(f"{what} is not an address: {value}")
    return to_checksum_address(value)


@contextmanager
def _refusals() -> Iterator[None]:
    """Gateway and chain refusals: one line naming the code, exit status 1."""
    try:
        yield
    except QcityError as exc:
        err.print(f"refused: {exc}", markup=False)
        raise typer.Exit(1) from None
    except ChainError as exc:
        err.print(f"refused: {exc.code}: {exc}", markup=False)
        raise typer.Exit(1) from None


def _contracts(rpc: str, deployment: Path) -> QcityContracts:
    if not rpc.startswith(("http://", "https://")):
        raise _bad(f"--rpc must be an http(s) URL, not {rpc!r}")
    try:
        record = Deployment.load(deployment)
    except (OSError, ValueError, TypeError) as exc:
        raise _bad(f"cannot read deployment record {deployment}: {exc}") from None
    with _refusals():
        return QcityContracts.attach(connect(rpc), record)


# ------------------------------------------------------------------ keys


@keys_app.command("new")
def keys_new(
    out: Annotated[Path, typer.Argument(help="Where to write the key file.")],
    name: Annotated[str, typer.Option(help="A display name.")] = "",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Generate keys and write them to OUT (mode 0600)."""
    keys = KeyFile.generate(name)
    try:
        keys.save(out, overwrite=force)
    except (KeyFileError, OSError) as exc:
        raise _bad(str(exc)) from None
    console.print(f"address {keys.address}", markup=False)
    console.print(f"ml-dsa-65 key hash 0x{keys.public_key_hash.hex()}", markup=False)
    console.print(f"x-wing key id {keys.kem.public_key().key_id}", markup=False)


# ------------------------------------------------------------------ stakeholders


@stakeholder_app.command("register")
def stakeholder_register(
    keys: KeysOpt,
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    admin_keys: Annotated[Path, typer.Option("--admin-keys", help="A governance admin's keys.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLE_NAMES[1:])}.")],
    name: Annotated[
        str | None, typer.Option(help="Display name (default: the key file's).")
    ] = None,
) -> None:
    """Bind KEYS' ML-DSA key hash and ROLE to its address (signed by the admin)."""
    role = role.upper()
    if role not in ROLE_NAMES or role == "GOVERNANCE_ADMIN":
        raise _bad(f"unknown role {role!r}")
    member, admin = _load_keys(keys), _load_keys(admin_keys)
    qc = _contracts(rpc, deployment)
    with _refusals(), console.status("registering on chain"):
        qc.registry.register_stakeholder(
            admin.account,
            member.address,
            member.public_key_hash,
            name if name is not None else member.name,
        )
        result = qc.registry.grant_role(admin.account, role, member.address)
    console.print(
        f"registered {member.address} as {role} (block {result.block_number})", markup=False
    )


# ------------------------------------------------------------------ reads


def _client(gateway: str, keys: Path) -> QcityClient:
    if not gateway.startswith(("http://", "https://")):
        raise _bad(f"--gateway must be an http(s) URL, not {gateway!r}")
    client = QcityClient(gateway, _load_keys(keys))
    with _refusals():
        client.login()
    return client


# ------------------------------------------------------------------ wallet


@wallet_app.command("consents")
def wallet_consents(keys: KeysOpt, rpc: RpcOpt, deployment: DeploymentOpt) -> None:
    """Who may use which of your data, for what purpose and until when (from the chain)."""
    citizen = _load_keys(keys)
    qc = _contracts(rpc, deployment)
    with _refusals():
        snapshot = load_history(qc.chain, qc.deployment)
    names, live = Names(), {}
    for e in snapshot.history.consent_changes(citizen.address):
        key = (e.grantee, e.category, e.purpose)
        if isinstance(e, ConsentGranted):
            live[key] = e
        else:
            live.pop(key, None)
    now = snapshot.time_of_block(snapshot.history.head_block)
    shown = [(g, c, p, e) for (g, c, p), e in live.items() if e.expiry > now]
    console.print(f"{len(shown)} live consents of {citizen.address}", markup=False)
    for grantee, category, purpose, e in shown:
        until = time.strftime("%Y-%m-%d %H:%M", time.gmtime(e.expiry))
        console.print(f"{grantee}  {names.label(category)}  {names.label(purpose)}  "
                      f"until {until} UTC  (granted in block {e.block_number})", markup=False)


RelayOpt = Annotated[
    str | None,
    typer.Option("--gateway", help="Relay through this gateway (EIP-712; you pay no gas)."),
]
RELAY_DEADLINE_S = 600
"""How long a signed consent may wait to be relayed."""


def _deadline() -> int:
    return int(time.time()) + RELAY_DEADLINE_S


def _relay(gateway: str, citizen: KeyFile, signed: SignedConsent) -> tuple[int, str]:
    """Have the gateway send the signed consent; (block, tx hash)."""
    if not gateway.startswith(("http://", "https://")):
        raise _bad(f"--gateway must be an http(s) URL, not {gateway!r}")
    with QcityClient(gateway, citizen) as client:
        done = client.relay_consent(signed)
    return done.block, done.tx_hash


@wallet_app.command("grant")
def wallet_grant(
    keys: KeysOpt,
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    grantee: Annotated[str, typer.Option(help="Who may use the data.")],
    category: Annotated[str, typer.Option(help="Data category.")],
    purpose: Annotated[str, typer.Option(help="DPV purpose.")],
    days: Annotated[int, typer.Option(min=1, max=3650)] = 30,
    gateway: RelayOpt = None,
) -> None:
    """Grant GRANTEE the use of CATEGORY for PURPOSE for DAYS.

    With --gateway you sign an EIP-712 message and the gateway relays it (you pay no gas);
    without, you send your own transaction."""
    citizen, to = _load_keys(keys), _address(grantee, "--grantee")
    qc = _contracts(rpc, deployment)
    expiry = max(qc.chain.timestamp(), int(time.time())) + days * 86400
    with _refusals():
        if gateway is None:
            result = qc.consent.grant_consent(citizen.account, to, category, purpose, expiry)
            block, tx = result.block_number, result.tx_hash
        else:
            signed = qc.consent.sign_grant(citizen.account, to, category, purpose, expiry,
                                           _deadline())
            block, tx = _relay(gateway, citizen, signed)
    console.print(f"granted at block {block} (tx {tx})", markup=False)


@wallet_app.command("revoke")
def wallet_revoke(
    keys: KeysOpt,
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    grantee: Annotated[str, typer.Option(help="The consent's grantee.")],
    category: Annotated[str, typer.Option(help="Data category.")],
    purpose: Annotated[str, typer.Option(help="DPV purpose.")],
    gateway: RelayOpt = None,
) -> None:
    """Revoke a consent; it stops holding from the block that mines this (relayed by the
    gateway with --gateway, else your own transaction)."""
    citizen, to = _load_keys(keys), _address(grantee, "--grantee")
    qc = _contracts(rpc, deployment)
    with _refusals():
        if gateway is None:
            result = qc.consent.revoke_consent(citizen.account, to, category, purpose)
            block, tx = result.block_number, result.tx_hash
        else:
            signed = qc.consent.sign_revoke(citizen.account, to, category, purpose, _deadline())
            block, tx = _relay(gateway, citizen, signed)
    console.print(f"revoked at block {block} (tx {tx})", markup=False)


@wallet_app.command("history")
def wallet_history(
    keys: KeysOpt,
    gateway: GatewayOpt,
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Who read your data, each decision's anchor proof checked against the chain."""
    qc = _contracts(rpc, deployment)
    with _client(gateway, keys) as client, _refusals():
        decisions = client.my_decisions(limit).decisions
    table = Table(title=f"{len(decisions)} decisions about your data")
    for column in ("#", "who", "category", "purpose", "decision", "proof"):
        table.add_column(column, overflow="fold")
    invalid = False
    with _refusals():
        for d in decisions:
            f, proof = d.fields, "pending"
            if d.anchor is not None and d.anchor.status == "anchored":
                root = qc.audit.batch_root(d.anchor.sequence)
                ok = verify_inclusion(
                    root, bytes.fromhex(d.leaf[2:]), [bytes.fromhex(p[2:]) for p in d.anchor.proof]
                )
                proof = f"verified (batch {d.anchor.sequence})" if ok else "INVALID"
                invalid = invalid or not ok
            table.add_row(
                str(d.seq),
                str(f.get("actor")),
                str(f.get("category")),
                str(f.get("purpose")),
                "allowed" if f.get("allowed") else "denied",
                proof,
            )
    console.print(table)
    if invalid:
        raise typer.Exit(1)


keys_command = standalone(keys_app, "keys", "Make key files (Ethereum, ML-DSA-65, X-Wing).")
stakeholder_command = standalone(stakeholder_app, "stakeholder", "Register stakeholders on chain.")
wallet_command = standalone(wallet_app, "wallet", "A citizen's consents and access history.")
