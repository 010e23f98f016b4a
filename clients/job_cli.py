"""`qcity job`: launch optimisation jobs through the gateway, follow them, read their reports.

- `job submit KIND` launches a traffic, emergency, energy (`--feeder ID`) or LP (`--lp FILE`)
  job for a DPV purpose with a solver (hybrid by default; the HiGHS MILP baseline runs
  alongside); `--watch` follows it with a progress bar.
- `job status ID`, `job list`, `job cancel ID`: the gateway's view of jobs.
- `job watch ID`: a progress bar fed by the job's server-sent events.
- `job result ID`: the solver against the classical baseline (objective, gap, feasibility,
  quantum share, circuit width and depth, shots, evaluations, wall time) and the KPI changes
  the twin measured by re-simulating the plan; `--json` prints the whole typed report.

Exit statuses, as everywhere in the `qcity` CLI: 0 done; 2 bad input (options, files, or a
request body the gateway rejects as malformed), one line on stderr; 1 anything else that did
not work, one line naming why: a refusal by the gateway (permission, consent, unknown job,
result not ready: `refused: <code> ...`), a job that ended failed or cancelled (`failed: ...`),
or a gateway that could not be reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from clients._cli_compat import standalone
from clients.sdk import (
    InvalidRequest,
    KeyFile,
    KeyFileError,
    NotFound,
    PermissionDenied,
    QcityClient,
    QcityError,
    SessionInvalid,
)

if TYPE_CHECKING:  # quantum's reports import qiskit (~3 s): loaded when a result is shown
    from quantum import SolveReport, SolverResult

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

job_app = typer.Typer(help="Launch optimisation jobs through the gateway and follow them.",
                      add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                      pretty_exceptions_enable=False)


@job_app.callback()
def group() -> None:
    """Launch optimisation jobs through the gateway and follow them."""


class Kind(StrEnum):
    """What a job optimises."""

    TRAFFIC = "traffic"
    EMERGENCY = "emergency"
    ENERGY = "energy"
    LP = "lp"


class SolverName(StrEnum):
    """The solver a job runs (the classical baseline runs alongside)."""

    HYBRID = "hybrid"
    QAOA = "qaoa"
    MILP = "milp"
    ANNEALING = "annealing"
    EXACT = "exact"


TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
REFUSED = (NotFound, PermissionDenied, SessionInvalid)
"""Refusals by the gateway (exit 1, `refused: ...`); InvalidRequest is bad input (exit 2)."""

GatewayOpt = Annotated[str, typer.Option("--gateway", help="Gateway base URL.")]
KeysOpt = Annotated[Path, typer.Option("--keys", help="Key file (see `qcity keys new`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]
JobId = Annotated[str, typer.Argument(help="The job's id (see `qcity job list`).")]


def _bad(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2."""
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def _refused(message: str) -> NoReturn:
    """The gateway said no: one line on stderr, exit status 1 (as `qcity twin get`)."""
    err.print(f"error: refused: {message}", markup=False)
    raise typer.Exit(1)


def _failed(message: str) -> NoReturn:
    err.print(f"failed: {message}", markup=False)
    raise typer.Exit(1)


@contextmanager
def _answers() -> Iterator[None]:
    """SDK errors as one line: malformed requests exit 2, refusals and failures exit 1."""
    try:
        yield
    except InvalidRequest as exc:
        _bad(str(exc))
    except REFUSED as exc:
        _refused(str(exc))
    except QcityError as exc:
        if exc.status == 409:  # job_not_finished, job_finished: the request, not the job
            _refused(str(exc))
        _failed(str(exc))


@contextmanager
def _client(gateway: str, keys: Path) -> Iterator[QcityClient]:
    if not gateway.startswith(("http://", "https://")):
        _bad(f"--gateway must be an http(s) URL, not {gateway!r}")
    try:
        key_file = KeyFile.load(keys)
    except KeyFileError as exc:
        _bad(str(exc))
    with QcityClient(gateway, key_file) as client, _answers():
        client.login()
        yield client


# ------------------------------------------------------------------ requests


def job_request(kind: Kind, *, purpose: str, solver: SolverName, feeder: str | None = None,
                lp: Path | None = None, max_qubits: int | None = None, reps: int | None = None,
                shots: int | None = None, maxiter: int | None = None, seed: int | None = None,
                baseline: bool = True, sumo: bool = False) -> dict[str, Any]:
    """The body of `POST /jobs` for these options; bad combinations exit 2 here."""
    if kind is Kind.ENERGY and not feeder:
        _bad("an energy job needs --feeder ID")
    if kind is not Kind.ENERGY and feeder:
        _bad("--feeder applies to energy jobs only")
    if kind is Kind.LP and lp is None:
        _bad("an lp job needs --lp FILE")
    if kind is not Kind.LP and lp is not None:
        _bad("--lp applies to lp jobs only")
    qaoa = {k: v for k, v in (("reps", reps), ("shots", shots), ("maxiter", maxiter),
                              ("seed", seed)) if v is not None}
    spec: dict[str, Any] = {"name": solver.value, "baseline": "milp" if baseline else "none"}
    if qaoa:
        spec["qaoa"] = qaoa
    if max_qubits is not None or qaoa:
        spec["hybrid"] = {"qaoa": qaoa} | ({"max_qubits": max_qubits} if max_qubits else {})
    body: dict[str, Any] = {"kind": kind.value, "purpose": purpose, "solver": spec}
    if kind is Kind.ENERGY:
        body["feeder_id"] = feeder
    if sumo:
        if kind is not Kind.TRAFFIC:
            _bad("--sumo applies to traffic jobs only")
        body["sumo"] = True
    if lp is not None:
        try:
            body["lp"], body["name"] = lp.read_text(), lp.stem[:128]
        except (OSError, UnicodeDecodeError) as exc:
            _bad(f"cannot read {lp}: {exc.strerror or exc}")
        if not body["lp"].strip():
            _bad(f"{lp} is empty")
    return body


# ------------------------------------------------------------------ reports as tables


def as_report(report: Any) -> SolveReport:
    """The quantum report from what the SDK returned (a model or its JSON)."""
    from quantum import SolveReport

    if isinstance(report, SolveReport):
        return report
    data = report.model_dump(mode="json") if isinstance(report, BaseModel) else report
    return SolveReport.model_validate(data)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _solver_rows(result: SolverResult, gap: float | None) -> dict[str, str]:
    c = result.circuit
    return {
        "status": result.status.value,
        "objective": _num(result.objective),
        "feasible": "yes" if result.feasible else "no",
        "gap to best known": _pct(gap),
        "proven bound": _num(result.bound),
        "share of plan from QAOA": f"{100 * result.quantum_share:.0f}%",
        "circuit width (qubits)": str(c.num_qubits) if c else "-",
        "circuit depth": str(c.depth) if c else "-",
        "shots": str(c.shots) if c else "-",
        "circuit evaluations": str(c.evaluations) if c else "-",
        "wall time s": f"{result.wall_s:.2f}",
    }


def kpi_text(before: float, after: float, change: float) -> str:
    """`before → after (±x%)`: the change as the twin measured it."""
    rel = f" ({100 * change / abs(before):+.1f}%)" if abs(before) > 1e-12 else ""
    return f"{before:.4g} → {after:.4g}{rel}"


def result_table(report: SolveReport, title: str | None = None) -> Table:
    """The solver's plan against the classical baseline, then the KPI changes of the plan."""
    r, b = report.result, report.baseline
    table = Table(title=title or f"{report.problem}: {report.num_vars} variables, "
                  f"{report.num_qubits} QUBO qubits ({report.sense})")
    table.add_column("figure")
    table.add_column(r.solver, justify="right")
    if b is not None:
        table.add_column(f"{b.solver} (classical baseline)", justify="right")
    ours = _solver_rows(r, report.gap)
    theirs = _solver_rows(b, report.baseline_gap) if b is not None else {}
    for key, value in ours.items():
        table.add_row(key, value, *([theirs[key]] if b is not None else []))
    for k in report.kpis:
        label = f"{k.name}, {k.unit} ({k.source.split('.')[0]})"
        table.add_row(label, kpi_text(k.before, k.after, k.change), *(["-"] if b else []))
    return table


def render_result(report: SolveReport, target: Console, title: str | None = None) -> None:
    """The table, then the report's sober verdict (built from the figures alone)."""
    target.print(result_table(report, title))
    target.print(report.verdict, markup=False)


def _view_table(view: Any) -> Table:
    table = Table(title=f"job {view.job_id}", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    p = view.progress
    rows = [("kind", view.kind), ("state", str(view.state)), ("owner", view.owner),
            ("purpose", view.purpose), ("backend", view.backend),
            ("submitted", str(view.submitted_at)), ("started", str(view.started_at or "-")),
            ("finished", str(view.finished_at or "-")),
            ("progress", f"{100 * p.fraction:.0f}% {p.stage} {p.message}".strip() if p else "-"),
            ("audit decisions", ", ".join(f"#{d}" for d in view.decisions) or "-"),
            ("consents relied on", str(len(view.consents)))]
    if view.error is not None:
        rows.append(("error", f"{view.error.code}: {view.error.message}"))
    if view.cancel_reason:
        rows.append(("cancelled because", view.cancel_reason))
    for key, value in rows:
        table.add_row(key, value)
    return table


# ------------------------------------------------------------------ following a job


def follow(views: Iterable[Any], target: Console, label: str = "job") -> Any:
    """A progress bar over a job's views (SSE); returns the last one seen."""
    last = None
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=target, transient=False) as bar:
        task = bar.add_task(label, total=1.0, note="queued")
        for view in views:
            last = view
            state, p = str(view.state), view.progress
            note = state if p is None else f"{state}: {p.stage} {p.message}".strip()
            done = 1.0 if state == "succeeded" else p.fraction if p is not None else 0.0
            bar.update(task, completed=done, note=note[:60])
            if state in TERMINAL:
                break
    return last


def _end(view: Any) -> None:
    """Exit 1 unless the job succeeded (after saying why)."""
    state = str(view.state)
    if state == "succeeded":
        console.print(f"job {view.job_id} succeeded: see `qcity job result {view.job_id}`",
                      markup=False)
        return
    why = (f"{view.error.code}: {view.error.message}" if view.error is not None
           else view.cancel_reason or "no reason given")
    _failed(f"job {view.job_id} {state}: {why}")


def _watch(client: QcityClient, job_id: str) -> None:
    last = follow(client.watch_job(job_id), console, f"job {job_id[:12]}")
    if last is None or str(last.state) not in TERMINAL:
        last = client.job(job_id)
    _end(last)


# ------------------------------------------------------------------ commands


@job_app.command("submit")
def submit(
    kind: Annotated[Kind, typer.Argument(help="What to optimise.", case_sensitive=False)],
    gateway: GatewayOpt,
    keys: KeysOpt,
    purpose: Annotated[str, typer.Option(help="W3C DPV purpose of the job.")] =
    "dpv:PublicBenefit",
    solver: Annotated[SolverName, typer.Option(help="The solver.", case_sensitive=False)] =
    SolverName.HYBRID,
    feeder: Annotated[str | None, typer.Option(help="The feeder (energy jobs).")] = None,
    lp: Annotated[Path | None, typer.Option(help="An LP file (lp jobs).")] = None,
    max_qubits: Annotated[int | None, typer.Option(min=2, max=32,
                                                   help="Circuit budget per sub-problem.")] = None,
    reps: Annotated[int | None, typer.Option(min=1, max=8, help="QAOA depth p.")] = None,
    shots: Annotated[int | None, typer.Option(min=16, help="Shots per evaluation.")] = None,
    maxiter: Annotated[int | None, typer.Option(min=1, help="QAOA optimiser iterations.")] =
    None,
    seed: Annotated[int | None, typer.Option(help="Seed of the sampler.")] = None,
    baseline: Annotated[bool, typer.Option(help="Run the HiGHS MILP baseline too.")] = True,
    sumo: Annotated[bool, typer.Option(
        "--sumo", help="Traffic: also re-simulate the plan in SUMO (slow).")] = False,
    watch: Annotated[bool, typer.Option(help="Follow the job with a progress bar.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Launch a KIND job for PURPOSE; its inputs are read from the twin under your rights."""
    body = job_request(kind, purpose=purpose, solver=solver, feeder=feeder, lp=lp,
                       max_qubits=max_qubits, reps=reps, shots=shots, maxiter=maxiter,
                       seed=seed, baseline=baseline, sumo=sumo)
    with _client(gateway, keys) as client:
        view = client.submit_job(body)
        if as_json:
            print(view.model_dump_json(indent=2))
        else:
            console.print(f"job {view.job_id} {view.state} ({view.kind}, {view.purpose}, "
                          f"on {view.backend})", markup=False)
        if watch:
            _watch(client, view.job_id)


@job_app.command("status")
def status(job_id: JobId, gateway: GatewayOpt, keys: KeysOpt, as_json: JsonOpt = False) -> None:
    """One job's state, progress and the audit decisions its launch rests on."""
    with _client(gateway, keys) as client:
        view = client.job(job_id)
    if as_json:
        print(view.model_dump_json(indent=2))
        return
    console.print(_view_table(view))


@job_app.command("list")
def list_jobs(gateway: GatewayOpt, keys: KeysOpt, as_json: JsonOpt = False) -> None:
    """Your jobs, newest first."""
    with _client(gateway, keys) as client:
        found = client.jobs()
    if as_json:
        print(found.model_dump_json(indent=2))
        return
    table = Table(title=f"{len(found.jobs)} job{'s' * (len(found.jobs) != 1)}")
    table.add_column("id", no_wrap=True, min_width=max((len(v.job_id) for v in found.jobs),
                                                       default=2))
    for column in ("kind", "state", "progress"):
        table.add_column(column, no_wrap=True)
    for column in ("purpose", "submitted (UTC)"):
        table.add_column(column, overflow="fold")
    for v in found.jobs:
        p = v.progress
        table.add_row(v.job_id, v.kind, str(v.state), f"{100 * p.fraction:.0f}%" if p else "-",
                      v.purpose, v.submitted_at.strftime("%m-%d %H:%M:%S"))
    console.print(table)


@job_app.command("result")
def result(job_id: JobId, gateway: GatewayOpt, keys: KeysOpt, as_json: JsonOpt = False) -> None:
    """The solver against the classical baseline, and the plan's KPI changes in the twin."""
    with _client(gateway, keys) as client:
        try:
            answer = client.job_result(job_id)
        except QcityError as exc:
            if exc.error_code != "job_has_no_result":
                raise
            _end(client.job(job_id))  # failed or cancelled: say why, exit 1
            return
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    try:
        report = as_report(answer.report)
    except ValidationError as exc:
        _failed(f"the gateway's report does not parse: {exc.error_count()} errors")
    render_result(report, console, title=f"job {job_id}: {report.problem} "
                  f"({report.num_vars} variables, {report.sense})")


@job_app.command("watch")
def watch_job(job_id: JobId, gateway: GatewayOpt, keys: KeysOpt) -> None:
    """Follow a job to its end with a progress bar (server-sent events)."""
    with _client(gateway, keys) as client:
        _watch(client, job_id)


@job_app.command("cancel")
def cancel(job_id: JobId, gateway: GatewayOpt, keys: KeysOpt) -> None:
    """Cancel a queued or running job (its partial results are discarded)."""
    with _client(gateway, keys) as client:
        view = client.cancel_job(job_id)
    console.print(f"job {view.job_id} {view.state}", markup=False)


command = standalone(job_app, "job", "Launch optimisation jobs and follow them (gateway).")
