"""Fetch the gateway's decisions with their proofs (an auditor's export), waiting for anchors.

The one part of the auditor's tool that talks to the gateway; everything it fetches is then
checked against the chain alone. The export stops at the head it saw when it started: each
page read is itself an audited decision, and chasing those would never end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clients.sdk import QcityClient


def _anchored(row: dict[str, Any]) -> bool:
    return bool((row.get("anchor") or {}).get("status") == "anchored")


def export_decisions(client: QcityClient, *, wait_s: float = 30.0, poll_s: float = 1.0,
                     on_row: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Every decision up to the head (JSON, the route's shape), oldest first; decisions still
    waiting for their batch are re-read until anchored or `wait_s` runs out."""
    rows: dict[int, dict[str, Any]] = {}
    for decision in client.export_decisions():
        rows[decision.seq] = decision.model_dump(mode="json")
        if on_row is not None:
            on_row(len(rows))
    head = max(rows, default=0)
    deadline = time.monotonic() + wait_s
    while (pending := [q for q, row in rows.items() if not _anchored(row)]) and (
            time.monotonic() < deadline):
        time.sleep(poll_s)
        after = min(pending) - 1
        while after < head:  # only the pending range, up to the head seen at the start
            page = client.decision_page(after, min(1000, head - after))
            rows.update((d.seq, d.model_dump(mode="json")) for d in page.decisions
                        if d.seq <= head)
            if not page.decisions:
                break
            after = page.decisions[-1].seq
    return [rows[q] for q in sorted(rows)]
