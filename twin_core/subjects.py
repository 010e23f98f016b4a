"""Data subjects: which Ethereum address owns a personal device's observations.

The subject is stored once, on the device, so linking a household meter to the address of
the citizen who registered on chain is one row update, and every past and future reading
follows. The demo creates placeholder addresses; the demo script (or an onboarding flow in
the gateway) re-links them to real stakeholder addresses with these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from twin_core.categories import category
from twin_core.errors import EntityNotFound, SubjectNotApplicable
from twin_core.geo import normalise_address
from twin_core.model import Device
from twin_core.store import TwinStore

_DEV = Device.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SubjectLink:
    """A personal device and the address its data belongs to."""

    device_id: str
    observed_id: str
    category: str
    asset_id: str | None
    subject: str


def subject_links(store: TwinStore, subject: str | None = None) -> list[SubjectLink]:
    """Every personal device with its subject (or only those of `subject`)."""
    q = select(_DEV).where(_DEV.c.data_subject.is_not(None)).order_by(_DEV.c.pk)
    if subject is not None:
        q = q.where(_DEV.c.data_subject == normalise_address(subject))
    with store.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [SubjectLink(r["id"], r["observed_id"], r["category"], r["ref_asset"],
                        r["data_subject"]) for r in rows]


def link_subject(store: TwinStore, entity_id: str, subject: str) -> int:
    """Make `subject` the owner of the device(s) behind `entity_id`.

    `entity_id` may be the device, the observed entity, or the asset the device measures
    (a household's Building). Only devices of personal categories can carry a subject.
    Returns the number of devices changed.
    """
    address = normalise_address(subject)
    match = or_(_DEV.c.id == entity_id, _DEV.c.observed_id == entity_id,
                _DEV.c.ref_asset == entity_id)
    with store.engine.begin() as conn:
        found = conn.execute(select(_DEV.c.pk, _DEV.c.category).where(match)).all()
        if not found:
            raise EntityNotFound(f"no device behind {entity_id}", entity_id=entity_id)
        personal = [pk for pk, cat in found if category(cat).personal]
        if not personal:
            raise SubjectNotApplicable(f"{entity_id} carries no personal data category",
                                       entity_id=entity_id)
        conn.execute(update(_DEV).where(_DEV.c.pk.in_(personal)).values(data_subject=address))
    return len(personal)


def relink_subjects(store: TwinStore, mapping: Mapping[str, str]) -> int:
    """Replace subjects wholesale: each old address's devices move to the new address.

    Used to swap the demo's placeholder addresses for registered citizens' addresses in one
    transaction. Returns the number of devices changed.
    """
    pairs = [(normalise_address(a), normalise_address(b)) for a, b in mapping.items()]
    changed = 0
    with store.engine.begin() as conn:
        # Resolve every old address first, so a chain (A->B, B->C) moves A's devices to B
        # only, as the mapping says, whatever order it is applied in.
        targets = [(conn.execute(select(_DEV.c.pk).where(_DEV.c.data_subject == old))
                    .scalars().all(), new) for old, new in pairs]
        for pks, new in targets:
            if pks:
                conn.execute(update(_DEV).where(_DEV.c.pk.in_(pks)).values(data_subject=new))
                changed += len(pks)
    return changed
