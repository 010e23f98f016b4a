"""Mount a typer app under the top-level click group so that exit statuses survive.

typer 0.29 vendors its own copy of click: its usage errors and `typer.Exit` are not click's,
so a typer app nested directly in `clients.cli`'s click group lets them escape as
tracebacks (exit status 1 for bad input instead of 2). Running the typer app standalone
inside a thin click command lets typer handle its own errors and exit with its own status.
"""

from __future__ import annotations

import click
import typer


def standalone(app: typer.Typer, name: str, help_text: str) -> click.Command:
    """A click command `qcity NAME ...` that hands all its arguments to `app`."""

    @click.command(
        name=name,
        help=help_text,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        typer.main.get_command(app).main(args=list(args), prog_name=f"qcity {name}")

    return command
