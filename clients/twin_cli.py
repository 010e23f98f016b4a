"""`qcity twin`: the twin's local tools, and `get` / `query` through the gateway.

`load-demo`, `map`, `forecast-plot` and `kpis` work on a local store (twin_core's own CLI).
`get` and `query` read the twin the way every stakeholder must: through the gateway, logged
in with a key file, each read permission-checked on chain and recorded in the audit log.
`get` reads one entity (latest state, or its history in a time range); `query` reads a
category, optionally within an area (`--bbox`), as latest states or, with `--start`/`--end`,
as observations in that range. Bad input exits 2, a refusal exits 1 (one line naming the code).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from clients._cli_compat import standalone
from clients.sdk import Access, Observations
from clients.sdk_cli import (
    GatewayOpt,
    KeysOpt,
    _address,
    _bad,
    _client,
    _refusals,
    console,
)
from twin_core.cli import app as local_app

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="Build, query and draw the city twin (get/query: through the gateway).")
app.registered_commands.extend(local_app.registered_commands)

PurposeOpt = Annotated[str, typer.Option(help="W3C DPV purpose of the read, e.g. "
                                         "dpv:PublicBenefit.")]
StartOpt = Annotated[str | None, typer.Option(
    help="History from this time (ISO 8601, e.g. 2026-11-20T06:00Z, or epoch seconds).")]
EndOpt = Annotated[str | None, typer.Option(help="History until this time (exclusive).")]
LimitOpt = Annotated[int | None, typer.Option(min=1, max=100_000, help="Most rows returned.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]


def parse_time(value: str | None, option: str) -> int | None:
    """Epoch seconds from ISO 8601 (naive means UTC) or a number; bad input exits 2."""
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{option} is not a time: {value!r} (ISO 8601 or epoch seconds)") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def parse_bbox(value: str | None) -> list[float] | None:
    """`west,south,east,north` in degrees; bad input exits 2."""
    if value is None:
        return None
    try:
        box = [float(v) for v in value.split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise _bad(f"--bbox wants west,south,east,north with west<east, south<north: {value!r}")
    return box


def _window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    since, until = parse_time(start, "--start"), parse_time(end, "--end")
    if since is not None and until is not None and since >= until:
        raise _bad("--start must be before --end")
    return since, until


def _print_access(access: Access) -> None:
    console.print(f"allowed by {access.basis} at block {access.block} "
                  f"(audit decision #{access.decision})", markup=False)


def _print_observations(found: Observations, title: str) -> None:
    table = Table(title=title)
    for column in ("entity", "observed (UTC)", "values"):
        table.add_column(column, overflow="fold")
    for o in found.observations:
        table.add_row(o.entity_id, datetime.fromtimestamp(o.observed_at, UTC).isoformat(),
                      ", ".join(f"{k}={v:g}" for k, v in sorted(o.values.items())))
    console.print(table)
    _print_access(found.access)


@app.command("get")
def get(
    entity_id: Annotated[str, typer.Argument(help="The entity's NGSI-LD id.")],
    gateway: GatewayOpt,
    keys: KeysOpt,
    purpose: PurposeOpt,
    start: StartOpt = None,
    end: EndOpt = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One entity through the gateway: its latest state, or its history with --start/--end."""
    since, until = _window(start, end)
    if since is None and until is None:
        with _client(gateway, keys) as client, _refusals():
            read = client.entity(entity_id, purpose=purpose)
        if as_json:
            print(read.model_dump_json(indent=2))
            return
        table = Table(title=f"{read.entity.id} ({read.entity.category})")
        table.add_column("value")
        table.add_column("reading")
        for key, value in sorted(read.entity.values.items()):
            table.add_row(key, f"{value:g}")
        console.print(table)
        _print_access(read.access)
        return
    with _client(gateway, keys) as client, _refusals():
        found = client.entity_observations(entity_id, purpose=purpose, start=since, end=until,
                                           limit=limit)
    if as_json:
        print(found.model_dump_json(indent=2))
        return
    _print_observations(found, f"{len(found.observations)} observations of {entity_id}")


@app.command("query")
def query(
    gateway: GatewayOpt,
    keys: KeysOpt,
    category: Annotated[str, typer.Option(help="Data category, e.g. traffic.flow.")],
    purpose: PurposeOpt,
    bbox: Annotated[str | None, typer.Option(
        help="Only within west,south,east,north (degrees).")] = None,
    subject: Annotated[str | None, typer.Option(
        help="Data subject (personal categories).")] = None,
    provider: Annotated[str | None, typer.Option(help="Data provider.")] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A category through the gateway, by area: latest states, or observations in a range."""
    box = parse_bbox(bbox)
    who = _address(subject, "--subject") if subject else None
    source = _address(provider, "--provider") if provider else None
    since, until = _window(start, end)
    if since is None and until is None:
        with _client(gateway, keys) as client, _refusals():
            entities = client.entities(category=category, purpose=purpose, subject=who,
                                       provider=source, bbox=box, limit=limit)
        if as_json:
            print(entities.model_dump_json(indent=2))
            return
        table = Table(title=f"{len(entities.entities)} {category} entities")
        for column in ("id", "type", "observed", "values"):
            table.add_column(column, overflow="fold")
        for e in entities.entities:
            table.add_row(e.id, e.type, str(e.observed_at or ""),
                          ", ".join(f"{k}={v:g}" for k, v in sorted(e.values.items())))
        console.print(table)
        _print_access(entities.access)
        return
    with _client(gateway, keys) as client, _refusals():
        found = client.observations(category=category, purpose=purpose, subject=who,
                                    provider=source, bbox=box, start=since, end=until,
                                    limit=limit)
    if as_json:
        print(found.model_dump_json(indent=2))
        return
    _print_observations(found, f"{len(found.observations)} {category} observations")


command = standalone(app, "twin", "Build, query and draw the city twin.")
