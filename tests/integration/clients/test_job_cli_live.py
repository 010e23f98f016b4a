"""`qcity job` against a live gateway (uvicorn on loopback, embedded chain, process pool).

The company (ENTERPRISE, an organisation role) launches LP jobs; the citizen may not. The
served gateway's twin holds no city, so twin-fed jobs are refused for want of inputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clients.cli import cli

LP = ("Minimize\n obj: x + 2 y - 3 z + w - 2 v\nSubject To\n c1: x + y + z + w + v >= 2\n"
      " c2: z + v <= 1\nBinaries\n x y z w v\nEnd\n")
# Thousands of QAOA iterations: ends only when cancelled (progress at every few).
ENDLESS = ["--solver", "qaoa", "--reps", "8", "--maxiter", "10000", "--no-baseline"]


def _job(served: Any, who: str, *args: str) -> Result:
    common = ["--gateway", served.url, "--keys", str(served.files[who])]
    return CliRunner().invoke(cli, ["job", *args, *common])


def _last_line(output: str) -> str:
    assert "Traceback" not in output
    return [line for line in output.splitlines() if line.strip()][-1]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lp") / "five.lp"
    path.write_text(LP)
    return path


def test_submit_watch_then_result_shows_hybrid_beside_the_baseline(served: Any, model: Path
                                                                   ) -> None:
    submitted = _job(served, "company", "submit", "lp", "--lp", str(model), "--max-qubits", "8",
                     "--reps", "1", "--shots", "256", "--watch", "--json")
    assert submitted.exit_code == 0, submitted.output
    job_id = json.JSONDecoder().raw_decode(submitted.output)[0]["job_id"]
    assert f"job {job_id} succeeded" in submitted.output and "100%" in submitted.output

    table = _job(served, "company", "result", job_id)
    assert table.exit_code == 0, table.output
    text = " ".join(table.output.split())
    for label in ("hybrid", "milp (classical baseline)", "gap to best known",
                  "share of plan from QAOA", "circuit width (qubits)", "circuit depth",
                  "shots", "circuit evaluations", "wall time s"):
        assert label in text
    assert "no quantum speed-up is claimed" in text

    as_json = _job(served, "company", "result", job_id, "--json")
    answer = json.loads(as_json.output)
    assert answer["summary"]["solver"] == "hybrid" and answer["summary"]["feasible"]
    assert answer["summary"]["objective"] == pytest.approx(answer["summary"]["baseline"])
    assert answer["report"]["result"]["circuit"]["shots"] == 256

    status = _job(served, "company", "status", job_id)
    assert status.exit_code == 0 and "succeeded" in status.output
    listed = _job(served, "company", "list")
    assert listed.exit_code == 0 and job_id in listed.output


def test_cancelled_job_watch_and_result_exit_1_saying_why(served: Any, model: Path) -> None:
    submitted = _job(served, "company", "submit", "lp", "--lp", str(model), *ENDLESS, "--json")
    assert submitted.exit_code == 0, submitted.output
    job_id = json.loads(submitted.output)["job_id"]
    cancelled = _job(served, "company", "cancel", job_id)
    assert cancelled.exit_code == 0, cancelled.output
    watched = _job(served, "company", "watch", job_id)
    assert watched.exit_code == 1
    assert _last_line(watched.output).startswith(f"failed: job {job_id} cancelled")
    result = _job(served, "company", "result", job_id)
    assert result.exit_code == 1
    assert _last_line(result.output).startswith(f"failed: job {job_id} cancelled")
    again = _job(served, "company", "cancel", job_id)
    assert again.exit_code == 1 and "job_finished" in _last_line(again.output)


@pytest.mark.parametrize(("who", "args", "code", "status", "prefix"), [
    ("citizen", ["submit", "lp"], "role_missing", 1, "error: refused: "),
    ("company", ["status", "no-such-job"], "job_not_found", 1, "error: refused: "),
    ("auditor", ["result", "no-such-job"], "job_not_found", 1, "error: refused: "),
    ("company", ["submit", "emergency"], "job_input_unavailable", 2, "error: "),
])
def test_refusals_exit_1_and_bad_requests_exit_2_with_one_line_naming_the_code(
    served: Any, model: Path, who: str, args: list[str], code: str, status: int, prefix: str
) -> None:
    extra = ["--lp", str(model)] if args[-1] == "lp" else []
    result = _job(served, who, *args, *extra)
    assert result.exit_code == status, result.output
    line = _last_line(result.output)
    assert line.startswith(prefix) and code in line
