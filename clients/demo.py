"""`qcity demo`: the whole story on the embedded defaults, step by step, with a report.

A city twin is built, stakeholders are registered on chain with post-quantum identities,
citizens grant and revoke consents (relayed EIP-712, no gas of their own), the agency reads
twin state and runs optimisation jobs through the gateway, a company is refused a citizen's
meter data until the citizen consents, the citizen sees that read with its on-chain proof,
and the auditor verifies the whole trail from the chain alone.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from clients import _demo_steps as steps
from clients._demo_world import open_world, register_everyone

console = Console()
_MARKER = ".qcity-demo"


def _prepare(folder: Path) -> None:
    """A fresh demo folder; refuse to wipe anything that is not an earlier demo's."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / _MARKER).exists():
            raise typer.BadParameter(f"{folder} is not empty and not an earlier demo's folder",
                                     param_hint="--out")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / _MARKER).write_text("written by qcity demo; safe to delete\n")


def demo(
    out: Annotated[Path, typer.Option(help="folder for the chain, store, keys and report")] =
    Path("qcity-demo"),
    size: Annotated[str, typer.Option(help="city size: tiny, small or mid")] = "small",
    seed: Annotated[int, typer.Option(help="seed of the synthetic city")] = 7,
) -> None:
    """Run the whole story end to end on the embedded defaults."""
    if size not in steps.SIZES:
        raise typer.BadParameter(f"choose one of {', '.join(steps.SIZES)}", param_hint="--size")
    _prepare(out)
    started = time.monotonic()
    story = steps.Story(console)
    twin = steps.build_twin(story, out, size, seed)
    story.step("Chain and gateway", "an embedded EVM chain, three contracts, the gateway on "
               "loopback HTTP")
    world = open_world(out)
    try:
        story.say(f"chain id {world.chain.chain_id}, registry "
                  f"{world.deployment.registry}, gateway at {world.gateway.url}")
        rows = register_everyone(world)
        steps.show_registrations(story, rows)
        steps.link_citizens(story, world, twin)
        steps.consents(story, world)
        steps.agency_reads(story, world)
        jobs = steps.optimise(story, world)
        steps.company_and_citizen(story, world, twin)
        outcome = steps.audit(story, world)
        report = steps.write_report(story, twin, outcome, out, jobs)
    finally:
        world.stop()
    story.say(f"report: {report}")
    story.say(f"done in {time.monotonic() - started:.0f} s")
    failed = [job.label for job in jobs if not job.ok]
    if failed:
        story.say(f"[red]jobs that did not succeed: {', '.join(failed)}[/]")
    if not outcome.ok or failed:
        raise typer.Exit(1)
