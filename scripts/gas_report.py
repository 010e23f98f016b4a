"""Measure the gas of every qcity contract operation on the embedded chain.

Usage: .venv/bin/python scripts/gas_report.py [--json] [--no-docs]
--json prints one JSON object {operation: gas used}; otherwise a table is printed and the
"Gas" section of docs/benchmarks.md is rewritten (machine and date included). Exits 1 when a
target (grant_consent <= 60,000, revoke_consent <= 30,000, anchor_batch <= 80,000 for any
batch size) is missed. Gas is each transaction receipt's gasUsed (refunds applied), with
storage in its steady state unless the name says "first".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts import (  # noqa: E402
    AdminAction,
    MerkleTree,
    QcityContracts,
    connect,
    deploy,
    leaf_hash,
    load_artifact,
)

TARGETS = {
    "grant_consent": 60_000,
    "revoke_consent": 30_000,
    "anchor_batch": 80_000,
    "anchor_batch_first": 80_000,
    "anchor_batch_1_entry": 80_000,
    "anchor_batch_10000_entries": 80_000,
}
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
METER, SERVICE = "energy.household_meter", "dpv:ServiceProvision"


def measure() -> dict[str, int]:
    """Run every operation once on a fresh embedded chain and collect gasUsed."""
    chain = connect()
    names = ("admin", "admin2", "recorder", "citizen", "citizen2", "org_a", "org_b", "relayer")
    acts = {n: chain.new_account() for n in names}
    for account in acts.values():
        chain.fund(account.address)
    a = acts["admin"]
    gas: dict[str, int] = {}

    deployment = deploy(chain, a, personal_categories=())
    for name, address in deployment.addresses().items():
        block = chain.w3.eth.get_transaction_receipt(_creation_tx(chain, address))
        gas[f"deploy_{_snake(name)}"] = int(block["gasUsed"])
    qc = QcityContracts.attach(chain, deployment)
    reg, ledger, trail = qc.registry, qc.consent, qc.audit

    gas["grant_role_first_member"] = reg.grant_role(a, "AGENCY", acts["org_a"].address).gas_used
    reg.grant_role(a, "ENTERPRISE", acts["org_b"].address)
    gas["grant_role"] = reg.grant_role(a, "AGENCY", acts["citizen2"].address).gas_used
    gas["revoke_role"] = reg.revoke_role(a, "AGENCY", acts["citizen2"].address).gas_used
    reg.grant_role(a, "AUDIT_RECORDER", acts["recorder"].address)
    key_hash = bytes(range(32))
    gas["register_stakeholder"] = reg.register_stakeholder(
        a, acts["org_a"].address, key_hash, "City Energy Utility"
    ).gas_used
    gas["set_category_personal"] = ledger.set_category_personal(a, METER, True).gas_used

    now = chain.timestamp()
    citizen, org = acts["citizen"], acts["org_a"].address
    gas["grant_consent"] = ledger.grant_consent(citizen, org, METER, SERVICE, now + 86_400).gas_used
    gas["grant_consent_renew"] = ledger.grant_consent(
        citizen, org, METER, SERVICE, now + 2 * 86_400
    ).gas_used
    gas["revoke_consent"] = ledger.revoke_consent(citizen, org, METER, SERVICE).gas_used

    relayer, subject = acts["relayer"], acts["citizen2"]
    # The first relayed message of a subject pays for its nonce slot; later ones do not.
    signed = ledger.sign_grant(subject, org, METER, SERVICE, now + 86_400, now + 3_600)
    gas["grant_consent_relayed_first"] = ledger.grant_consent_by_sig(relayer, signed).gas_used
    signed = ledger.sign_revoke(subject, org, METER, SERVICE, now + 3_600)
    gas["revoke_consent_relayed"] = ledger.revoke_consent_by_sig(relayer, signed).gas_used
    signed = ledger.sign_grant(subject, org, METER, SERVICE, now + 86_400, now + 3_600)
    gas["grant_consent_relayed"] = ledger.grant_consent_by_sig(relayer, signed).gas_used

    gas["grant_agreement"] = ledger.grant_agreement(
        a, org, acts["org_b"].address, "traffic.flow", "dpv:PublicBenefit", now + 86_400
    ).gas_used
    gas["revoke_agreement"] = ledger.revoke_agreement(
        a, org, acts["org_b"].address, "traffic.flow", "dpv:PublicBenefit"
    ).gas_used

    rec = acts["recorder"]
    small = MerkleTree.from_entries([b"one decision"])
    gas["anchor_batch_first"] = trail.anchor_tree(rec, small, now, now).gas_used
    gas["anchor_batch_1_entry"] = trail.anchor_tree(rec, small, now, now).gas_used
    big = MerkleTree.from_leaves([leaf_hash(i.to_bytes(4, "big")) for i in range(10_000)])
    gas["anchor_batch_10000_entries"] = trail.anchor_tree(rec, big, now, now + 3_600).gas_used
    mid = MerkleTree.from_entries([i.to_bytes(2, "big") for i in range(100)])
    gas["anchor_batch"] = trail.anchor_tree(rec, mid, now, now + 60).gas_used
    gas["record_decision"] = trail.record_decision(
        rec, leaf_hash(b"high stakes"), org, METER, SERVICE, True, now
    ).gas_used

    gas["propose_admin_change_executed"] = reg.propose_admin_change(
        a, AdminAction.GRANT, acts["admin2"].address
    ).gas_used
    reg.propose_admin_change(a, AdminAction.SET_QUORUM, quorum=2)
    proposal = reg.propose_admin_change(a, AdminAction.GRANT, acts["relayer"].address)
    gas["propose_admin_change"] = proposal.gas_used
    pid = proposal.events[0].proposal_id
    gas["approve_admin_change_executed"] = reg.approve_admin_change(acts["admin2"], pid).gas_used
    return dict(sorted(gas.items()))


def _creation_tx(chain, address: str) -> str:
    """The hash of the transaction that created `address` (scan of the few first blocks)."""
    for number in range(chain.block_number() + 1):
        for tx_hash in chain.w3.eth.get_block(number)["transactions"]:
            receipt = chain.w3.eth.get_transaction_receipt(tx_hash)
            if receipt["contractAddress"] == address:
                return tx_hash
    raise LookupError(address)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def misses(gas: dict[str, int]) -> list[str]:
    return [f"{k}: {gas[k]} > {limit}" for k, limit in TARGETS.items() if gas[k] > limit]


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    return f"{platform.processor() or 'cpu n/a'}, {os.cpu_count()} cores"


def _environment() -> str:
    return (
        f"{dt.date.today().isoformat()}, {platform.machine()} {platform.system()} "
        f"({_cpu()}), Python {platform.python_version()}, "
        f"py-evm {version('py-evm')} (eth-tester {version('eth-tester')}), "
        f"solc {load_artifact('ConsentLedger').compiler_version}, optimizer on"
    )


def markdown(gas: dict[str, int]) -> str:
    lines = [
        "## Gas",
        "",
        "Measured by `.venv/bin/python scripts/gas_report.py` on the embedded chain (gasUsed of",
        "each receipt, refunds applied; steady-state storage unless marked `first`). Gas does",
        "not depend on the machine; relayed figures move by a few gas with the signature's bytes.",
        f"Run: {_environment()}.",
        "",
        "| operation | gas | target |",
        "| --- | ---: | ---: |",
    ]
    for name, used in gas.items():
        target = f"<= {TARGETS[name]:,}" if name in TARGETS else ""
        lines.append(f"| {name} | {used:,} | {target} |")
    return "\n".join(lines) + "\n"


def update_docs(section: str, path: Path = BENCHMARKS) -> None:
    """Replace the Gas section (up to the next '## ' heading), keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Gas\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    gas = measure()
    failed = misses(gas)
    if args.json:
        print(json.dumps(gas))
        return 1 if failed else 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="qcity contract gas")
    table.add_column("operation")
    table.add_column("gas", justify="right")
    table.add_column("target", justify="right")
    for name, used in gas.items():
        limit = TARGETS.get(name)
        mark = "" if limit is None else (f"<= {limit:,} ok" if used <= limit else f"> {limit:,} !")
        table.add_row(name, f"{used:,}", mark)
    console = Console()
    console.print(table)
    if not args.no_docs:
        update_docs(markdown(gas))
        console.print(f"updated {BENCHMARKS.relative_to(ROOT)}")
    for line in failed:
        console.print(f"[red]target missed[/red] {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
