"""`qcity solve FILE.lp` prints the report; bad input exits 2 with one line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from quantum import build_emergency, demo_emergency, write_lp
from quantum.cli import app

runner = CliRunner()


def test_solve_prints_the_report_table(tmp_path):
    path = write_lp(build_emergency(demo_emergency(2, 3)).program, tmp_path / "d.lp")
    result = runner.invoke(app, [str(path), "--reps", "1", "--shots", "256"])
    assert result.exit_code == 0, result.output
    assert "classical baseline" in result.output
    assert "share of plan from QAOA" in result.output
    assert "no quantum speed-up is claimed" in " ".join(result.output.split())


def test_solve_json_is_a_report(tmp_path):
    path = write_lp(build_emergency(demo_emergency(2, 2)).program, tmp_path / "d.lp")
    result = runner.invoke(app, [str(path), "--json", "--solver", "milp"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["result"]["solver"] == "milp" and report["result"]["feasible"]


def test_bad_input_exits_with_usage_error(tmp_path):
    missing = runner.invoke(app, [str(tmp_path / "absent.lp")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    path = tmp_path / "x.lp"
    path.write_text("Minimize\n obj: x\nEnd\n")
    unknown = runner.invoke(app, [str(path), "--solver", "magic"])
    assert unknown.exit_code == 2 and "unknown solver" in unknown.output
