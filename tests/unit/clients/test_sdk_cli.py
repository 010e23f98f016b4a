"""`qcity keys` and `qcity wallet` from the terminal: files, exit statuses, chain reads."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from clients.cli import cli
from clients.sdk import KeyFile


def test_keys_new_writes_a_private_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "me.keys.json"
    first = CliRunner().invoke(cli, ["keys", "new", str(path), "--name", "me"])
    assert first.exit_code == 0, first.output
    keys = KeyFile.load(path)
    assert keys.address in first.output and os.stat(path).st_mode & 0o777 == 0o600
    again = CliRunner().invoke(cli, ["keys", "new", str(path)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    assert KeyFile.load(path).address == keys.address


def test_wallet_grant_then_consents_lists_it(
    audit_story: Any, rpc_url: str, deployment_file: Path, tmp_path: Path
) -> None:
    chain = audit_story.chain
    snapshot = chain.snapshot()
    try:
        keys = KeyFile(secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(32))
        keys.save(tmp_path / "c.json")
        chain.fund(keys.address)
        common = [
            "--keys",
            str(tmp_path / "c.json"),
            "--rpc",
            rpc_url,
            "--deployment",
            str(deployment_file),
        ]
        grant = CliRunner().invoke(
            cli,
            [
                "wallet",
                "grant",
                *common,
                "--grantee",
                audit_story.company.address,
                "--category",
                "energy.household_meter",
                "--purpose",
                "dpv:ServiceProvision",
                "--days",
                "7",
            ],
        )
        assert grant.exit_code == 0, grant.output
        listed = CliRunner().invoke(cli, ["wallet", "consents", *common])
        assert listed.exit_code == 0, listed.output
        assert audit_story.company.address in listed.output
        assert "energy.household_meter  dpv:ServiceProvision" in listed.output
        bad = CliRunner().invoke(
            cli,
            [
                "wallet",
                "grant",
                *common,
                "--grantee",
                "nobody",
                "--category",
                "x.y",
                "--purpose",
                "dpv:X",
            ],
        )
        assert bad.exit_code == 2 and "not an address" in bad.output
    finally:
        chain.revert(snapshot)
