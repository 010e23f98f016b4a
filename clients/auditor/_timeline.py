"""The audit timeline as a PNG: consents per grant, anchored batches, checked decisions.

One lane per (subject, grantee, category, purpose) shows when the consent held (a bar from
grant to revocation or expiry); an "audit anchors" lane marks each anchored batch; a
"decisions" lane marks allowed (filled) and denied (hollow) decisions, with findings in red.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: reports are written by servers and CI

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from clients.auditor._history import ChainHistory
from clients.auditor._verify import VerificationReport
from contracts.events import ConsentGranted
from contracts.names import Names


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def consent_spans(history: ChainHistory) -> list[tuple[str, float, float, bool]]:
    """(lane label, start, end, ended_by_revocation) for every grant, in chain order."""
    names, spans, open_grants = Names(), [], {}
    head_time = history.block_times.get(history.head_block, 0)
    for e in history.consent_changes():
        key = (e.subject, e.grantee, e.category, e.purpose)
        label = (
            f"{_short(e.subject)} → {_short(e.grantee)}\n"
            f"{names.label(e.category)} / {names.label(e.purpose)}"
        )
        started = open_grants.pop(key, None)
        if started is not None:
            grant, t0 = started
            spans.append((label, t0, min(history.time_of(e), grant.expiry), True))
        if isinstance(e, ConsentGranted):
            open_grants[key] = (e, history.time_of(e))
    for key, (grant, t0) in open_grants.items():
        label = (
            f"{_short(key[0])} → {_short(key[1])}\n{names.label(key[2])} / {names.label(key[3])}"
        )
        spans.append((label, t0, min(grant.expiry, max(head_time, t0 + 1)), False))
    return spans


def plot_timeline(history: ChainHistory, report: VerificationReport | None, out: Path) -> Path:
    """Draw the timeline to `out` (PNG) and return the path."""
    spans = consent_spans(history)
    lanes = list(dict.fromkeys(label for label, *_ in spans))
    rows = [*lanes, "audit anchors", "decisions"]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.55 * len(rows)), dpi=110)
    for label, start, end, revoked in spans:
        y = rows.index(label)
        ax.barh(
            y,
            (end - start) / 86400,
            left=mdates.date2num(_dt(start)),
            height=0.45,
            color="#c0392b" if revoked else "#27ae60",
            alpha=0.75,
        )
    anchors = [history.time_of(b) for b in history.batches.values()]
    ax.scatter(
        [_dt(t) for t in anchors],
        [rows.index("audit anchors")] * len(anchors),
        marker="D",
        color="#2c3e50",
        label="batch anchored",
        zorder=3,
    )
    if report is not None:
        y = rows.index("decisions")
        for check in report.checks:
            d = check.decision
            ax.scatter(
                [_dt(d.decided_at_ms / 1000)],
                [y],
                marker="o",
                s=40,
                zorder=4,
                facecolors="#2980b9" if d.allowed else "none",
                edgecolors="#e74c3c" if check.findings else "#2980b9",
            )
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.invert_yaxis()
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(
        "Consents (green: held, red: ended by revocation), anchors and decisions", fontsize=9
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    out.write_bytes(buffer.getvalue())
    return out
