"""The `qcity` command line.

Sub-commands live with the package they drive (twin_core.cli, quantum.cli, gateway.cli, ...)
and are imported only when invoked, so `qcity --help` stays fast and a broken optional part
never stops the others. Bad input exits with status 2 and a one-line message (click's
UsageError convention), never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer

from clients._cli_compat import standalone

# name -> (module, attribute, one-line help). The attribute is a typer app, a click command,
# or a plain function that typer can wrap.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("gateway.cli", "serve", "Run the gateway (embedded chain, SQLite) on this machine."),
    "twin": ("clients.twin_cli", "command", "Build, query and draw the city twin."),
    "solve": ("quantum.cli", "solve", "Solve an LP file: hybrid QAOA against baselines."),
    "demo": ("clients.demo", "demo", "Run the whole story end to end on the embedded defaults."),
    "audit": ("clients.audit_cli", "command", "Verify decisions, ask could-read, write reports."),
    "keys": ("clients.sdk_cli", "keys_command", "Make key files (Ethereum, ML-DSA-65, X-Wing)."),
    "stakeholder": ("clients.sdk_cli", "stakeholder_command", "Register stakeholders on chain."),
    "wallet": ("clients.sdk_cli", "wallet_command", "A citizen's consents and access history."),
    "job": ("clients.job_cli", "command", "Launch optimisation jobs and follow them (gateway)."),
}


def _as_click(obj: object, name: str, help_text: str) -> click.Command:
    """Turn a typer app, click command or function into a click command.

    Typer apps run standalone inside a thin click command (see `clients._cli_compat`):
    typer vendors its own click, whose usage errors would otherwise escape as tracebacks.
    """
    if isinstance(obj, click.Command):
        return obj
    if not isinstance(obj, typer.Typer):
        sub = typer.Typer(add_completion=False)
        sub.command(name=name, help=help_text)(obj)  # type: ignore[arg-type]
        obj = sub
    return standalone(obj, name, help_text)


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = LAZY_COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attribute, _help = spec
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise click.UsageError(f"'{cmd_name}' is not available in this build") from exc
            raise
        return _as_click(getattr(module, attribute), cmd_name, _help)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List lazy commands with their one-line help without importing them."""
        rows = [(name, spec[2]) for name, spec in sorted(LAZY_COMMANDS.items())]
        rows += [(n, c.get_short_help_str()) for n, c in sorted(self.commands.items())]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qcity", prog_name="qcity")
def cli() -> None:
    """qcity: permissioned, post-quantum, audited access to a city's digital twin."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="qcity")
