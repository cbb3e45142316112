"""The `muster` command line: parses input, calls one library function, renders.

Errors from muster are translated here, once, into a one-line message and a
non-zero exit code; a traceback appears only with --debug.
"""

from __future__ import annotations

import sys

import typer

from muster.cli import app_state
from muster.cli.app_state import app
from muster.errors import MusterError

# Each module registers its commands on `app` when imported.
from muster.cli import synth_cmd  # noqa: E402,F401

__all__ = ["app", "main"]


def main() -> None:
    try:
        app(standalone_mode=False)
    except MusterError as exc:
        if app_state.state.debug:
            raise
        app_state.err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        if exc.hint:
            app_state.err_console.print(f"[yellow]Hint:[/] {exc.hint}", highlight=False)
        sys.exit(2)
    except typer.Abort:
        app_state.err_console.print("Aborted.")
        sys.exit(130)
    except KeyboardInterrupt:
        app_state.err_console.print("Interrupted; nothing half-done was kept.")
        sys.exit(130)
    except SystemExit:
        raise
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if app_state.state.debug:
            raise
        app_state.err_console.print(
            f"[bold red]Unexpected error:[/] {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the full traceback, and report it if it persists.",
            highlight=False,
        )
        sys.exit(1)
