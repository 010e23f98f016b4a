"""The steps of `qcity demo`, each printing what happened: who did what, what the chain said."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from clients._demo_report import (
    BEFORE,
    draw_jobs,
    draw_pictures,
    jobs_section,
    write_demo_report,
)
from clients._demo_world import World
from clients.auditor import (
    ChainSnapshot,
    VerificationReport,
    export_decisions,
    load_history,
    parse_decision,
    verify_decisions,
)
from clients.job_cli import as_report, result_table
from clients.sdk import ConsentMissing, JobView, QcityClient, QcityError
from contracts import connect
from contracts.merkle import verify_inclusion
from quantum import SolveReport
from twin_core import City, DemoCityConfig, TwinStore, generate_city
from twin_core.cli import load_store
from twin_core.subjects import relink_subjects, subject_links

SIZES = {"tiny": DemoCityConfig.tiny, "small": DemoCityConfig.small, "mid": DemoCityConfig.mid}
METER, SERVICE, RESEARCH = "energy.household_meter", "dpv:ServiceProvision", "dpv:AcademicResearch"
PUBLIC = "dpv:PublicBenefit"
DAYS = 3  # two to fit a forecast on, one held out to measure it


class Story:
    """Numbered steps and short lines on the console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.number = 0
        self.lines: list[str] = []
        self.started = time.monotonic()

    def step(self, title: str, detail: str = "") -> None:
        self.number += 1
        elapsed = time.monotonic() - self.started
        self.console.rule(f"[bold]{self.number}. {title}[/] [dim]({elapsed:.0f} s)")
        if detail:
            self.console.print(f"[dim]{detail}")
        self.lines.append(f"\n## {self.number}. {title}\n")

    def say(self, text: str) -> None:
        self.console.print(text)
        self.lines.append(f"- {text}")

    def table(self, table: Table) -> None:
        self.console.print(table)
        header = [str(c.header) for c in table.columns]
        rows = list(zip(*[[str(cell) for cell in c._cells] for c in table.columns], strict=True))
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + " --- |" * len(header))
        self.lines += ["| " + " | ".join(row) + " |" for row in rows]


@dataclass
class Twin:
    """The demo city and the store the gateway serves it from."""

    city: City
    store: TwinStore
    observations: int
    days: int


def _short(address: str) -> str:
    return f"{address[:8]}…{address[-4:]}"


def build_twin(story: Story, folder: Path, size: str, seed: int) -> Twin:
    """Generate the seeded city and a day of observations into the gateway's SQLite store."""
    story.step("The city twin", "FIWARE Smart Data Models, NGSI-LD ids, a day of IoT data")
    city = generate_city(SIZES[size](seed=seed))
    (folder / "gateway").mkdir(parents=True, exist_ok=True, mode=0o700)
    store = TwinStore.open(f"sqlite:///{(folder / 'gateway' / 'qcity.sqlite3').as_posix()}")
    written = load_store(store, city, days=DAYS)
    story.say(f"{len(city.signalised)} signalised intersections, {len(city.devices)} devices, "
              f"{written:,} observations over {DAYS} days stored (SQLite, WAL)")
    return Twin(city, store, written, DAYS)


def show_registrations(story: Story, rows: list[tuple[str, str, str, int]]) -> None:
    story.step("Stakeholders", "each an Ethereum address with a role and the hash of its "
               "ML-DSA-65 public key, registered by governance")
    table = Table("who", "role", "address", "block")
    for who, role, address, block in rows:
        table.add_row(who, role, _short(address), str(block))
    story.table(table)


def link_citizens(story: Story, world: World, twin: Twin) -> None:
    """Give the first households' meters to the registered citizens."""
    placeholders = sorted({link.subject for link in subject_links(twin.store)
                           if link.category == METER})
    mapping = {old: world.keys[c].address for old, c in zip(placeholders, world.citizens,
                                                            strict=False)}
    changed = relink_subjects(twin.store, mapping)
    story.say(f"{len(mapping)} households now belong to the registered citizens "
              f"({changed} personal devices re-linked)")


def _meter_of(twin: Twin, address: str) -> str:
    links = [link for link in subject_links(twin.store, address) if link.category == METER]
    return links[0].observed_id


def consents(story: Story, world: World) -> None:
    """Citizens sign EIP-712 consents; a relayer pays the gas, the ledger checks the signature."""
    story.step("Consents", "citizens sign EIP-712 messages; a relayer submits them, so "
               "citizens need no gas; revoking is as easy as granting")
    ledger, keys = world.contracts.consent, world.keys
    relayer = world.admin
    expiry = world.chain.timestamp() + 30 * 86400
    deadline = world.chain.timestamp() + 3600
    story.say(f"category: {METER}")
    table = Table("subject", "action", "grantee", "purpose", "block", "gas paid by relayer")
    plan = [("citizen-1", "grant", "institute", RESEARCH),
            ("citizen-2", "grant", "company", SERVICE),
            ("citizen-2", "revoke", "company", SERVICE)]
    last = 0
    for subject, action, grantee, purpose in plan:
        citizen, to = keys[subject].account, keys[grantee].address
        if action == "grant":
            signed = ledger.sign_grant(citizen, to, METER, purpose, expiry, deadline)
            tx = ledger.grant_consent_by_sig(relayer, signed)
        else:
            signed = ledger.sign_revoke(citizen, to, METER, purpose, deadline)
            tx = ledger.revoke_consent_by_sig(relayer, signed)
        last = tx.block_number
        table.add_row(subject, action, grantee, purpose, str(tx.block_number),
                      f"{tx.gas_used:,}")
    story.table(table)
    world.wait_for_index(last)
    for subject, grantee, purpose in (("citizen-1", "institute", RESEARCH),
                                      ("citizen-2", "company", SERVICE)):
        live = ledger.is_allowed(keys[subject].address, keys[grantee].address, METER, purpose)
        story.say(f"chain says: {grantee} may read {subject}'s meter for {purpose}: {live}")


def agency_reads(story: Story, world: World) -> None:
    """The agency signs in with ML-DSA-65 and reads traffic state under its role."""
    story.step("The agency reads the twin", "ML-DSA-65 login; every read is checked against "
               "the chain and recorded in the audit log")
    agency = world.client("agency")
    session = agency.session()
    story.say(f"session for {_short(session.sub)} with roles {', '.join(session.roles)}")
    flows = agency.entities(category="traffic.flow", purpose=PUBLIC, limit=200)
    story.say(f"{len(flows.entities)} traffic-flow sensors visible; the latest state of three:")
    table = Table("entity", "observed (UTC)", "values", "decision")
    for ref in flows.entities[:3]:
        read = agency.entity(ref.id, purpose=PUBLIC)
        values = ", ".join(f"{k}={v:.1f}" for k, v in sorted(read.entity.values.items()))
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(read.entity.observed_at or 0))
        table.add_row(ref.id.split(":")[-1], when, values, f"#{read.access.decision}")
    story.table(table)
    story.say(f"allowed at block {flows.access.block} on the basis of: {flows.access.basis}")
    company = world.client("company")
    try:
        company.entities(category="traffic.flow", purpose="dpv:CommercialResearch", limit=1)
        story.say("company read traffic flows (unexpected)")
    except QcityError as refused:
        story.say(f"the company's commercial read of traffic flows is refused: "
                  f"[red]{refused.error_code}[/]")


# Settings that keep step 6 well under a minute on two loaded cores: depth-1 QAOA on
# sub-problems of at most 12 qubits, a short optimiser run, the two best samples of each
# repaired and polished (polish dominates the classical share). MILP runs alongside.
QUICK_HYBRID = {"name": "hybrid", "baseline": "milp",
                "hybrid": {"max_qubits": 12, "candidates": 2,
                           "qaoa": {"reps": 1, "shots": 256, "maxiter": 6, "grid": 0}}}
# The dispatch model is small (one circuit of at most 16 qubits): depth 2 and more samples
# cost a second or two there.
SMALL_HYBRID = {"name": "hybrid", "baseline": "milp",
                "hybrid": {"max_qubits": 16, "candidates": 8,
                           "qaoa": {"reps": 2, "shots": 512, "maxiter": 20, "grid": 2}}}
SHARES = [0.4, 0.5, 0.6]
JOBS = (("signal timing", {"kind": "traffic", "purpose": PUBLIC, "shares": SHARES,
                           "solver": QUICK_HYBRID}),
        ("emergency dispatch", {"kind": "emergency", "purpose": PUBLIC,
                                "solver": SMALL_HYBRID}))
JOB_TIMEOUT_S = 150.0


@dataclass
class JobOutcome:
    """A job the agency launched, how it ended, and its report when it succeeded."""

    label: str
    kind: str
    view: JobView
    report: SolveReport | None
    request: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.report is not None


def _watch_all(agency: QcityClient, labels: dict[str, str], console: Console
               ) -> dict[str, JobView]:
    """One progress bar per job, each fed by the job's server-sent events."""
    columns = (TextColumn("{task.description:<20}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TextColumn("[dim]{task.fields[note]}"))
    last: dict[str, JobView] = {}
    with Progress(*columns, console=console) as bar:
        tasks = {j: bar.add_task(label, total=1.0, note="queued") for j, label in labels.items()}

        def watch(job_id: str) -> None:
            try:
                for view in agency.watch_job(job_id):
                    last[job_id] = view
                    p = view.progress
                    note = (view.state if p is None or view.terminal
                            else f"{p.stage}: {p.message}"[:48])
                    done = 1.0 if view.state == "succeeded" else p.fraction if p else 0.0
                    bar.update(tasks[job_id], completed=done, note=note)
            except QcityError as lost:  # the stream broke: the job's own view says the rest
                bar.update(tasks[job_id], note=f"stream lost: {lost.error_code}")

        threads = [threading.Thread(target=watch, args=(j,), daemon=True) for j in labels]
        for t in threads:
            t.start()
        deadline = time.monotonic() + JOB_TIMEOUT_S
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.0))
    return {j: last[j] if j in last and last[j].terminal else agency.job(j) for j in labels}


def optimise(story: Story, world: World) -> list[JobOutcome]:
    """The agency launches signal timing and emergency dispatch jobs through the gateway."""
    story.step("Optimisation jobs", "the agency launches signal timing and emergency dispatch "
               "through the gateway; the hybrid solver (QAOA on a simulator, classical repair) "
               "runs beside the HiGHS MILP baseline, and each plan is re-simulated in the twin")
    agency = world.client("agency")
    launched: dict[str, tuple[str, dict[str, Any]]] = {}
    for label, body in JOBS:
        view = agency.submit_job(body)
        launched[view.job_id] = (label, body)
        story.say(f"{label}: job {view.job_id[:12]} {view.state} on {view.backend}, allowed "
                  f"by audit decision(s) {', '.join(f'#{d}' for d in view.decisions)}")
    ended = _watch_all(agency, {j: label for j, (label, _b) in launched.items()},
                       story.console)
    outcomes = []
    for job_id, (label, body) in launched.items():
        view, report = ended[job_id], None
        if view.state == "succeeded":
            report = as_report(agency.job_result(job_id).report)
            story.table(result_table(report, title=f"{label} ({report.num_vars} variables)"))
            story.say(report.verdict)
            story.say(f"KPI 'before': {BEFORE[body['kind']]}")
        else:
            why = view.error.message if view.error else view.cancel_reason
            story.say(f"[red]{label}: job {view.state}[/] ({why})")
        outcomes.append(JobOutcome(label, body["kind"], view, report, body))
    return outcomes


def company_and_citizen(story: Story, world: World, twin: Twin) -> None:
    """Refused without consent, allowed after; the citizen sees the read with its proof."""
    story.step("A company asks for a citizen's meter", "personal data needs the subject's "
               "live consent for this grantee, category and purpose")
    company, citizen_keys = world.client("company"), world.keys["citizen-3"]
    meter = _meter_of(twin, citizen_keys.address)
    try:
        company.entity(meter, purpose=SERVICE)
        story.say("read without consent (unexpected)")
    except ConsentMissing as refused:
        story.say(f"refused: [red]{refused.error_code}[/] at block {refused.facts.get('block')}")
    ledger, chain = world.contracts.consent, world.chain
    signed = ledger.sign_grant(citizen_keys.account, world.keys["company"].address, METER,
                               SERVICE, chain.timestamp() + 7 * 86400, chain.timestamp() + 3600)
    tx = ledger.grant_consent_by_sig(world.admin, signed)
    story.say(f"citizen-3 consents (EIP-712, relayed) in block {tx.block_number}")
    world.wait_for_index(tx.block_number)
    read = company.entity(meter, purpose=SERVICE)
    values = ", ".join(f"{k}={v:.2f}" for k, v in sorted(read.entity.values.items()))
    story.say(f"allowed at block {read.access.block} on the basis of {read.access.basis}: "
              f"{values}")

    story.step("The citizen sees who read their data", "each decision with its Merkle proof "
               "against a root anchored on chain")
    citizen = world.client("citizen-3")
    decisions = _anchored(citizen)
    table = Table("seq", "who", "purpose", "allowed", "batch", "proof on chain")
    for d in decisions:
        root = world.contracts.audit.batch_root(d.anchor.sequence)
        ok = verify_inclusion(root, bytes.fromhex(d.leaf[2:]),
                              [bytes.fromhex(p[2:]) for p in d.anchor.proof])
        who = next((n for n, k in world.keys.items()
                    if k.address.lower() == str(d.fields["actor"]).lower()), "?")
        table.add_row(str(d.seq), who, str(d.fields.get("purpose")), str(d.fields["allowed"]),
                      str(d.anchor.sequence), "[green]verified[/]" if ok else "[red]FAILED[/]")
    story.table(table)


def _anchored(client: object, timeout_s: float = 30.0) -> list:
    """The caller's decisions once every one of them is anchored."""
    deadline = time.monotonic() + timeout_s
    while True:
        decisions = client.my_decisions().decisions  # type: ignore[attr-defined]
        if all(d.anchor is not None and d.anchor.status == "anchored" for d in decisions):
            return sorted(decisions, key=lambda d: d.seq)
        if time.monotonic() > deadline:
            raise RuntimeError("decisions were not anchored in time")
        time.sleep(0.25)


@dataclass
class AuditOutcome:
    """What the auditor found, and the chain history it found it in."""

    snapshot: ChainSnapshot
    report: VerificationReport

    @property
    def ok(self) -> bool:
        return self.report.ok


def audit(story: Story, world: World) -> AuditOutcome:
    """The auditor exports every decision and verifies them from the chain alone (/rpc)."""
    story.step("The auditor verifies the trail", "roles, consents and anchors rebuilt from "
               "contract events through the gateway's JSON-RPC door, proofs re-checked")
    auditor = world.client("auditor")
    chain_check = auditor.verify_audit_chain()
    story.say(f"the gateway's local log: {chain_check.entries} entries, hash chain "
              f"{'intact' if chain_check.chain_ok else 'BROKEN'}")
    # Paged, with proofs, up to the head seen now (each page read is itself a decision).
    exported = export_decisions(auditor, wait_s=30.0, poll_s=0.25)
    snapshot = load_history(connect(f"{world.gateway.url}/rpc"), world.deployment)
    decisions = [parse_decision(d, i) for i, d in enumerate(exported)]
    report = verify_decisions(decisions, snapshot.history, time_of_block=snapshot.time_of_block)
    allowed = sum(1 for d in exported if d["fields"]["allowed"])
    story.say(f"{len(exported)} decisions ({allowed} allowed, {len(exported) - allowed} "
              f"denied), {len(report.findings)} findings")
    story.say("[green]verification passed[/]" if report.ok else "[red]verification FAILED[/]")
    for finding in report.findings:
        story.say(f"finding {finding.code} {finding.decision_id}")
    return AuditOutcome(snapshot, report)


def write_report(story: Story, twin: Twin, outcome: AuditOutcome, folder: Path,
                 jobs: list[JobOutcome]) -> Path:
    """Markdown report with the story, maps, the forecast, the jobs and the audit timeline."""
    story.step("Pictures and report", "maps with KPI overlays, a forecast against the held-out "
               "day, the optimisation jobs, the audit timeline")
    pictures = draw_pictures(twin.city, twin.store, twin.days, folder)
    done = [(j.label, j.request, j.report) for j in jobs if j.report is not None]
    chart = draw_jobs(twin.city, twin.store, done, folder)
    for caption, name in [*pictures, *([chart] if chart else [])]:
        story.say(f"{name}: {caption}")
    section = jobs_section(done, [j.label for j in jobs if not j.ok], chart)
    return write_demo_report(folder, story.lines, pictures, outcome.snapshot, outcome.report,
                             section)
