"""LP files in and out.

Writing uses qiskit-optimization's docplex translator (no CPLEX needed). Reading cannot: in
0.7 ``read_from_lp_file`` is deprecated and docplex's reader needs the CPLEX runtime, which is
not installable here. HiGHS (``highspy``) parses the CPLEX LP format, quadratic objectives
included, so its model is translated into a QuadraticProgram. Quadratic constraints, which
HiGHS's LP reader does not accept, are out of scope for files.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from qiskit_optimization import QuadraticProgram

from quantum.errors import InvalidProblem


def to_lp_string(program: QuadraticProgram) -> str:
    """The program in CPLEX LP format (through docplex; QuadraticProgram's own
    ``export_as_lp_string`` is deprecated in 0.7)."""
    from qiskit_optimization.translators import to_docplex_mp

    return to_docplex_mp(program).export_as_lp_string()


def write_lp(program: QuadraticProgram, path: str | Path) -> Path:
    """Write ``program`` to ``path`` (LP format) and return the path."""
    path = Path(path)
    path.write_text(to_lp_string(program), encoding="utf-8")
    return path


def read_lp_string(text: str, name: str | None = None) -> QuadraticProgram:
    """Parse LP text (HiGHS reads files only, so it goes through a temporary file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.lp"
        path.write_text(text, encoding="utf-8")
        return read_lp(path, name=name or _problem_name(text))


def read_lp(path: str | Path, name: str | None = None) -> QuadraticProgram:
    """Read an LP file into a QuadraticProgram (variables keep their names and order)."""
    import highspy

    path = Path(path)
    if not path.is_file():
        raise InvalidProblem(f"no such LP file: {path}")
    highs = _quiet_highs()
    if highs.readModel(str(path)) != highspy.HighsStatus.kOk:
        raise InvalidProblem(f"HiGHS could not parse {path.name} as an LP file")
    model = highs.getModel()
    lp, hessian = model.lp_, model.hessian_
    program = QuadraticProgram(name or _problem_name(path.read_text(encoding="utf-8",
                                                                    errors="replace")))
    names = list(lp.col_names_) or [f"x{j}" for j in range(lp.num_col_)]
    integral = list(lp.integrality_) or [highspy.HighsVarType.kContinuous] * lp.num_col_
    for j, var in enumerate(names):
        lo, hi = float(lp.col_lower_[j]), float(lp.col_upper_[j])
        if integral[j] == highspy.HighsVarType.kInteger:
            if lo == 0 and hi == 1:
                program.binary_var(var)
            else:
                program.integer_var(_finite(lo, var), _finite(hi, var), var)
        elif integral[j] == highspy.HighsVarType.kContinuous:
            program.continuous_var(lo, hi, var)
        else:
            raise InvalidProblem(f"variable {var}: semi-continuous variables are not supported")
    linear = dict(zip(names, np.asarray(lp.col_cost_, dtype=float).tolist(), strict=True))
    quadratic = _hessian_terms(hessian, names)
    sense = "max" if lp.sense_ == highspy.ObjSense.kMaximize else "min"
    objective = program.maximize if sense == "max" else program.minimize
    objective(constant=float(lp.offset_), linear=linear, quadratic=quadratic)
    _add_rows(program, lp, names)
    return program


def _quiet_highs() -> object:
    """A Highs instance whose one-off C++ banner does not land on our stdout (CLI tables)."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs


def _finite(value: float, var: str) -> float:
    if not math.isfinite(value):
        raise InvalidProblem(f"integer variable {var} needs finite bounds")
    return value


def _hessian_terms(hessian: object, names: list[str]) -> dict[tuple[str, str], float]:
    """HiGHS stores 0.5 x'Qx with the lower triangle column-wise: undo both conventions."""
    terms: dict[tuple[str, str], float] = {}
    start = list(getattr(hessian, "start_", []))
    index = list(getattr(hessian, "index_", []))
    value = list(getattr(hessian, "value_", []))
    for col in range(max(len(start) - 1, 0)):
        for k in range(start[col], start[col + 1]):
            row, v = index[k], float(value[k])
            if v == 0.0:
                continue
            key = (names[col], names[row])
            terms[key] = terms.get(key, 0.0) + (0.5 * v if row == col else v)
    return terms


def _add_rows(program: QuadraticProgram, lp: object, names: list[str]) -> None:
    """Linear rows; a ranged row (two finite sides) becomes two constraints."""
    matrix = lp.a_matrix_  # type: ignore[attr-defined]
    n_rows = lp.num_row_  # type: ignore[attr-defined]
    rows: list[dict[str, float]] = [{} for _ in range(n_rows)]
    start, index, value = list(matrix.start_), list(matrix.index_), list(matrix.value_)
    colwise = "Colwise" in str(matrix.format_)
    outer = len(names) if colwise else n_rows
    for o in range(outer):
        for k in range(start[o], start[o + 1]):
            r, c = (index[k], o) if colwise else (o, index[k])
            rows[r][names[c]] = rows[r].get(names[c], 0.0) + float(value[k])
    row_names = list(lp.row_names_) or [f"c{r}" for r in range(n_rows)]  # type: ignore[attr-defined]
    for r, row in enumerate(rows):
        lo, hi = float(lp.row_lower_[r]), float(lp.row_upper_[r])  # type: ignore[attr-defined]
        name = row_names[r]
        if lo == hi:
            program.linear_constraint(row, "==", lo, name)
        elif math.isfinite(lo) and math.isfinite(hi):
            program.linear_constraint(row, ">=", lo, f"{name}_lo")
            program.linear_constraint(row, "<=", hi, f"{name}_hi")
        elif math.isfinite(lo):
            program.linear_constraint(row, ">=", lo, name)
        elif math.isfinite(hi):
            program.linear_constraint(row, "<=", hi, name)


def _problem_name(text: str) -> str:
    """docplex writes the model name in a leading comment; HiGHS does not keep it."""
    for line in text.splitlines():
        if line.startswith("\\Problem name:"):
            return line.split(":", 1)[1].strip()
        if not line.startswith("\\"):
            break
    return "lp"
