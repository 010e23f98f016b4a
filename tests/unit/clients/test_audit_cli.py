"""`qcity audit ...` end to end over JSON-RPC: exit statuses, named findings, reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from clients.cli import cli


def qcity(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_verify_passes_on_the_honest_trail(
    audit_story: Any, rpc_url: str, deployment_file: Path, tmp_path: Path
) -> None:
    decisions = _write(tmp_path / "d.jsonl", audit_story.exported[:3])
    result = qcity("audit", "verify", "--rpc", rpc_url, "--deployment", str(deployment_file),
                   "--decisions", str(decisions))
    assert result.exit_code == 0, result.output
    assert "audit PASSED" in result.output


def test_tampered_stored_decision_makes_verify_exit_1_naming_it(
    audit_story: Any, rpc_url: str, deployment_file: Path, tmp_path: Path
) -> None:
    rows = copy.deepcopy(audit_story.exported[:3])
    rows[2]["allowed"] = True  # the stored refusal #3 is edited into an allow
    decisions = _write(tmp_path / "d.jsonl", rows)
    result = qcity("audit", "verify", "--rpc", rpc_url, "--deployment",
                   str(deployment_file.parent), "--decisions", str(decisions))
    assert result.exit_code == 1, result.output
    assert "FAIL #3 not_anchored" in result.output
    assert "FAIL #3 consent_invalid" in result.output
    assert "FAIL #1" not in result.output and "FAIL #2" not in result.output


def test_verify_json_reports_the_wrongly_allowed_read(
    audit_story: Any, rpc_url: str, deployment_file: Path, tmp_path: Path
) -> None:
    decisions = tmp_path / "d.json"
    decisions.write_text(json.dumps({"decisions": audit_story.exported}))
    result = qcity("audit", "verify", "--rpc", rpc_url, "--deployment", str(deployment_file),
                   "--decisions", str(decisions), "--json")
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert [(f["code"], f["decision_id"]) for f in body["findings"]] == [
        ("consent_invalid", "#4")]
    assert body["batches"] == 2 and body["anchored_entries"] == 4


def test_bad_input_exits_2(rpc_url: str, deployment_file: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "d.json"
    garbage.write_text("{nope")
    bad_file = qcity("audit", "verify", "--rpc", rpc_url, "--deployment", str(deployment_file),
                     "--decisions", str(garbage))
    assert bad_file.exit_code == 2 and "neither JSON" in bad_file.output
    missing = qcity("audit", "verify", "--rpc", rpc_url)
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    bad_url = qcity("audit", "verify", "--rpc", "localhost:1", "--deployment",
                    str(deployment_file), "--decisions", str(garbage))
    assert bad_url.exit_code == 2
    no_record = qcity("audit", "could-read", "--rpc", rpc_url, "--deployment",
                      str(tmp_path / "none.json"), "--grantee", "0x" + "11" * 20,
                      "--category", "traffic.flow", "--purpose", "dpv:PublicBenefit")
    assert no_record.exit_code == 2 and "no deployment record" in no_record.output


def test_could_read_names_the_consent_then_refuses_after_revocation(
    audit_story: Any, rpc_url: str, deployment_file: Path
) -> None:
    common = ["audit", "could-read", "--rpc", rpc_url, "--deployment", str(deployment_file),
              "--grantee", audit_story.company.address, "--subject",
              audit_story.citizen.address, "--category", "energy.household_meter",
              "--purpose", "dpv:ServiceProvision"]
    during = qcity(*common, "--block", str(audit_story.blocks["granted"]))
    assert during.exit_code == 0, during.output
    assert during.output.startswith("YES")
    assert f"under consent granted at block {audit_story.blocks['granted']}" in during.output
    after = qcity(*common, "--time", str(audit_story.times["revoked"]))
    assert after.output.startswith("NO") and "revoked at block" in after.output
    both = qcity(*common, "--block", "1", "--time", "1")
    assert both.exit_code == 2


def test_report_writes_markdown_and_html_with_a_timeline(
    audit_story: Any, rpc_url: str, deployment_file: Path, tmp_path: Path
) -> None:
    decisions = _write(tmp_path / "d.jsonl", audit_story.exported[:3])
    md = qcity("audit", "report", "--rpc", rpc_url, "--deployment", str(deployment_file),
               "--decisions", str(decisions), "--out", str(tmp_path / "audit.md"))
    assert md.exit_code == 0, md.output
    text = (tmp_path / "audit.md").read_text()
    assert "![timeline](audit-timeline.png)" in text and "PASSED" in text
    assert audit_story.citizen.address in text and "| revoke |" in text
    assert (tmp_path / "audit-timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = qcity("audit", "report", "--rpc", rpc_url, "--deployment", str(deployment_file),
                 "--out", str(tmp_path / "audit.html"))
    assert html.exit_code == 0, html.output
    page = (tmp_path / "audit.html").read_text()
    assert "data:image/png;base64," in page and "Anchored batches" in page
