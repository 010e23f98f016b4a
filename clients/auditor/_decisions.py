"""Decisions as the gateway exports them, parsed for checking.

A decision is the gateway's audit entry (gateway/audit/records.py: seq, prev_hash,
decided_at_ms, actor, action, resource, category, purpose, subject, provider, allowed,
reason, block) plus its anchor: the batch sequence and the Merkle proof. Both the gateway's
route shape (`fields` and `anchor: {sequence, proof, ...}`, as GET /audit/decisions/{seq} and
/me/decisions answer) and a flat shape (fields, `batch`, `proof` side by side) are read.
Input is a JSON array, a JSON object with a `decisions` (or `items`) array, or JSON Lines.
Malformed input raises `DecisionFileError`, which the CLI turns into exit status 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address


class DecisionFileError(ValueError):
    """The decisions file is not valid JSON/JSONL or a decision lacks a required field."""


@dataclass(frozen=True)
class AuditedDecision:
    """One access decision with the anchor the gateway claims for it."""

    seq: int
    prev_hash: bytes
    decided_at_ms: int
    actor: str
    action: str
    resource: str
    category: str | None
    purpose: str | None
    subject: str | None
    provider: str | None
    allowed: bool
    reason: str
    block: int
    batch: int | None = None
    proof: tuple[bytes, ...] = ()
    leaf: bytes | None = None
    entry: bytes | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        """How reports name the decision: its sequence number in the gateway's log."""
        return f"#{self.seq}"

    @property
    def decided_at(self) -> int:
        """Decision time in unix seconds (the unit of the batch windows on chain)."""
        return self.decided_at_ms // 1000


def _hex_bytes(value: Any, what: str, size: int | None = 32) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise DecisionFileError(f"{what} must be 0x-prefixed hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise DecisionFileError(f"{what} is not hex") from None
    if size is not None and len(raw) != size:
        raise DecisionFileError(f"{what} must be {size} bytes")
    return raw


def _address(value: Any, what: str, *, optional: bool = False) -> str | None:
    if optional and (value is None or value == "" or value == "0x" + "00" * 20):
        return None
    if not isinstance(value, str) or not is_address(value):
        raise DecisionFileError(f"{what} is not an address: {value!r}")
    return to_checksum_address(value)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise DecisionFileError(f"{what} must be true or false")
    return value


def parse_decision(d: Any, index: int) -> AuditedDecision:
    """One decision from its JSON object; `index` names it in error messages."""
    if not isinstance(d, Mapping):
        raise DecisionFileError(f"decision {index + 1} is not a JSON object")
    anchor = d.get("anchor") if isinstance(d.get("anchor"), Mapping) else {}
    fields = d.get("fields") if isinstance(d.get("fields"), Mapping) else {}
    merged: dict[str, Any] = {**d, **fields, **anchor}
    try:
        batch = merged.get("batch", merged.get("batch_seq", anchor.get("sequence")))
        leaf = merged.get("leaf")
        entry = merged.get("entry")
        return AuditedDecision(
            seq=int(merged["seq"]),
            prev_hash=_hex_bytes(merged["prev_hash"], "prev_hash"),
            decided_at_ms=int(merged["decided_at_ms"]),
            actor=str(_address(merged["actor"], "actor")),
            action=str(merged["action"]),
            resource=str(merged.get("resource", "")),
            category=_text(merged.get("category")),
            purpose=_text(merged.get("purpose")),
            subject=_address(merged.get("subject"), "subject", optional=True),
            provider=_address(merged.get("provider"), "provider", optional=True),
            allowed=_bool(merged["allowed"], "allowed"),
            reason=str(merged.get("reason", "")),
            block=int(merged["block"]),
            batch=None if batch is None else int(batch),
            proof=tuple(_hex_bytes(p, "proof element") for p in merged.get("proof") or ()),
            leaf=None if leaf is None else _hex_bytes(leaf, "leaf"),
            entry=None if entry is None else _hex_bytes(entry, "entry", size=None),
            raw=dict(d),
        )
    except DecisionFileError as exc:
        raise DecisionFileError(f"decision {index + 1}: {exc}") from None
    except KeyError as exc:
        raise DecisionFileError(f"decision {index + 1}: missing field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise DecisionFileError(f"decision {index + 1}: malformed field ({exc})") from None


def load_decisions(path: Path) -> list[AuditedDecision]:
    """Read a JSON or JSON Lines file of decisions."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DecisionFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data: Any = json.loads(text)
    except ValueError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise DecisionFileError(f"{path} is neither JSON nor JSON Lines: {exc}") from None
    if isinstance(data, Mapping):
        data = data.get("decisions", data.get("items"))
    if not isinstance(data, list):
        raise DecisionFileError(f"{path} holds no list of decisions")
    return [parse_decision(d, i) for i, d in enumerate(data)]
