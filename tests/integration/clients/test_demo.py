"""`qcity demo`, the README's main command, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _qcity(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from clients.cli import main; main()", *args],
        capture_output=True, text=True, timeout=600,
    )


def test_demo_tells_the_story_and_the_auditor_verifies_it(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _qcity("demo", "--out", str(out), "--size", "tiny")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "refused: consent_missing" in proc.stdout
    assert "on the basis of consent" in proc.stdout
    assert "verification passed" in proc.stdout
    report = (out / "report.md").read_text()
    assert "The auditor verifies the trail" in report
    assert (out / "chain" / "chain.jsonl").exists()

    # Step 6: both jobs ran through the gateway and succeeded (a failed one exits 1).
    stdout = " ".join(proc.stdout.split())
    assert "signal timing (" in stdout and "emergency dispatch (" in stdout
    assert "did not succeed" not in stdout and "job failed" not in stdout
    assert report.count("| figure | hybrid | milp (classical baseline) |") == 2
    assert stdout.count("no quantum speed-up is claimed") == 2
    section = report[report.index("## Optimisation jobs"):report.index("## Pictures")]
    assert "### signal timing" in section and "### emergency dispatch" in section
    assert "classical baseline" in section and "twin.store_and_forward" in section
    assert "twin.flooded_network" in section and "](jobs.png)" in section
    assert "advantage" not in report.lower()
    assert (out / "jobs.png").stat().st_size > 10_000


def test_demo_refuses_to_wipe_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    proc = _qcity("demo", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
