"""`qcity audit report`: the trail as a readable Markdown or HTML document.

The report is built from the chain alone (roles, consents, batches), plus the verification
of exported decisions when they are given. Markdown links the timeline PNG written next to
it; HTML embeds it, so the one file can be mailed or archived.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clients.auditor._source import ChainSnapshot
from clients.auditor._timeline import plot_timeline
from clients.auditor._verify import VerificationReport
from contracts.events import ConsentGranted
from contracts.names import Names


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Table:
    """A titled table: what both renderings draw."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _tables(snapshot: ChainSnapshot, report: VerificationReport | None) -> list[Table]:
    h, names = snapshot.history, Names()
    members: dict[str, list[str]] = {}
    for account in sorted({e.account for e in h.events if hasattr(e, "role")}):
        for role in h.roles_at(account, h.head_block):
            members.setdefault(names.label(role), []).append(account)
    tables = [
        Table(
            "Roles at the head block",
            ("role", "members"),
            [(role, ", ".join(sorted(accts))) for role, accts in sorted(members.items())],
        )
    ]
    consent_rows = []
    for e in h.consent_changes():
        granted = isinstance(e, ConsentGranted)
        consent_rows.append(
            (
                str(e.block_number),
                _when(h.time_of(e)),
                "grant" if granted else "revoke",
                e.subject,
                e.grantee,
                names.label(e.category),
                names.label(e.purpose),
                _when(e.expiry) if granted else "",
                "relayed" if e.relayed else "own tx",
            )
        )
    tables.append(
        Table(
            "Consent events",
            (
                "block",
                "time",
                "event",
                "subject",
                "grantee",
                "category",
                "purpose",
                "until",
                "sent",
            ),
            consent_rows,
        )
    )
    tables.append(
        Table(
            "Anchored batches",
            ("seq", "block", "root", "entries", "window"),
            [
                (
                    str(b.sequence),
                    str(b.block_number),
                    "0x" + b.root.hex()[:16] + "…",
                    str(b.entry_count),
                    f"{_when(b.first_decision_at)} – {_when(b.last_decision_at)}",
                )
                for b in sorted(h.batches.values(), key=lambda b: b.sequence)
            ],
        )
    )
    if report is not None:
        tables.append(
            Table(
                "Decisions checked",
                (
                    "decision",
                    "actor",
                    "action",
                    "category",
                    "allowed",
                    "anchored in",
                    "chain says",
                    "result",
                ),
                [
                    (
                        c.decision.id,
                        c.decision.actor,
                        c.decision.action,
                        c.decision.category or "",
                        "yes" if c.decision.allowed else "no",
                        c.anchored_in or "—",
                        c.chain_says or "—",
                        "ok" if c.ok else "; ".join(f.code for f in c.findings),
                    )
                    for c in report.checks
                ],
            )
        )
        tables.append(
            Table(
                "Findings",
                ("code", "decision", "what"),
                [(f.code, f.decision_id or "", f.message) for f in report.findings],
            )
        )
    return tables


def _summary(snapshot: ChainSnapshot, report: VerificationReport | None) -> list[str]:
    h, d = snapshot.history, snapshot.deployment
    lines = [
        f"Chain {snapshot.chain_id}, head block {h.head_block} "
        f"({_when(h.block_times[h.head_block])}); code at each address matches the audited "
        "artifacts.",
        f"StakeholderRegistry {d.registry}, ConsentLedger {d.consent_ledger}, "
        f"AuditTrail {d.audit_trail}.",
        f"{len(h.batches)} batches anchor {h.anchored_entries()} decisions; "
        f"{len(h.consent_changes())} consent events.",
    ]
    if report is not None:
        verdict = "PASSED" if report.ok else f"FAILED with {len(report.findings)} findings"
        lines.append(f"Verification of {len(report.checks)} exported decisions: {verdict}.")
    return lines


def _markdown(title: str, summary: list[str], tables: list[Table], png: str) -> str:
    out = [f"# {title}", "", *[f"- {s}" for s in summary], "", f"![timeline]({png})", ""]
    for t in tables:
        out += [f"## {t.title}", ""]
        if not t.rows:
            out += ["(none)", ""]
            continue
        out.append("| " + " | ".join(t.header) + " |")
        out.append("|" + "---|" * len(t.header))
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in t.rows]
        out.append("")
    return "\n".join(out)


def _html(title: str, summary: list[str], tables: list[Table], png: bytes) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:left}</style></head><body>",
        f"<h1>{esc(title)}</h1><ul>",
        *[f"<li>{esc(s)}</li>" for s in summary],
        "</ul>",
        f"<img alt='timeline' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
    ]
    for t in tables:
        parts.append(f"<h2>{esc(t.title)}</h2>")
        if not t.rows:
            parts.append("<p>(none)</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in t.header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in t.rows]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(snapshot: ChainSnapshot, report: VerificationReport | None, out: Path) -> Path:
    """Write `out` (.md or .html) and, beside it, the timeline PNG; return the PNG path."""
    png = plot_timeline(snapshot.history, report, out.with_name(out.stem + "-timeline.png"))
    title = "qcity audit report"
    summary, tables = _summary(snapshot, report), _tables(snapshot, report)
    if out.suffix.lower() in {".html", ".htm"}:
        out.write_text(_html(title, summary, tables, png.read_bytes()))
    else:
        out.write_text(_markdown(title, summary, tables, png.name))
    return png
