"""One handler maps every coded exception to JSON; settings come from env and arguments."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from contracts.errors import AccountMissingRole, ChainUnavailable
from gateway.errors import ConsentMissing, GatewayError, RoleRevoked
from gateway.handlers import error_body, install_error_handlers
from gateway.settings import GatewaySettings
from twin_core.errors import EntityNotFound


class Body(BaseModel):
    n: int


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, (GatewayError,))

    @app.get("/raise/{kind}")
    async def raiser(kind: str) -> None:
        errors = {
            "consent": ConsentMissing(block=7, decision=3, category="energy.household_meter"),
            "chain": ChainUnavailable("node down"),
            "revert": AccountMissingRole({"account": "0x" + "11" * 20, "role": b"\x01" * 32}),
            "twin": EntityNotFound(entity="urn:x"),
            "bug": RuntimeError("secret detail"),
        }
        raise errors[kind]

    @app.post("/body")
    async def body(b: Body) -> dict[str, int]:
        return {"n": b.n}

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("consent", 403, "consent_missing"),
    ("chain", 503, "chain_unavailable"),
    ("revert", 403, "account_missing_role"),
    ("twin", 404, "entity_not_found"),
])
def test_coded_exceptions_from_every_package_map_to_json(client, kind, status, code) -> None:
    response = client.get(f"/raise/{kind}")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["message"]


def test_facts_travel_in_the_body_as_json(client) -> None:
    body = client.get("/raise/consent").json()
    assert (body["block"], body["decision"]) == (7, 3)
    revert = client.get("/raise/revert").json()
    assert revert["role"] == "0x" + "01" * 32


def test_unexpected_errors_are_500_without_details(client) -> None:
    response = client.get("/raise/bug")
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error",
                               "message": "Internal error; it has been logged."}


def test_validation_and_routing_errors_have_codes(client) -> None:
    invalid = client.post("/body", json={"n": "x"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "validation_error"
    assert "input" not in invalid.json()["errors"][0]  # no echo of what was sent
    assert client.post("/body", content=b"{").json()["code"] == "validation_error"
    assert client.get("/nowhere").json()["code"] == "not_found"
    assert client.put("/body").json()["code"] == "method_not_allowed"


def test_401_carries_www_authenticate(client) -> None:
    app = make_app()

    @app.get("/revoked")
    async def revoked() -> None:
        raise RoleRevoked(roles=["AGENCY"])

    response = TestClient(app).get("/revoked")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_error_body_ignores_attributes_that_are_not_a_code() -> None:
    class Odd(Exception):
        code = 5
        http_status = "x"

    assert error_body(Odd())[0] == 500


def test_settings_read_qcity_env_and_cap_token_lifetime(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("QCITY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QCITY_ANCHOR_EVERY_N", "7")
    settings = GatewaySettings()
    assert settings.data_dir == tmp_path and settings.anchor_every_n == 7
    assert settings.database_url == f"sqlite:///{tmp_path}/qcity.sqlite3"
    assert settings.key_path.parent == tmp_path
    with pytest.raises(ValidationError):
        GatewaySettings(token_ttl_s=901)
    with pytest.raises(ValidationError):
        GatewaySettings(chain_url="ftp://node")


def test_cli_options_override_environment(monkeypatch, tmp_path) -> None:
    import typer

    from gateway.cli import settings_from_cli

    monkeypatch.setenv("QCITY_PORT", "9000")
    monkeypatch.setenv("QCITY_DATA_DIR", str(tmp_path))
    assert settings_from_cli(port=None, chain_url=None).port == 9000
    assert settings_from_cli(port=9100, db_url="postgresql://x/y").port == 9100
    with pytest.raises(typer.BadParameter, match="chain_url"):
        settings_from_cli(chain_url="nonsense")
