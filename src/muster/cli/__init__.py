"""The `muster` command line: parses input, calls one library function, renders.

Errors from muster are translated here, once, into a one-line message and a
non-zero exit code; a traceback appears only with --debug.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

# Each module registers its commands on `app` when imported.
from muster.cli import (  # noqa: F401
    app_state,
    callup_cmd,
    casework_cmd,
    eligibility_cmd,
    ingest_cmd,
    notices_cmd,
    resolve_cmd,
    service_cmd,
    synth_cmd,
    users_cmd,
    workspace_cmd,
)
from muster.cli.app_state import app
from muster.errors import MusterError

__all__ = ["app", "main"]


INTERRUPTED = 130


def _interrupted() -> None:
    app_state.err_console.print("Interrupted; nothing half-done was kept.")
    sys.exit(INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exits 0 on success, 2 on a muster error, 1 on anything unexpected."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="muster")
    except MusterError as exc:
        if app_state.state.debug:
            raise
        # Messages quote settings such as [resolution]: text, not Rich markup.
        app_state.err_console.print(f"[bold red]Error:[/] {escape(exc.message)}",
                                    highlight=False)
        if exc.hint:
            app_state.err_console.print(f"[yellow]Hint:[/] {escape(exc.hint)}",
                                        highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted()
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _interrupted()
    except Exception as exc:
        # Usage errors (Typer's vendored click exceptions) know how to show themselves.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if app_state.state.debug:
            raise
        app_state.err_console.print(
            f"[bold red]Unexpected error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
            "Run again with --debug for the full traceback, and report it if it persists.",
            highlight=False,
        )
        sys.exit(1)
    if result == INTERRUPTED:  # Typer turns Ctrl-C into this exit code
        _interrupted()
    if isinstance(result, int) and result:
        sys.exit(result)
