"""`qcity audit`: export and verify the gateway's decisions, ask what the chain allowed, report.

`export` is the one command that talks to the gateway (with an AUDITOR's key file): it writes
every decision with its Merkle proof to JSON Lines.

Every command reads the chain through a JSON-RPC URL (a node, or the gateway's read-only /rpc
door) and a deployment record (`deployment-<chain id>.json`, or the folder holding it); the
code at each address must be the audited contract. Exit status: 0 all good, 1 a check failed
(or the chain could not be read), 2 bad input.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_utils import is_address, to_checksum_address
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from clients._cli_compat import standalone
from clients.auditor import (
    ChainSnapshot,
    DecisionFileError,
    VerificationReport,
    block_at_time,
    could_read,
    export_decisions,
    load_decisions,
    load_history,
    verify_decisions,
)
from clients.auditor._report import write_report
from clients.sdk import QcityClient
from clients.sdk_cli import _client as gateway_client
from clients.sdk_cli import _refusals as refusals
from contracts.chain import Chain, connect
from contracts.deploy import Deployment
from contracts.errors import ChainError

app = typer.Typer(
    help="Audit the trail from the chain alone: verify decisions, could-read, report.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

RpcOpt = Annotated[str, typer.Option("--rpc", help="JSON-RPC URL (a node or the gateway's /rpc).")]
DeploymentOpt = Annotated[
    Path,
    typer.Option(
        "--deployment",
        help="Deployment record JSON, or the folder with deployment-<chain id>.json.",
    ),
]


def _fail_input(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def _address(value: str, what: str) -> str:
    if not is_address(value):
        raise _fail_input(f"{what} is not an address: {value}")
    return to_checksum_address(value)


def _deployment(path: Path, chain: Chain) -> Deployment:
    record = path / f"deployment-{chain.chain_id}.json" if path.is_dir() else path
    try:
        return Deployment.load(record)
    except FileNotFoundError:
        raise _fail_input(f"no deployment record at {record}") from None
    except (ValueError, TypeError) as exc:
        raise _fail_input(f"{record} is not a deployment record ({exc})") from None


def _snapshot(rpc: str, deployment: Path) -> ChainSnapshot:
    if not rpc.startswith(("http://", "https://")):
        raise _fail_input(f"--rpc must be an http(s) URL, not {rpc!r}")
    try:
        chain = connect(rpc)
        return load_history(chain, _deployment(deployment, chain))
    except ChainError as exc:
        err.print(f"error: {exc.code}: {exc}", markup=False)
        raise typer.Exit(1) from None


def _print_report(report: VerificationReport) -> None:
    table = Table(title=f"{len(report.checks)} decisions against chain head {report.head_block}")
    for column in (
        "decision",
        "actor",
        "action",
        "category",
        "allowed",
        "anchored in",
        "chain says",
        "result",
    ):
        table.add_column(column, overflow="fold")
    for c in report.checks:
        d = c.decision
        table.add_row(
            d.id,
            d.actor[:10] + "…",
            d.action,
            d.category or "",
            "yes" if d.allowed else "no",
            c.anchored_in or "—",
            c.chain_says or "—",
            "[green]ok[/]" if c.ok else "[red]" + ", ".join(f.code for f in c.findings),
        )
    console.print(table)
    for f in report.findings:
        console.print(f"FAIL {f.decision_id or 'chain'} {f.code}: {f.message}", markup=False)
    verdict = "PASSED" if report.ok else f"FAILED ({len(report.findings)} findings)"
    console.print(
        f"audit {verdict}: {report.batches} batches anchor {report.anchored_entries} "
        f"decisions on chain",
        markup=False,
    )


def _verify(snapshot: ChainSnapshot, decisions: Path) -> VerificationReport:
    try:
        loaded = load_decisions(decisions)
    except DecisionFileError as exc:
        raise _fail_input(str(exc)) from None
    return verify_decisions(loaded, snapshot.history, time_of_block=snapshot.time_of_block)


@app.command()
def verify(
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    decisions: Annotated[
        Path,
        typer.Option(
            "--decisions", help="JSON or JSONL of decisions with proofs (the gateway's export)."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Rebuild roles, consents and batches from the chain and check every given decision."""
    snapshot = _snapshot(rpc, deployment)
    report = _verify(snapshot, decisions)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "head_block": report.head_block,
                    "batches": report.batches,
                    "anchored_entries": report.anchored_entries,
                    "findings": [asdict(f) for f in report.findings],
                    "decisions": [
                        {
                            "id": c.decision.id,
                            "anchored_in": c.anchored_in,
                            "chain_says": c.chain_says,
                            "ok": c.ok,
                        }
                        for c in report.checks
                    ],
                },
                indent=2,
            )
        )
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _export(client: QcityClient, wait_s: float) -> list[dict[str, Any]]:
    with Progress(TextColumn("exporting decisions"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("export", total=None)
        return export_decisions(client, wait_s=wait_s,
                                on_row=lambda n: bar.update(task, completed=n))


@app.command()
def export(
    gateway: Annotated[str, typer.Option("--gateway", help="Gateway base URL.")],
    keys: Annotated[Path, typer.Option("--keys", help="An AUDITOR's key file.")],
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file to write.")],
    wait_anchored: Annotated[float, typer.Option(
        min=0, help="Seconds to wait for the newest decisions to be anchored.")] = 30.0,
) -> None:
    """Export every decision with its Merkle proof from the gateway, for `audit verify`."""
    with gateway_client(gateway, keys) as client, refusals():
        rows = _export(client, wait_anchored)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pending = sum(1 for r in rows if (r.get("anchor") or {}).get("status") != "anchored")
    console.print(f"{len(rows)} decisions written to {out}"
                  + (f" ({pending} not anchored yet)" if pending else ", all anchored"),
                  markup=False)


def _parse_time(value: str) -> int:
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail_input(f"--time must be unix seconds or ISO 8601, not {value!r}") from None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


@app.command("could-read")
def could_read_cmd(
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    grantee: Annotated[str, typer.Option(help="Who would read (address).")],
    category: Annotated[str, typer.Option(help="Data category, e.g. energy.household_meter.")],
    purpose: Annotated[str, typer.Option(help="DPV purpose, e.g. dpv:ServiceProvision.")],
    subject: Annotated[str | None, typer.Option(help="Data subject (personal data).")] = None,
    provider: Annotated[str | None, typer.Option(help="Data provider (aggregates).")] = None,
    block: Annotated[int | None, typer.Option(help="Judge at the end of this block.")] = None,
    at: Annotated[
        str | None, typer.Option("--time", help="Judge at this time (unix seconds or ISO 8601).")
    ] = None,
) -> None:
    """Could GRANTEE read CATEGORY (of SUBJECT) for PURPOSE at a block or time, and why?"""
    if block is not None and at is not None:
        raise _fail_input("give --block or --time, not both")
    who = _address(grantee, "--grantee")
    whose = _address(subject, "--subject") if subject else None
    source = _address(provider, "--provider") if provider else None
    when = _parse_time(at) if at is not None else None
    snapshot = _snapshot(rpc, deployment)
    chain_head = snapshot.history.head_block
    try:
        if when is not None:
            block = block_at_time(connect(rpc), when, chain_head)
        elif block is None:
            block = chain_head
    except ValueError as exc:
        raise _fail_input(str(exc)) from None
    if not 0 <= block <= chain_head:
        raise _fail_input(f"block {block} is not between 0 and the head {chain_head}")
    judged_at = when if when is not None else snapshot.time_of_block(block)
    j = could_read(
        snapshot.history,
        grantee=who,
        category=category,
        purpose=purpose,
        subject=whose,
        provider=source,
        block=block,
        at_time=judged_at,
    )
    verdict = "YES" if j.verdict.allowed else "NO"
    console.print(
        f"{verdict}: {who} {'could' if j.verdict.allowed else 'could not'} read "
        f"{category} for {purpose} at block {block} "
        f"({datetime.fromtimestamp(judged_at, tz=UTC).isoformat()})",
        markup=False,
    )
    console.print(f"rule: {j.verdict.reason}; {j.explanation}", markup=False)
    console.print(
        f"roles then: {', '.join(j.roles) or 'none'}; personal data: "
        f"{'yes' if j.personal else 'no'}",
        markup=False,
    )
    if j.consent is not None:
        c = j.consent
        console.print(
            f"under consent granted at block {c.block_number} (tx {c.tx_hash}), "
            f"until {datetime.fromtimestamp(c.expiry, tz=UTC).isoformat()}"
            f"{', relayed' if c.relayed else ''}",
            markup=False,
        )


@app.command()
def report(
    rpc: RpcOpt,
    deployment: DeploymentOpt,
    out: Annotated[Path, typer.Option("--out", help="Report file: .md or .html.")],
    decisions: Annotated[
        Path | None,
        typer.Option("--decisions", help="Also verify these decisions and include them."),
    ] = None,
) -> None:
    """Write a Markdown or HTML report of the trail, with a timeline plot (PNG)."""
    if out.suffix.lower() not in {".md", ".html", ".htm"}:
        raise _fail_input("--out must end in .md or .html")
    if not out.parent.is_dir():
        raise _fail_input(f"folder {out.parent} does not exist")
    snapshot = _snapshot(rpc, deployment)
    checked = _verify(snapshot, decisions) if decisions is not None else None
    with console.status("drawing the timeline"):
        png = write_report(snapshot, checked, out)
    console.print(f"wrote {out} and {png}", markup=False)
    if checked is not None and not checked.ok:
        console.print(f"verification FAILED ({len(checked.findings)} findings)", markup=False)
        raise typer.Exit(1)


command = standalone(app, "audit", "Verify decisions, ask could-read, write reports.")
