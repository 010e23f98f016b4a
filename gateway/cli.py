"""`qcity serve`: run the gateway on this machine (embedded chain and SQLite by default).

Options override `QCITY_*` environment variables, which override the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from gateway.settings import GatewaySettings


def settings_from_cli(**options: Any) -> GatewaySettings:
    """Settings from the environment, with the options given on the command line on top."""
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return GatewaySettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise typer.BadParameter(f"{where}: {first.get('msg')}") from None


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Gateway key, embedded chain journal, deployment record and SQLite live here.")
    ] = None,
    chain_url: Annotated[str | None, typer.Option(
        "--chain-url", help="An external EVM JSON-RPC node instead of the embedded chain.")] = None,
    db_url: Annotated[str | None, typer.Option(
        "--db-url", help="A SQLAlchemy URL (e.g. postgresql+psycopg://...) instead of SQLite.")
    ] = None,
    funder_key_file: Annotated[Path | None, typer.Option(
        "--funder-key-file", help="With --chain-url: a 0600 file with the hex key of a funded "
        "account that pays the gateway's recorder, admin and relayer accounts.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the gateway (embedded chain, SQLite) on this machine."""
    import uvicorn

    from contracts import ChainError
    from gateway.app import create_app
    from gateway.keys import KeyFileError
    from gateway.logs import configure_logging
    from gateway.runtime import freeze_heap

    settings = settings_from_cli(host=host, port=port, data_dir=data_dir, chain_url=chain_url,
                                 db_url=db_url, funder_key_file=funder_key_file)
    configure_logging(log_level)
    try:
        app = create_app(settings)
    except (ChainError, KeyFileError, OSError) as exc:
        typer.echo(f"qcity serve: cannot start: {exc}", err=True)
        raise typer.Exit(1) from None
    freeze_heap()
    typer.echo(f"qcity gateway on http://{settings.host}:{settings.port} "
               f"(data in {settings.data_dir}, chain {settings.chain_url or 'embedded'})", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level,
                access_log=False)
