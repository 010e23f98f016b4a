"""scripts/gas_report.py keeps the other sections of docs/benchmarks.md intact."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "gas_report.py"


def _script():
    spec = importlib.util.spec_from_file_location("qcity_gas_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["qcity_gas_report"] = module
    spec.loader.exec_module(module)
    return module


def test_gas_section_is_replaced_and_other_sections_kept(tmp_path: Path) -> None:
    report = _script()
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Solvers\n\nqaoa 1s\n\n## Gas\n\nold\n\n## Ingest\n\nfast\n")
    gas = {"grant_consent": 48_000, "revoke_consent": 26_000, "anchor_batch": 61_000}
    report.update_docs(report.markdown(gas), doc)
    text = doc.read_text()
    assert "old" not in text and "| grant_consent | 48,000 | <= 60,000 |" in text
    assert text.index("## Solvers") < text.index("## Gas") < text.index("## Ingest")
    assert "qaoa 1s" in text and "fast" in text
    fresh = tmp_path / "new.md"
    report.update_docs(report.markdown(gas), fresh)
    assert fresh.read_text().startswith("# Benchmarks\n\n## Gas\n")


def test_missed_targets_are_reported() -> None:
    report = _script()
    ok = dict.fromkeys(report.TARGETS, 1)
    assert report.misses(ok) == []
    assert report.misses({**ok, "revoke_consent": 30_001}) == ["revoke_consent: 30001 > 30000"]
