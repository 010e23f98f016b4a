"""`qcity solve FILE.lp`: solve a model file and print the honest report as a table.

The coordinator's CLI mounts ``solve`` (a plain function that typer wraps); ``app`` is the same
command as a stand-alone typer application.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from quantum.errors import InvalidProblem, QuantumError
from quantum.hybrid import HybridConfig, HybridSolver
from quantum.lp import read_lp
from quantum.report import SolveReport, compare
from quantum.solvers.annealing import AnnealingSolver
from quantum.solvers.base import Solver, SolverResult
from quantum.solvers.exact import ExactSolver
from quantum.solvers.milp import MilpSolver
from quantum.solvers.qaoa import QAOAConfig, QAOASolver

app = typer.Typer(add_completion=False, help="Hybrid quantum-classical optimisation.")

SOLVERS = ("hybrid", "qaoa", "milp", "annealing", "exact")


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(help="An LP file (CPLEX LP format).")],
    solver: Annotated[str, typer.Option(help=f"One of {', '.join(SOLVERS)}.")] = "hybrid",
    max_qubits: Annotated[int, typer.Option(help="Circuit budget per sub-problem.")] = 12,
    reps: Annotated[int, typer.Option(help="QAOA depth p (ladder 1..p).")] = 2,
    shots: Annotated[int, typer.Option(help="Shots per circuit evaluation.")] = 1024,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and the start.")] = 7,
    baseline: Annotated[bool, typer.Option(help="Also solve with HiGHS MILP.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Solve FILE with the hybrid solver (or another) and compare it with HiGHS."""
    if solver not in SOLVERS:
        _usage_error(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if not file.is_file():
        _usage_error(f"no such file: {file}")
    qaoa = QAOAConfig(reps=reps, shots=shots, seed=seed, max_qubits=max(max_qubits, 2))
    chosen = _solver(solver, qaoa, max_qubits)
    try:
        program = read_lp(file)
        report = compare(program, chosen, MilpSolver(), with_baseline=baseline, kind="lp")
    except InvalidProblem as exc:
        _usage_error(str(exc))
    except QuantumError as exc:
        typer.echo(f"error [{exc.code}]: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    render(report, Console())


def _usage_error(message: str) -> NoReturn:
    """Bad input: one line on stderr and exit status 2 (click's UsageError convention)."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def _solver(name: str, qaoa: QAOAConfig, max_qubits: int) -> Solver:
    if name == "hybrid":
        return HybridSolver(HybridConfig(max_qubits=max_qubits, qaoa=qaoa))
    if name == "qaoa":
        return QAOASolver(qaoa)
    if name == "milp":
        return MilpSolver()
    if name == "annealing":
        return AnnealingSolver(seed=qaoa.seed)
    return ExactSolver()


def render(report: SolveReport, console: Console) -> None:
    """The report as rich tables: candidate against baseline, then the QAOA ladder."""
    table = Table(title=f"{report.problem}: {report.num_vars} variables, "
                        f"{report.num_qubits} QUBO qubits ({report.sense})")
    table.add_column("figure")
    table.add_column(report.result.solver, justify="right")
    if report.baseline is not None:
        table.add_column(f"{report.baseline.solver} (classical baseline)", justify="right")
    rows = _rows(report.result)
    base_rows = _rows(report.baseline) if report.baseline is not None else {}
    for key, value in rows.items():
        table.add_row(key, value, *([base_rows.get(key, "")] if base_rows else []))
    table.add_row("best known", _num(report.best_known), *([""] if base_rows else []))
    table.add_row("proven bound", _num(report.bound), *([""] if base_rows else []))
    table.add_row("gap to best known", _pct(report.gap), *([_pct(report.baseline_gap)]
                                                          if base_rows else []))
    console.print(table)
    if report.result.qaoa_levels:
        ladder = Table(title="QAOA runs (parameters carried from p to p+1)")
        for col in ("run", "p", "energy", "evaluations", "wall s", "depth", "2q gates"):
            ladder.add_column(col, justify="right")
        for lv in report.result.qaoa_levels:
            ladder.add_row(str(lv.run), str(lv.reps), _num(lv.energy), str(lv.evaluations),
                           f"{lv.wall_s:.2f}", str(lv.depth), str(lv.two_qubit_gates))
        console.print(ladder)
    for note in report.result.notes:
        console.print(f"- {note}")
    console.print(report.verdict)


def _rows(result: SolverResult) -> dict[str, str]:
    circuit = result.circuit
    return {
        "status": result.status.value,
        "objective": _num(result.objective),
        "feasible": "yes" if result.feasible else "no",
        "wall time s": f"{result.wall_s:.3f}",
        "qubits (widest circuit)": str(circuit.num_qubits) if circuit else "-",
        "circuit depth": str(circuit.depth) if circuit else "-",
        "two-qubit gates": str(circuit.two_qubit_gates) if circuit else "-",
        "shots": str(circuit.shots) if circuit else "-",
        "circuit evaluations": str(circuit.evaluations) if circuit else "-",
        "share of plan from QAOA": f"{100 * result.quantum_share:.0f}%",
    }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"
